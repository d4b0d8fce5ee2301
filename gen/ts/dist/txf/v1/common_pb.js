// Shared conventions and enums of the txf.v1 contract.
//
// Conventions every txf.v1 message follows:
// - Prices and price-like values (amounts, changes, percentages) are int64
//   scaled x10000: 23456.5 index points is 234565000. Values are exact; the
//   producer never rounds, it rejects a quote with more than 4 decimals.
// - Volumes are integers in contracts (lots).
// - Times are UTC epoch integers with the unit in the field name.
// - sequence + producer_run_id identify each message of a stream exactly: a
//   stream is one (message type, contract code) of one producer run; sequence
//   starts at 1 and grows by exactly 1 per published message, so a gap is a
//   loss and a repeat is a duplicate.
// - flags (RecordFlag bits) and gap_start_ns are set by the arbiter on the
//   canonical topics when capture was redundant (several producer legs); a
//   single producer leaves them 0. RECORD_FLAG_GAP_BEFORE on a record means no
//   leg captured anything from gap_start_ns until this record: quotes of that
//   stretch are lost for good (see txf.v1.Gap on the ledger topic).
import { enumDesc, fileDesc } from "@bufbuild/protobuf/codegenv2";
/**
 * Describes the file txf/v1/common.proto.
 */
export const file_txf_v1_common = /*@__PURE__*/ fileDesc("ChN0eGYvdjEvY29tbW9uLnByb3RvEgZ0eGYudjEqTAoIVGlja1R5cGUSGQoVVElDS19UWVBFX1VOU1BFQ0lGSUVEEAASEQoNVElDS19UWVBFX0JVWRABEhIKDlRJQ0tfVFlQRV9TRUxMEAIqjwEKB0NoZ1R5cGUSGAoUQ0hHX1RZUEVfVU5TUEVDSUZJRUQQABIVChFDSEdfVFlQRV9MSU1JVF9VUBABEg8KC0NIR19UWVBFX1VQEAISFgoSQ0hHX1RZUEVfVU5DSEFOR0VEEAMSEQoNQ0hHX1RZUEVfRE9XThAEEhcKE0NIR19UWVBFX0xJTUlUX0RPV04QBSpbCgpSZWNvcmRGbGFnEhsKF1JFQ09SRF9GTEFHX1VOU1BFQ0lGSUVEEAASGgoWUkVDT1JEX0ZMQUdfR0FQX0JFRk9SRRABEhQKEFJFQ09SRF9GTEFHX0xBVEUQAkJfChppby5naXRodWIudHhmc3RyZWFtLnR4Zi52MUILQ29tbW9uUHJvdG9QAVoyZ2l0aHViLmNvbS90eGZzdHJlYW0vdHhmc3RyZWFtL2dlbi9nby90eGYvdjE7dHhmdjFiBnByb3RvMw");
/**
 * Who started a trade, as Shioaji's `tick_type` (numbers equal Shioaji's).
 *
 * @generated from enum txf.v1.TickType
 */
export var TickType;
(function (TickType) {
    /**
     * Shioaji 0: the exchange could not tell the aggressor side.
     *
     * @generated from enum value: TICK_TYPE_UNSPECIFIED = 0;
     */
    TickType[TickType["UNSPECIFIED"] = 0] = "UNSPECIFIED";
    /**
     * Shioaji 1: buyer-initiated, traded at the ask (外盤).
     *
     * @generated from enum value: TICK_TYPE_BUY = 1;
     */
    TickType[TickType["BUY"] = 1] = "BUY";
    /**
     * Shioaji 2: seller-initiated, traded at the bid (內盤).
     *
     * @generated from enum value: TICK_TYPE_SELL = 2;
     */
    TickType[TickType["SELL"] = 2] = "SELL";
})(TickType || (TickType = {}));
/**
 * Describes the enum txf.v1.TickType.
 */
export const TickTypeSchema = /*@__PURE__*/ enumDesc(file_txf_v1_common, 0);
/**
 * Price change against the previous settlement, as Shioaji's `chg_type`
 * (numbers equal Shioaji's; Shioaji never sends 0).
 *
 * @generated from enum txf.v1.ChgType
 */
export var ChgType;
(function (ChgType) {
    /**
     * Not set by the source.
     *
     * @generated from enum value: CHG_TYPE_UNSPECIFIED = 0;
     */
    ChgType[ChgType["UNSPECIFIED"] = 0] = "UNSPECIFIED";
    /**
     * Shioaji 1: at the limit-up price.
     *
     * @generated from enum value: CHG_TYPE_LIMIT_UP = 1;
     */
    ChgType[ChgType["LIMIT_UP"] = 1] = "LIMIT_UP";
    /**
     * Shioaji 2: above the reference price.
     *
     * @generated from enum value: CHG_TYPE_UP = 2;
     */
    ChgType[ChgType["UP"] = 2] = "UP";
    /**
     * Shioaji 3: equal to the reference price.
     *
     * @generated from enum value: CHG_TYPE_UNCHANGED = 3;
     */
    ChgType[ChgType["UNCHANGED"] = 3] = "UNCHANGED";
    /**
     * Shioaji 4: below the reference price.
     *
     * @generated from enum value: CHG_TYPE_DOWN = 4;
     */
    ChgType[ChgType["DOWN"] = 4] = "DOWN";
    /**
     * Shioaji 5: at the limit-down price.
     *
     * @generated from enum value: CHG_TYPE_LIMIT_DOWN = 5;
     */
    ChgType[ChgType["LIMIT_DOWN"] = 5] = "LIMIT_DOWN";
})(ChgType || (ChgType = {}));
/**
 * Describes the enum txf.v1.ChgType.
 */
export const ChgTypeSchema = /*@__PURE__*/ enumDesc(file_txf_v1_common, 1);
/**
 * Bits of a record's `flags` (a bitmask: the values are bit values, not ordinals).
 *
 * @generated from enum txf.v1.RecordFlag
 */
export var RecordFlag;
(function (RecordFlag) {
    /**
     * No flag.
     *
     * @generated from enum value: RECORD_FLAG_UNSPECIFIED = 0;
     */
    RecordFlag[RecordFlag["UNSPECIFIED"] = 0] = "UNSPECIFIED";
    /**
     * A capture hole precedes this record: no leg delivered any quote between
     * gap_start_ns and this record (see txf.v1.Gap on the ledger topic).
     *
     * @generated from enum value: RECORD_FLAG_GAP_BEFORE = 1;
     */
    RecordFlag[RecordFlag["GAP_BEFORE"] = 1] = "GAP_BEFORE";
    /**
     * Only a slower leg delivered this quote, after a later one of its stream:
     * it follows a record with a later exchange time.
     *
     * @generated from enum value: RECORD_FLAG_LATE = 2;
     */
    RecordFlag[RecordFlag["LATE"] = 2] = "LATE";
})(RecordFlag || (RecordFlag = {}));
/**
 * Describes the enum txf.v1.RecordFlag.
 */
export const RecordFlagSchema = /*@__PURE__*/ enumDesc(file_txf_v1_common, 2);
