import type { GenFile, GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file txf/v1/bidask.proto.
 */
export declare const file_txf_v1_bidask: GenFile;
/**
 * Best five bid and ask levels of a TXF contract. Level lists are ordered
 * best first and hold exactly 5 entries; fields 1-10 keep the original
 * service's names and meanings.
 *
 * @generated from message txf.v1.BidAsk
 */
export type BidAsk = Message<"txf.v1.BidAsk"> & {
    /**
     * Contract code as Shioaji sends it, e.g. "TXFK6" (real month code).
     *
     * @generated from field: string code = 1;
     */
    code: string;
    /**
     * Exchange time, UTC epoch milliseconds (truncated from exchange_time_us).
     *
     * @generated from field: int64 timestamp_ms = 2;
     */
    timestampMs: bigint;
    /**
     * Total resting bid volume over the five levels, contracts.
     *
     * @generated from field: int64 bid_total_vol = 3;
     */
    bidTotalVol: bigint;
    /**
     * Total resting ask volume over the five levels, contracts.
     *
     * @generated from field: int64 ask_total_vol = 4;
     */
    askTotalVol: bigint;
    /**
     * Bid prices, best first, points x10000 (0 when a level is empty).
     *
     * @generated from field: repeated int64 bid_price = 5;
     */
    bidPrice: bigint[];
    /**
     * Bid volumes per level, contracts.
     *
     * @generated from field: repeated int64 bid_volume = 6;
     */
    bidVolume: bigint[];
    /**
     * Change of each bid level's volume since the previous snapshot, contracts.
     *
     * @generated from field: repeated sint64 diff_bid_vol = 7;
     */
    diffBidVol: bigint[];
    /**
     * Ask prices, best first, points x10000 (0 when a level is empty).
     *
     * @generated from field: repeated int64 ask_price = 8;
     */
    askPrice: bigint[];
    /**
     * Ask volumes per level, contracts.
     *
     * @generated from field: repeated int64 ask_volume = 9;
     */
    askVolume: bigint[];
    /**
     * Change of each ask level's volume since the previous snapshot, contracts.
     *
     * @generated from field: repeated sint64 diff_ask_vol = 10;
     */
    diffAskVol: bigint[];
    /**
     * Exchange time, UTC epoch microseconds (Shioaji's full precision).
     *
     * @generated from field: int64 exchange_time_us = 11;
     */
    exchangeTimeUs: bigint;
    /**
     * Time the producer received the quote, UTC epoch nanoseconds (local clock).
     *
     * @generated from field: int64 receive_time_ns = 12;
     */
    receiveTimeNs: bigint;
    /**
     * Position in this stream, 1-based, +1 per published message (see common.proto).
     *
     * @generated from field: uint64 sequence = 13;
     */
    sequence: bigint;
    /**
     * Random id of the producer run that assigned `sequence`; a new run restarts it.
     *
     * @generated from field: fixed64 producer_run_id = 14;
     */
    producerRunId: bigint;
    /**
     * Underlying TAIEX index level, points x10000.
     *
     * @generated from field: int64 underlying_price = 15;
     */
    underlyingPrice: bigint;
    /**
     * First derived (implied from spreads) bid price, points x10000.
     *
     * @generated from field: int64 first_derived_bid_price = 16;
     */
    firstDerivedBidPrice: bigint;
    /**
     * First derived (implied from spreads) ask price, points x10000.
     *
     * @generated from field: int64 first_derived_ask_price = 17;
     */
    firstDerivedAskPrice: bigint;
    /**
     * First derived bid volume, contracts.
     *
     * @generated from field: int64 first_derived_bid_vol = 18;
     */
    firstDerivedBidVol: bigint;
    /**
     * First derived ask volume, contracts.
     *
     * @generated from field: int64 first_derived_ask_vol = 19;
     */
    firstDerivedAskVol: bigint;
    /**
     * True for a trial-match book in the pre-open auction.
     *
     * @generated from field: bool simtrade = 20;
     */
    simtrade: boolean;
    /**
     * RecordFlag bits set by the arbiter (0 from a single producer).
     *
     * @generated from field: uint32 flags = 21;
     */
    flags: number;
    /**
     * With RECORD_FLAG_GAP_BEFORE: exchange time, UTC epoch nanoseconds, of the
     * last quote captured before the hole.
     *
     * @generated from field: int64 gap_start_ns = 22;
     */
    gapStartNs: bigint;
};
/**
 * Describes the message txf.v1.BidAsk.
 * Use `create(BidAskSchema)` to create a new message.
 */
export declare const BidAskSchema: GenMessage<BidAsk>;
