import type { GenFile, GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { ChgType, TickType } from "./common_pb.js";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file txf/v1/tick.proto.
 */
export declare const file_txf_v1_tick: GenFile;
/**
 * One trade of a TXF contract. Fields 1-7 keep the original service's names
 * and meanings; the rest carry everything else Shioaji delivers.
 *
 * @generated from message txf.v1.Tick
 */
export type Tick = Message<"txf.v1.Tick"> & {
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
     * Trade price, index points x10000.
     *
     * @generated from field: int64 close = 3;
     */
    close: bigint;
    /**
     * Contracts traded in this tick.
     *
     * @generated from field: int64 volume = 4;
     */
    volume: bigint;
    /**
     * Aggressor side of this trade.
     *
     * @generated from field: txf.v1.TickType tick_type = 5;
     */
    tickType: TickType;
    /**
     * Contracts traded in the session so far. Not a gap detector (see sequence).
     *
     * @generated from field: int64 total_volume = 6;
     */
    totalVolume: bigint;
    /**
     * Underlying TAIEX index level, points x10000.
     *
     * @generated from field: int64 underlying_price = 7;
     */
    underlyingPrice: bigint;
    /**
     * Exchange time, UTC epoch microseconds (Shioaji's full precision).
     *
     * @generated from field: int64 exchange_time_us = 8;
     */
    exchangeTimeUs: bigint;
    /**
     * Time the producer received the quote, UTC epoch nanoseconds (local clock).
     *
     * @generated from field: int64 receive_time_ns = 9;
     */
    receiveTimeNs: bigint;
    /**
     * Position in this stream, 1-based, +1 per published message (see common.proto).
     *
     * @generated from field: uint64 sequence = 10;
     */
    sequence: bigint;
    /**
     * Random id of the producer run that assigned `sequence`; a new run restarts it.
     *
     * @generated from field: fixed64 producer_run_id = 11;
     */
    producerRunId: bigint;
    /**
     * Session open price, points x10000.
     *
     * @generated from field: int64 open = 12;
     */
    open: bigint;
    /**
     * Session high, points x10000.
     *
     * @generated from field: int64 high = 13;
     */
    high: bigint;
    /**
     * Session low, points x10000.
     *
     * @generated from field: int64 low = 14;
     */
    low: bigint;
    /**
     * Session volume-weighted average price, points x10000.
     *
     * @generated from field: int64 avg_price = 15;
     */
    avgPrice: bigint;
    /**
     * Value of this tick (price x volume), points x10000.
     *
     * @generated from field: int64 amount = 16;
     */
    amount: bigint;
    /**
     * Value traded in the session so far, points x10000.
     *
     * @generated from field: int64 total_amount = 17;
     */
    totalAmount: bigint;
    /**
     * Session volume traded at the bid side, contracts.
     *
     * @generated from field: int64 bid_side_total_vol = 18;
     */
    bidSideTotalVol: bigint;
    /**
     * Session volume traded at the ask side, contracts.
     *
     * @generated from field: int64 ask_side_total_vol = 19;
     */
    askSideTotalVol: bigint;
    /**
     * Direction of price_chg against the reference price.
     *
     * @generated from field: txf.v1.ChgType chg_type = 20;
     */
    chgType: ChgType;
    /**
     * Change against the reference price, points x10000 (negative when down).
     *
     * @generated from field: sint64 price_chg = 21;
     */
    priceChg: bigint;
    /**
     * Change against the reference price in percent, x10000 (1.25% is 12500).
     *
     * @generated from field: sint64 pct_chg = 22;
     */
    pctChg: bigint;
    /**
     * True for a trial match in the pre-open auction, not a real trade.
     *
     * @generated from field: bool simtrade = 23;
     */
    simtrade: boolean;
    /**
     * RecordFlag bits set by the arbiter (0 from a single producer).
     *
     * @generated from field: uint32 flags = 24;
     */
    flags: number;
    /**
     * With RECORD_FLAG_GAP_BEFORE: exchange time, UTC epoch nanoseconds, of the
     * last quote captured before the hole.
     *
     * @generated from field: int64 gap_start_ns = 25;
     */
    gapStartNs: bigint;
};
/**
 * Describes the message txf.v1.Tick.
 * Use `create(TickSchema)` to create a new message.
 */
export declare const TickSchema: GenMessage<Tick>;
