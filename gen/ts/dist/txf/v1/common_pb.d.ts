import type { GenEnum, GenFile } from "@bufbuild/protobuf/codegenv2";
/**
 * Describes the file txf/v1/common.proto.
 */
export declare const file_txf_v1_common: GenFile;
/**
 * Who started a trade, as Shioaji's `tick_type` (numbers equal Shioaji's).
 *
 * @generated from enum txf.v1.TickType
 */
export declare enum TickType {
    /**
     * Shioaji 0: the exchange could not tell the aggressor side.
     *
     * @generated from enum value: TICK_TYPE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Shioaji 1: buyer-initiated, traded at the ask (外盤).
     *
     * @generated from enum value: TICK_TYPE_BUY = 1;
     */
    BUY = 1,
    /**
     * Shioaji 2: seller-initiated, traded at the bid (內盤).
     *
     * @generated from enum value: TICK_TYPE_SELL = 2;
     */
    SELL = 2
}
/**
 * Describes the enum txf.v1.TickType.
 */
export declare const TickTypeSchema: GenEnum<TickType>;
/**
 * Price change against the previous settlement, as Shioaji's `chg_type`
 * (numbers equal Shioaji's; Shioaji never sends 0).
 *
 * @generated from enum txf.v1.ChgType
 */
export declare enum ChgType {
    /**
     * Not set by the source.
     *
     * @generated from enum value: CHG_TYPE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Shioaji 1: at the limit-up price.
     *
     * @generated from enum value: CHG_TYPE_LIMIT_UP = 1;
     */
    LIMIT_UP = 1,
    /**
     * Shioaji 2: above the reference price.
     *
     * @generated from enum value: CHG_TYPE_UP = 2;
     */
    UP = 2,
    /**
     * Shioaji 3: equal to the reference price.
     *
     * @generated from enum value: CHG_TYPE_UNCHANGED = 3;
     */
    UNCHANGED = 3,
    /**
     * Shioaji 4: below the reference price.
     *
     * @generated from enum value: CHG_TYPE_DOWN = 4;
     */
    DOWN = 4,
    /**
     * Shioaji 5: at the limit-down price.
     *
     * @generated from enum value: CHG_TYPE_LIMIT_DOWN = 5;
     */
    LIMIT_DOWN = 5
}
/**
 * Describes the enum txf.v1.ChgType.
 */
export declare const ChgTypeSchema: GenEnum<ChgType>;
/**
 * Bits of a record's `flags` (a bitmask: the values are bit values, not ordinals).
 *
 * @generated from enum txf.v1.RecordFlag
 */
export declare enum RecordFlag {
    /**
     * No flag.
     *
     * @generated from enum value: RECORD_FLAG_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * A capture hole precedes this record: no leg delivered any quote between
     * gap_start_ns and this record (see txf.v1.Gap on the ledger topic).
     *
     * @generated from enum value: RECORD_FLAG_GAP_BEFORE = 1;
     */
    GAP_BEFORE = 1,
    /**
     * Only a slower leg delivered this quote, after a later one of its stream:
     * it follows a record with a later exchange time.
     *
     * @generated from enum value: RECORD_FLAG_LATE = 2;
     */
    LATE = 2
}
/**
 * Describes the enum txf.v1.RecordFlag.
 */
export declare const RecordFlagSchema: GenEnum<RecordFlag>;
