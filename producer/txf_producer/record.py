"""The txf.v1 record shapes, defined once: every field's number, key, kind, limits and Shioaji source.

What a field *is* on the wire (number, type, cardinality, enum values) comes from the generated
descriptors; what it *means* to the producer (a price scaled x10000, a volume that cannot be
negative, the exchange time, the `to_dict` key it is read from, whether it changes on every quote)
is the one table of annotations below. `shape_of` joins the two and refuses any disagreement, at
import: a field added to the contract without an annotation, an annotation left for a removed
field, a kind that does not fit the field's type, a source Shioaji does not deliver. The fast
encoder (wire.py), the reference path and the diagnosis (convert.py) are all derived from these
shapes, the way databento's dbn derives every encoder from one annotated record.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from txf.v1 import BidAsk, Tick
from txf_producer.quotes import BIDASK_FIELDS, TICK_FIELDS
from txf_producer.sources.base import MESSAGE_NAME_OF, QuoteType

PRICE_SCALE = 10_000
BOOK_DEPTH = 5
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Kind(enum.Enum):
    """What a field holds, and so how it is read, checked and encoded."""

    CODE = "code"  # the contract code: constant per stream (in the record's prefix)
    EXCHANGE_MS = "exchange_ms"  # Shioaji's naive Taipei datetime as UTC epoch milliseconds
    EXCHANGE_US = "exchange_us"  # ... as UTC epoch microseconds
    RECEIVE_NS = "receive_ns"  # the producer's arrival stamp, UTC epoch ns
    SEQUENCE = "sequence"  # per-stream counter, set by the publisher
    RUN_ID = "run_id"  # constant per producer run
    PRICE = "price"  # a decimal price x10000, exactly (any sign)
    TRADE_PRICE = "trade_price"  # a decimal price x10000 that must be positive
    COUNT = "count"  # an integer (int64)
    VOLUME = "volume"  # an integer that cannot be negative
    ENUM = "enum"  # an enum number the contract's enum knows
    FLAG = "flag"  # a bool (set only when exactly True)
    BOOK_PRICES = "book_prices"  # BOOK_DEPTH decimal prices x10000, packed
    BOOK_VOLUMES = "book_volumes"  # BOOK_DEPTH integers >= 0, packed
    BOOK_CHANGES = "book_changes"  # BOOK_DEPTH signed integers (sint64), packed
    ANNOTATION = "annotation"  # set downstream by the arbiter (flags, gap start); a producer writes 0


@dataclass(frozen=True)
class Meaning:
    """The annotation of one field: its kind, the `to_dict(raw=True)` key it comes from, and
    `volatile` when it changes on nearly every quote (encoded directly rather than cached)."""

    kind: Kind
    source: str | None = None
    volatile: bool = False


_PRICE = Kind.PRICE
TICK_MEANINGS: dict[str, Meaning] = {
    "code": Meaning(Kind.CODE, "code"),
    "timestamp_ms": Meaning(Kind.EXCHANGE_MS, "datetime"),
    "close": Meaning(Kind.TRADE_PRICE, "close"),
    "volume": Meaning(Kind.VOLUME, "volume"),
    "tick_type": Meaning(Kind.ENUM, "tick_type"),
    "total_volume": Meaning(Kind.COUNT, "total_volume", volatile=True),
    "underlying_price": Meaning(_PRICE, "underlying_price"),
    "exchange_time_us": Meaning(Kind.EXCHANGE_US, "datetime"),
    "receive_time_ns": Meaning(Kind.RECEIVE_NS),
    "sequence": Meaning(Kind.SEQUENCE),
    "producer_run_id": Meaning(Kind.RUN_ID),
    "open": Meaning(_PRICE, "open"),
    "high": Meaning(_PRICE, "high"),
    "low": Meaning(_PRICE, "low"),
    "avg_price": Meaning(_PRICE, "avg_price", volatile=True),
    "amount": Meaning(_PRICE, "amount", volatile=True),
    "total_amount": Meaning(_PRICE, "total_amount", volatile=True),
    "bid_side_total_vol": Meaning(Kind.COUNT, "bid_side_total_vol", volatile=True),
    "ask_side_total_vol": Meaning(Kind.COUNT, "ask_side_total_vol", volatile=True),
    "chg_type": Meaning(Kind.ENUM, "chg_type"),
    "price_chg": Meaning(_PRICE, "price_chg"),
    "pct_chg": Meaning(_PRICE, "pct_chg"),
    "simtrade": Meaning(Kind.FLAG, "simtrade"),
    "flags": Meaning(Kind.ANNOTATION),
    "gap_start_ns": Meaning(Kind.ANNOTATION),
}

BIDASK_MEANINGS: dict[str, Meaning] = {
    "code": Meaning(Kind.CODE, "code"),
    "timestamp_ms": Meaning(Kind.EXCHANGE_MS, "datetime"),
    "bid_total_vol": Meaning(Kind.COUNT, "bid_total_vol"),
    "ask_total_vol": Meaning(Kind.COUNT, "ask_total_vol"),
    "bid_price": Meaning(Kind.BOOK_PRICES, "bid_price"),
    "bid_volume": Meaning(Kind.BOOK_VOLUMES, "bid_volume"),
    "diff_bid_vol": Meaning(Kind.BOOK_CHANGES, "diff_bid_vol"),
    "ask_price": Meaning(Kind.BOOK_PRICES, "ask_price"),
    "ask_volume": Meaning(Kind.BOOK_VOLUMES, "ask_volume"),
    "diff_ask_vol": Meaning(Kind.BOOK_CHANGES, "diff_ask_vol"),
    "exchange_time_us": Meaning(Kind.EXCHANGE_US, "datetime"),
    "receive_time_ns": Meaning(Kind.RECEIVE_NS),
    "sequence": Meaning(Kind.SEQUENCE),
    "producer_run_id": Meaning(Kind.RUN_ID),
    "underlying_price": Meaning(_PRICE, "underlying_price"),
    "first_derived_bid_price": Meaning(_PRICE, "first_derived_bid_price"),
    "first_derived_ask_price": Meaning(_PRICE, "first_derived_ask_price"),
    "first_derived_bid_vol": Meaning(Kind.COUNT, "first_derived_bid_vol"),
    "first_derived_ask_vol": Meaning(Kind.COUNT, "first_derived_ask_vol"),
    "simtrade": Meaning(Kind.FLAG, "simtrade"),
    "flags": Meaning(Kind.ANNOTATION),
    "gap_start_ns": Meaning(Kind.ANNOTATION),
}

_T = FieldDescriptor
_SIGNED = {_T.TYPE_INT64, _T.TYPE_SINT64}
# Which protobuf types each kind may annotate, and whether it is repeated.
_FITS: dict[Kind, tuple[set[int], bool]] = {
    Kind.CODE: ({_T.TYPE_STRING}, False),
    Kind.EXCHANGE_MS: ({_T.TYPE_INT64}, False),
    Kind.EXCHANGE_US: ({_T.TYPE_INT64}, False),
    Kind.RECEIVE_NS: ({_T.TYPE_INT64}, False),
    Kind.SEQUENCE: ({_T.TYPE_UINT64}, False),
    Kind.RUN_ID: ({_T.TYPE_FIXED64}, False),
    Kind.PRICE: (_SIGNED, False),
    Kind.TRADE_PRICE: (_SIGNED, False),
    Kind.COUNT: (_SIGNED, False),
    Kind.VOLUME: (_SIGNED, False),
    Kind.ENUM: ({_T.TYPE_ENUM}, False),
    Kind.FLAG: ({_T.TYPE_BOOL}, False),
    Kind.BOOK_PRICES: (_SIGNED, True),
    Kind.BOOK_VOLUMES: (_SIGNED, True),
    Kind.BOOK_CHANGES: ({_T.TYPE_SINT64}, True),
    Kind.ANNOTATION: ({_T.TYPE_UINT32, _T.TYPE_INT64}, False),
}
_WIRE_TYPE = {_T.TYPE_STRING: 2, _T.TYPE_FIXED64: 1}  # the rest are varints (0); packed repeated are 2
# Where each kind's value comes from: a quote key, the producer, or nowhere (set by the publisher).
_NEEDS_SOURCE = {k for k in Kind} - {Kind.RECEIVE_NS, Kind.SEQUENCE, Kind.RUN_ID, Kind.ANNOTATION}
#: Fields a producer or the arbiter sets for its run, not the exchange: a quote's identity leaves them out.
RUN_KINDS = frozenset({Kind.RECEIVE_NS, Kind.SEQUENCE, Kind.RUN_ID, Kind.ANNOTATION})
# The keys `to_dict(raw=True)` delivers (the msgpack fields, with `datetime` made of date and time).
_SOURCES = {
    Tick: (set(TICK_FIELDS) - {"date", "time"}) | {"datetime"},
    BidAsk: (set(BIDASK_FIELDS) - {"date", "time"}) | {"datetime"},
}


class RecordShapeError(ImportError):
    """The annotations disagree with the contract; the message names the field and the fix."""


def uvarint_bytes(v: int) -> bytes:
    """`v` (>= 0) as a protobuf base-128 varint (the slow, table-free way; wire.py builds its tables with it)."""
    out = bytearray()
    while v > 127:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record, everything the encoders and checks need."""

    name: str
    number: int
    kind: Kind
    source: str | None
    volatile: bool
    proto_type: int
    repeated: bool
    key: bytes  # the tag: number << 3 | wire type, as a varint
    enum_values: frozenset[int] = frozenset()

    @property
    def zigzag(self) -> bool:
        """sint64: negative values stay short."""
        return self.proto_type == _T.TYPE_SINT64


@dataclass(frozen=True)
class RecordShape:
    """A message's fields in number order (the order they are written in)."""

    message: type[Message]
    fields: tuple[FieldSpec, ...]

    @property
    def name(self) -> str:
        return str(self.message.DESCRIPTOR.full_name)

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def of_kind(self, *kinds: Kind) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.kind in kinds)


def shape_of(
    message: type[Message],
    meanings: Mapping[str, Meaning],
    descriptor: Descriptor | None = None,
    sources: set[str] | None = None,
) -> RecordShape:
    """Join `descriptor` (default: the message's) with `meanings`; RecordShapeError on any mismatch."""
    d = descriptor or message.DESCRIPTOR
    where = f"{d.full_name} (producer/txf_producer/record.py)"
    unannotated = [f"{f.name} = {f.number}" for f in d.fields if f.name not in meanings]
    if unannotated:
        raise RecordShapeError(
            f"{where}: the contract has field(s) {', '.join(unannotated)} the producer does "
            "not know: give each a Meaning (kind, Shioaji source) in record.py"
        )
    gone = sorted(set(meanings) - {f.name for f in d.fields})
    if gone:
        raise RecordShapeError(f"{where}: record.py annotates {', '.join(gone)}, which the contract no longer has")
    specs = []
    ordered: list[Any] = sorted(d.fields, key=lambda f: f.number)  # upb's or python's FieldDescriptor
    for f in ordered:
        m = meanings[f.name]
        types, repeated = _FITS[m.kind]
        is_repeated = f.is_repeated
        if f.type not in types or is_repeated != repeated:
            raise RecordShapeError(
                f"{where}: field {f.name} is {'repeated ' if is_repeated else ''}type {f.type}, "
                f"which does not fit kind {m.kind.value}"
            )
        if (m.source is not None) != (m.kind in _NEEDS_SOURCE):
            raise RecordShapeError(
                f"{where}: field {f.name} of kind {m.kind.value} "
                f"{'needs' if m.kind in _NEEDS_SOURCE else 'takes no'} Shioaji source"
            )
        if m.source is not None and sources is not None and m.source not in sources:
            raise RecordShapeError(f"{where}: field {f.name} reads {m.source!r}, which Shioaji's quote does not have")
        wire_type = 2 if is_repeated else _WIRE_TYPE.get(f.type, 0)
        enum_values = frozenset(v.number for v in f.enum_type.values) if f.enum_type is not None else frozenset()
        specs.append(
            FieldSpec(
                f.name,
                f.number,
                m.kind,
                m.source,
                m.volatile,
                f.type,
                is_repeated,
                uvarint_bytes(f.number << 3 | wire_type),
                enum_values,
            )
        )
    if specs[0].kind is not Kind.CODE:
        raise RecordShapeError(f"{where}: the first field must be the contract code (a stream's constant prefix)")
    return RecordShape(message, tuple(specs))


TICK_SHAPE = shape_of(Tick, TICK_MEANINGS, sources=_SOURCES[Tick])
BIDASK_SHAPE = shape_of(BidAsk, BIDASK_MEANINGS, sources=_SOURCES[BidAsk])
SHAPES: dict[type[Message], RecordShape] = {Tick: TICK_SHAPE, BidAsk: BIDASK_SHAPE}
#: The message class each quote stream becomes.
MESSAGE_OF: dict[QuoteType, type[Tick] | type[BidAsk]] = {
    q: next(m for m in (Tick, BidAsk) if m.DESCRIPTOR.full_name == name) for q, name in MESSAGE_NAME_OF.items()
}
