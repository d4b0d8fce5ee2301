"""The txf.v1 record shapes as the producer encodes them: every field's number, key, kind and Shioaji source.

What a field *is* on the wire (number, type, cardinality, enum values) comes from the generated
descriptors; what it *means* (a price scaled x10000, a volume that cannot be negative, the exchange
time) is the contract's, in txf_kit.records; what the producer adds here is where Shioaji delivers
it (the `to_dict` key) and whether it changes on every quote. `shape_of` joins the three and refuses
any disagreement, at import: a field added to the contract without a meaning, a meaning left for a
removed field, a kind that does not fit the field's type, a source Shioaji does not deliver. The fast
encoder (wire.py), the reference path and the diagnosis (convert.py) are all derived from these
shapes, the way databento's dbn derives every encoder from one annotated record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from txf.v1 import BidAsk, Tick
from txf_kit.records import (
    BIDASK_KINDS,
    RUN_KINDS,
    TICK_KINDS,
    Kind,
    RecordShapeError,
    kinds_of,
)
from txf_producer.quotes import BIDASK_FIELDS, TICK_FIELDS
from txf_producer.sources.base import MESSAGE_NAME_OF, QuoteType


@dataclass(frozen=True)
class Meaning:
    """The annotation of one field: its kind (the contract's meaning, txf_kit.records), the
    `to_dict(raw=True)` key it comes from, and `volatile` when it changes on nearly every quote
    (encoded directly rather than cached)."""

    kind: Kind
    source: str | None = None
    volatile: bool = False


#: Shioaji's `to_dict(raw=True)` names each exchange field as the contract does, but for the two exchange
#: times, both made from its naive Taipei `datetime`; the run's fields (RUN_KINDS) come from no quote.
_SOURCE_KEY = {"timestamp_ms": "datetime", "exchange_time_us": "datetime"}
#: Fields that change on nearly every quote: the encoder writes them directly instead of caching them.
TICK_VOLATILE = frozenset(
    {"total_volume", "avg_price", "amount", "total_amount", "bid_side_total_vol", "ask_side_total_vol"}
)


def _meanings(kinds: Mapping[str, Kind], volatile: frozenset[str] = frozenset()) -> dict[str, Meaning]:
    return {
        name: Meaning(kind, None if kind in RUN_KINDS else _SOURCE_KEY.get(name, name), name in volatile)
        for name, kind in kinds.items()
    }


TICK_MEANINGS: dict[str, Meaning] = _meanings(TICK_KINDS, TICK_VOLATILE)
BIDASK_MEANINGS: dict[str, Meaning] = _meanings(BIDASK_KINDS)

_T = FieldDescriptor
_WIRE_TYPE = {_T.TYPE_STRING: 2, _T.TYPE_FIXED64: 1}  # the rest are varints (0); packed repeated are 2
# Where each kind's value comes from: a quote key, the producer, or nowhere (set by the publisher).
_NEEDS_SOURCE = {k for k in Kind} - RUN_KINDS
# The keys `to_dict(raw=True)` delivers (the msgpack fields, with `datetime` made of date and time).
_SOURCES = {
    Tick: (set(TICK_FIELDS) - {"date", "time"}) | {"datetime"},
    BidAsk: (set(BIDASK_FIELDS) - {"date", "time"}) | {"datetime"},
}


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
    kinds_of(message, {name: m.kind for name, m in meanings.items()}, d, where)
    specs = []
    ordered: list[Any] = sorted(d.fields, key=lambda f: f.number)  # upb's or python's FieldDescriptor
    for f in ordered:
        m = meanings[f.name]
        is_repeated = f.is_repeated
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
