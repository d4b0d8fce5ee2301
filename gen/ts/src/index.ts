// Public entry point of @txfstream/txf-contracts: the txf.v1 message schemas and types generated
// by protoc-gen-es (written by `make gen` from the files in src/txf/v1/; do not edit).
export * from "./txf/v1/bar_pb.js";
export * from "./txf/v1/bidask_pb.js";
export * from "./txf/v1/common_pb.js";
export * from "./txf/v1/gap_pb.js";
export * from "./txf/v1/tick_pb.js";
