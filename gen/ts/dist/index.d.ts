export * from "./txf/v1/bar_pb.js";
export * from "./txf/v1/bidask_pb.js";
export * from "./txf/v1/common_pb.js";
export * from "./txf/v1/gap_pb.js";
export * from "./txf/v1/tick_pb.js";
