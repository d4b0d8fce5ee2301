// A one-minute OHLCV bar of a TXF contract, built from its Ticks by txf-archive's bar builder.
import { fileDesc, messageDesc } from "@bufbuild/protobuf/codegenv2";
/**
 * Describes the file txf/v1/bar.proto.
 */
export const file_txf_v1_bar = /*@__PURE__*/ fileDesc("ChB0eGYvdjEvYmFyLnByb3RvEgZ0eGYudjEipAIKA0JhchIMCgRjb2RlGAEgASgJEhMKC2VuZF90aW1lX21zGAIgASgDEgwKBG9wZW4YAyABKAMSDAoEaGlnaBgEIAEoAxILCgNsb3cYBSABKAMSDQoFY2xvc2UYBiABKAMSDgoGdm9sdW1lGAcgASgDEhIKCnRpY2tfY291bnQYCCABKAMSDQoFdmFsdWUYCSABKAMSDAoEdndhcBgKIAEoAxIeChZmaXJzdF9leGNoYW5nZV90aW1lX3VzGAsgASgDEh0KFWxhc3RfZXhjaGFuZ2VfdGltZV91cxgMIAEoAxIQCghzZXF1ZW5jZRgNIAEoBBIXCg9wcm9kdWNlcl9ydW5faWQYDiABKAYSFwoPcHVibGlzaF90aW1lX25zGA8gASgDQlwKGmlvLmdpdGh1Yi50eGZzdHJlYW0udHhmLnYxQghCYXJQcm90b1ABWjJnaXRodWIuY29tL3R4ZnN0cmVhbS90eGZzdHJlYW0vZ2VuL2dvL3R4Zi92MTt0eGZ2MWIGcHJvdG8z");
/**
 * Describes the message txf.v1.Bar.
 * Use `create(BarSchema)` to create a new message.
 */
export const BarSchema = /*@__PURE__*/ messageDesc(file_txf_v1_bar, 0);
