import type { GenFile, GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file txf/v1/bar.proto.
 */
export declare const file_txf_v1_bar: GenFile;
/**
 * One minute of trades, with the boundaries Shioaji's api.kbars uses: a bar
 * is labelled by its right edge (end_time_ms) and holds the trades with
 * exchange time in [end - 1 min, end); a trade at or after a session's close
 * (the 13:45 day close, the 05:00 night close) belongs to the session's last
 * bar, labelled with the close. Trial matches (Tick.simtrade) are never in a
 * bar. A bar is published once its minute is over; minutes without trades
 * have no bar.
 *
 * @generated from message txf.v1.Bar
 */
export type Bar = Message<"txf.v1.Bar"> & {
    /**
     * Contract code, e.g. "TXFK6" (real month code).
     *
     * @generated from field: string code = 1;
     */
    code: string;
    /**
     * Right edge (label) of the bar, UTC epoch milliseconds.
     *
     * @generated from field: int64 end_time_ms = 2;
     */
    endTimeMs: bigint;
    /**
     * Price of the first trade, points x10000.
     *
     * @generated from field: int64 open = 3;
     */
    open: bigint;
    /**
     * Highest trade price, points x10000.
     *
     * @generated from field: int64 high = 4;
     */
    high: bigint;
    /**
     * Lowest trade price, points x10000.
     *
     * @generated from field: int64 low = 5;
     */
    low: bigint;
    /**
     * Price of the last trade, points x10000.
     *
     * @generated from field: int64 close = 6;
     */
    close: bigint;
    /**
     * Contracts traded (sum of Tick.volume).
     *
     * @generated from field: int64 volume = 7;
     */
    volume: bigint;
    /**
     * Number of trades (Ticks) in the bar.
     *
     * @generated from field: int64 tick_count = 8;
     */
    tickCount: bigint;
    /**
     * Sum of price x volume over the bar's trades, points x10000 (exact).
     *
     * @generated from field: int64 value = 9;
     */
    value: bigint;
    /**
     * Volume-weighted average price, points x10000: value / volume rounded
     * half away from zero to an integer.
     *
     * @generated from field: int64 vwap = 10;
     */
    vwap: bigint;
    /**
     * Exchange time of the bar's first trade, UTC epoch microseconds.
     *
     * @generated from field: int64 first_exchange_time_us = 11;
     */
    firstExchangeTimeUs: bigint;
    /**
     * Exchange time of the bar's last trade, UTC epoch microseconds.
     *
     * @generated from field: int64 last_exchange_time_us = 12;
     */
    lastExchangeTimeUs: bigint;
    /**
     * Position in this stream (bars of one code from one builder run), 1-based.
     *
     * @generated from field: uint64 sequence = 13;
     */
    sequence: bigint;
    /**
     * Random id of the builder run that assigned `sequence`; a new run restarts it.
     *
     * @generated from field: fixed64 producer_run_id = 14;
     */
    producerRunId: bigint;
    /**
     * Time the builder published the bar, UTC epoch nanoseconds (its clock).
     *
     * @generated from field: int64 publish_time_ns = 15;
     */
    publishTimeNs: bigint;
};
/**
 * Describes the message txf.v1.Bar.
 * Use `create(BarSchema)` to create a new message.
 */
export declare const BarSchema: GenMessage<Bar>;
