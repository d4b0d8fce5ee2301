// A capture hole: a stretch of a trading session in which no producer leg
// delivered any quote, recorded by the arbiter on the ledger topic (txf-gaps).
import { fileDesc, messageDesc } from "@bufbuild/protobuf/codegenv2";
/**
 * Describes the file txf/v1/gap.proto.
 */
export const file_txf_v1_gap = /*@__PURE__*/ fileDesc("ChB0eGYvdjEvZ2FwLnByb3RvEgZ0eGYudjEizgEKA0dhcBIUCgxtZXNzYWdlX3R5cGUYASABKAkSDAoEY29kZRgCIAEoCRIQCghzdGFydF9ucxgDIAEoAxIOCgZlbmRfbnMYBCABKAMSEQoJbGVnc19kb3duGAUgAygJEg0KBWNhdXNlGAYgASgJEhQKDGJhY2tmaWxsYWJsZRgHIAEoCBIcChRmaXJzdF9zZXF1ZW5jZV9hZnRlchgIIAEoBBIWCg5hcmJpdGVyX3J1bl9pZBgJIAEoBhITCgtkZXRlY3RlZF9ucxgKIAEoA0JcChppby5naXRodWIudHhmc3RyZWFtLnR4Zi52MUIIR2FwUHJvdG9QAVoyZ2l0aHViLmNvbS90eGZzdHJlYW0vdHhmc3RyZWFtL2dlbi9nby90eGYvdjE7dHhmdjFiBnByb3RvMw");
/**
 * Describes the message txf.v1.Gap.
 * Use `create(GapSchema)` to create a new message.
 */
export const GapSchema = /*@__PURE__*/ messageDesc(file_txf_v1_gap, 0);
