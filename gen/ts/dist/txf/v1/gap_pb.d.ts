import type { GenFile, GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file txf/v1/gap.proto.
 */
export declare const file_txf_v1_gap: GenFile;
/**
 * One hole of one stream. The first record of the stream after the hole
 * carries RECORD_FLAG_GAP_BEFORE and gap_start_ns = start_ns in band.
 *
 * @generated from message txf.v1.Gap
 */
export type Gap = Message<"txf.v1.Gap"> & {
    /**
     * Message type of the stream, e.g. "txf.v1.BidAsk".
     *
     * @generated from field: string message_type = 1;
     */
    messageType: string;
    /**
     * Contract code of the stream, e.g. "TXFK6".
     *
     * @generated from field: string code = 2;
     */
    code: string;
    /**
     * Exchange time, UTC epoch nanoseconds, of the last quote captured before the hole.
     *
     * @generated from field: int64 start_ns = 3;
     */
    startNs: bigint;
    /**
     * Exchange time, UTC epoch nanoseconds, of the first quote captured after it
     * (or the session close when nothing came back before it).
     *
     * @generated from field: int64 end_ns = 4;
     */
    endNs: bigint;
    /**
     * Legs that delivered nothing during the hole (all of them, by definition).
     *
     * @generated from field: repeated string legs_down = 5;
     */
    legsDown: string[];
    /**
     * What is known of the cause (a leg restarted, a leg's session ended), or empty.
     *
     * @generated from field: string cause = 6;
     */
    cause: string;
    /**
     * True when the broker can backfill the stretch: Tick through Shioaji's
     * api.ticks (within its quota); BidAsk never (the book has no history).
     *
     * @generated from field: bool backfillable = 7;
     */
    backfillable: boolean;
    /**
     * Canonical sequence of the flagged record after the hole (0: none yet).
     *
     * @generated from field: uint64 first_sequence_after = 8;
     */
    firstSequenceAfter: bigint;
    /**
     * Random id of the arbiter run that recorded the hole.
     *
     * @generated from field: fixed64 arbiter_run_id = 9;
     */
    arbiterRunId: bigint;
    /**
     * When the arbiter recorded the hole, UTC epoch nanoseconds (its clock).
     *
     * @generated from field: int64 detected_ns = 10;
     */
    detectedNs: bigint;
};
/**
 * Describes the message txf.v1.Gap.
 * Use `create(GapSchema)` to create a new message.
 */
export declare const GapSchema: GenMessage<Gap>;
