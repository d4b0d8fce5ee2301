// A TXF trade (Shioaji TickFOPv1), one message per exchange tick.
import { fileDesc, messageDesc } from "@bufbuild/protobuf/codegenv2";
import { file_txf_v1_common } from "./common_pb.js";
/**
 * Describes the file txf/v1/tick.proto.
 */
export const file_txf_v1_tick = /*@__PURE__*/ fileDesc("ChF0eGYvdjEvdGljay5wcm90bxIGdHhmLnYxIu8DCgRUaWNrEgwKBGNvZGUYASABKAkSFAoMdGltZXN0YW1wX21zGAIgASgDEg0KBWNsb3NlGAMgASgDEg4KBnZvbHVtZRgEIAEoAxIjCgl0aWNrX3R5cGUYBSABKA4yEC50eGYudjEuVGlja1R5cGUSFAoMdG90YWxfdm9sdW1lGAYgASgDEhgKEHVuZGVybHlpbmdfcHJpY2UYByABKAMSGAoQZXhjaGFuZ2VfdGltZV91cxgIIAEoAxIXCg9yZWNlaXZlX3RpbWVfbnMYCSABKAMSEAoIc2VxdWVuY2UYCiABKAQSFwoPcHJvZHVjZXJfcnVuX2lkGAsgASgGEgwKBG9wZW4YDCABKAMSDAoEaGlnaBgNIAEoAxILCgNsb3cYDiABKAMSEQoJYXZnX3ByaWNlGA8gASgDEg4KBmFtb3VudBgQIAEoAxIUCgx0b3RhbF9hbW91bnQYESABKAMSGgoSYmlkX3NpZGVfdG90YWxfdm9sGBIgASgDEhoKEmFza19zaWRlX3RvdGFsX3ZvbBgTIAEoAxIhCghjaGdfdHlwZRgUIAEoDjIPLnR4Zi52MS5DaGdUeXBlEhEKCXByaWNlX2NoZxgVIAEoEhIPCgdwY3RfY2hnGBYgASgSEhAKCHNpbXRyYWRlGBcgASgIQl0KGmlvLmdpdGh1Yi50eGZzdHJlYW0udHhmLnYxQglUaWNrUHJvdG9QAVoyZ2l0aHViLmNvbS90eGZzdHJlYW0vdHhmc3RyZWFtL2dlbi9nby90eGYvdjE7dHhmdjFiBnByb3RvMw", [file_txf_v1_common]);
/**
 * Describes the message txf.v1.Tick.
 * Use `create(TickSchema)` to create a new message.
 */
export const TickSchema = /*@__PURE__*/ messageDesc(file_txf_v1_tick, 0);
