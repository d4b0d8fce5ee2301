"""The archive's columns: every field of the contract, derived from the descriptors, plus provenance.

A file of type T has, in this order: one column per field of the txf.v1 message T, as ptars maps the
descriptor (int64 -> int64, uint64/fixed64 -> uint64, enums -> int32, repeated -> list, string ->
string; prices stay the contract's exact int64 x10000), then the provenance columns below. A field
added to the contract becomes a column of every file written after the archive's bindings
(txf-contracts) were upgraded; older files lack it and read back as null (readers union by name).
Price columns carry the Arrow field metadata `txf.scale = 10000` (from the record meanings the
service passes in), so readers derive the Decimal and float views without a table of their own.

Decoding is ptars (protobuf wire bytes -> Arrow arrays, in Rust, ~0.6 us a BidAsk) instead of a
Python loop over upb messages (~12 us a BidAsk with its six repeated fields): the archive has to
outrun a backlog. upb stays the judge of what is valid: a batch ptars refuses is split into the
records upb rejects too (malformed, kept raw) and the rest, re-encoded canonically by upb first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
from google.protobuf.message import DecodeError, Message
from ptars import HandlerPool, PtarsConfig

from txf.v1 import Bar, BidAsk, Gap, Tick

SCALE_KEY = b"txf.scale"
PRICE_SCALE = 10_000

#: Provenance of every row: where in Kafka it was, and how the record was framed.
META_FIELDS: tuple[pa.Field, ...] = (
    pa.field("kafka_topic", pa.string(), nullable=False),
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("kafka_timestamp_ms", pa.int64()),  # null when the record had none
    pa.field("kafka_timestamp_type", pa.int8(), nullable=False),  # 0 none, 1 create, 2 log append
    pa.field("kafka_key", pa.binary()),
    pa.field("schema_id", pa.int64(), nullable=False),
    pa.field("trading_day", pa.date32(), nullable=False),
)
META_NAMES = tuple(f.name for f in META_FIELDS)

#: Columns of the malformed records (kept raw, with the reason).
MALFORMED_SCHEMA = pa.schema(
    [
        *(f for f in META_FIELDS if f.name not in ("schema_id", "trading_day")),
        pa.field("value", pa.binary()),
        pa.field("reason", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class ArchivedType:
    """How one txf.v1 message is archived: its directory name, the time that says its trading day."""

    message: type[Message]
    kind: str  # directory name: tick, bidask, gap, bar
    time_field: str  # the field whose time decides the trading day
    ns_per_unit: int  # that field's unit in nanoseconds
    scaled: frozenset[str] = field(default_factory=frozenset)  # x10000 fields

    @property
    def full_name(self) -> str:
        return str(self.message.DESCRIPTOR.full_name)


#: The types the archive knows: which time says a record's trading day (exchange time for quotes,
#: the start of a hole for a Gap, the right edge for a Bar).
TIME_FIELDS: dict[type[Message], tuple[str, str, int]] = {
    Tick: ("tick", "exchange_time_us", 1_000),
    BidAsk: ("bidask", "exchange_time_us", 1_000),
    Gap: ("gap", "start_ns", 1),
    Bar: ("bar", "end_time_ms", 1_000_000),
}
MESSAGES: dict[str, type[Message]] = {m.DESCRIPTOR.full_name: m for m in TIME_FIELDS}
KINDS: dict[str, type[Message]] = {kind: m for m, (kind, _, _) in TIME_FIELDS.items()}


def archived_type(message: type[Message], scaled: Mapping[str, frozenset[str]] | None = None) -> ArchivedType:
    """The ArchivedType of a message class; `scaled` maps full names to their x10000 fields."""
    try:
        kind, time_field, unit = TIME_FIELDS[message]
    except KeyError:
        raise ValueError(f"txf-archive does not know {message.DESCRIPTOR.full_name}: add it to TIME_FIELDS") from None
    return ArchivedType(message, kind, time_field, unit, (scaled or {}).get(message.DESCRIPTOR.full_name, frozenset()))


_POOL = HandlerPool([m.DESCRIPTOR.file for m in TIME_FIELDS])
#: The same, reading framed values: ptars skips the Confluent header (magic, schema id, index [0]) itself.
_FRAMED_POOL = HandlerPool(
    [m.DESCRIPTOR.file for m in TIME_FIELDS], config=PtarsConfig(confluent_wire_policy="protobuf")
)
FRAME_HEADER_BYTES = 6


def contract_schema(t: ArchivedType) -> pa.Schema:
    """The contract's columns of a type (descriptor order), price columns tagged with their scale."""
    schema = _POOL.get_for_message(t.message.DESCRIPTOR).schema()
    fields = [f.with_metadata({SCALE_KEY: str(PRICE_SCALE).encode()}) if f.name in t.scaled else f for f in schema]
    return pa.schema(fields)


def file_schema(t: ArchivedType) -> pa.Schema:
    """Every column of an archive file of type `t`: the contract's, then the provenance."""
    return pa.schema([*contract_schema(t), *META_FIELDS])


def scaled_columns(schema: pa.Schema) -> list[str]:
    """Names of the x10000 columns of a file schema (from the field metadata)."""
    return [f.name for f in schema if f.metadata and f.metadata.get(SCALE_KEY) == str(PRICE_SCALE).encode()]


class Decoder:
    """Framed values (6-byte header `00 <id> 00`, already checked) of one message type -> the contract's columns."""

    def __init__(self, t: ArchivedType) -> None:
        self.type = t
        self._handler = _POOL.get_for_message(t.message.DESCRIPTOR)
        self._framed = _FRAMED_POOL.get_for_message(t.message.DESCRIPTOR)
        self._schema = contract_schema(t)

    def decode(self, framed: pa.BinaryArray) -> tuple[pa.RecordBatch, list[tuple[int, str]]]:
        """(columns of the good rows, [(index, reason)] of the rows that are not a valid message).

        The batch holds the good rows in input order; the caller drops the bad indexes from its
        provenance columns the same way.
        """
        try:
            batch = self._framed.array_to_record_batch(framed)
            bad: list[tuple[int, str]] = []
        except ValueError:
            batch, bad = self._decode_carefully(framed)
        return pa.RecordBatch.from_arrays(batch.columns, schema=self._schema), bad

    def _decode_carefully(self, framed: pa.BinaryArray) -> tuple[pa.RecordBatch, list[tuple[int, str]]]:
        """Row by row with upb: its verdict decides; accepted rows go through ptars re-encoded."""
        from_string = self.type.message.FromString
        good: list[bytes] = []
        bad: list[tuple[int, str]] = []
        for i, value in enumerate(framed.to_pylist()):
            try:
                good.append(from_string((value or b"")[FRAME_HEADER_BYTES:]).SerializeToString(deterministic=True))
            except DecodeError as exc:
                bad.append((i, f"payload is not a valid {self.type.full_name}: {exc}"))
        return self._handler.array_to_record_batch(pa.array(good, pa.binary())), bad

    def encode(self, batch: pa.RecordBatch | pa.Table) -> list[bytes]:
        """The contract's columns back to protobuf bytes (replay); columns missing from old files are zero."""
        columns = []
        n = batch.num_rows
        for f in self._schema:
            if f.name in batch.column_names:
                col = batch.column(f.name)
                col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
                if col.null_count:
                    col = col.fill_null(_zero(f.type)) if not pa.types.is_list(f.type) else col
                columns.append(col.cast(f.type))
            else:
                columns.append(pa.array([_zero(f.type)] * n, f.type))
        rb = pa.RecordBatch.from_arrays(columns, schema=self._schema.remove_metadata())
        rb = pa.RecordBatch.from_arrays(rb.columns, schema=pa.schema([f.remove_metadata() for f in self._schema]))
        return [bytes(v) for v in self._handler.record_batch_to_array(rb).to_pylist()]


def _zero(t: pa.DataType) -> object:
    if pa.types.is_list(t):
        return []
    if pa.types.is_string(t):
        return ""
    if pa.types.is_binary(t):
        return b""
    if pa.types.is_boolean(t):
        return False
    return 0
