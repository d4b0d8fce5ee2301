"""What every txf.v1 field means, next to the contract: a price x10000, a volume, the exchange time.

What a field *is* on the wire (number, type, cardinality, enum values) comes from the generated
descriptors; what it *means* (a price scaled x10000, a volume that cannot be negative, the exchange
time, a field the producer or the arbiter sets for its run) is the one table below. `kinds_of` joins
the two and refuses any disagreement at import: a field added to the contract without a kind, a kind
left for a removed field, a kind that does not fit the field's type. Everything that depends on a
field's meaning is derived from here: the producer's exact encoder (with the Shioaji key each field is
read from, txf_producer/record.py), the arbiter's quote identity (every field but the run's), the
archive's Decimal columns (the scaled fields), the way databento's dbn derives every encoder from one
annotated record.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from txf.v1 import Bar, BidAsk, Tick

PRICE_SCALE = 10_000
BOOK_DEPTH = 5
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Kind(enum.Enum):
    """What a field holds, and so how it is read, checked and encoded."""

    CODE = "code"  # the contract code: constant per stream (in the record's prefix)
    EXCHANGE_MS = "exchange_ms"  # the exchange's time as UTC epoch milliseconds
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


_P = Kind.PRICE
TICK_KINDS: dict[str, Kind] = {
    "code": Kind.CODE,
    "timestamp_ms": Kind.EXCHANGE_MS,
    "close": Kind.TRADE_PRICE,
    "volume": Kind.VOLUME,
    "tick_type": Kind.ENUM,
    "total_volume": Kind.COUNT,
    "underlying_price": _P,
    "exchange_time_us": Kind.EXCHANGE_US,
    "receive_time_ns": Kind.RECEIVE_NS,
    "sequence": Kind.SEQUENCE,
    "producer_run_id": Kind.RUN_ID,
    "open": _P,
    "high": _P,
    "low": _P,
    "avg_price": _P,
    "amount": _P,
    "total_amount": _P,
    "bid_side_total_vol": Kind.COUNT,
    "ask_side_total_vol": Kind.COUNT,
    "chg_type": Kind.ENUM,
    "price_chg": _P,
    "pct_chg": _P,
    "simtrade": Kind.FLAG,
    "flags": Kind.ANNOTATION,
    "gap_start_ns": Kind.ANNOTATION,
}
BIDASK_KINDS: dict[str, Kind] = {
    "code": Kind.CODE,
    "timestamp_ms": Kind.EXCHANGE_MS,
    "bid_total_vol": Kind.COUNT,
    "ask_total_vol": Kind.COUNT,
    "bid_price": Kind.BOOK_PRICES,
    "bid_volume": Kind.BOOK_VOLUMES,
    "diff_bid_vol": Kind.BOOK_CHANGES,
    "ask_price": Kind.BOOK_PRICES,
    "ask_volume": Kind.BOOK_VOLUMES,
    "diff_ask_vol": Kind.BOOK_CHANGES,
    "exchange_time_us": Kind.EXCHANGE_US,
    "receive_time_ns": Kind.RECEIVE_NS,
    "sequence": Kind.SEQUENCE,
    "producer_run_id": Kind.RUN_ID,
    "underlying_price": _P,
    "first_derived_bid_price": _P,
    "first_derived_ask_price": _P,
    "first_derived_bid_vol": Kind.COUNT,
    "first_derived_ask_vol": Kind.COUNT,
    "simtrade": Kind.FLAG,
    "flags": Kind.ANNOTATION,
    "gap_start_ns": Kind.ANNOTATION,
}
#: Bar (txf-archive's 1-minute bars): the fields in points x10000 (the rest are counts and times)
BAR_SCALED = frozenset({"open", "high", "low", "close", "value", "vwap"})

#: Fields a producer or the arbiter sets for its run, not the exchange: a quote's identity leaves them out.
RUN_KINDS = frozenset({Kind.RECEIVE_NS, Kind.SEQUENCE, Kind.RUN_ID, Kind.ANNOTATION})
#: Kinds whose values are points x10000
PRICE_KINDS = frozenset({Kind.PRICE, Kind.TRADE_PRICE, Kind.BOOK_PRICES})

_T = FieldDescriptor
_SIGNED = {_T.TYPE_INT64, _T.TYPE_SINT64}
#: Which protobuf types each kind may annotate, and whether it is repeated.
FITS: dict[Kind, tuple[set[int], bool]] = {
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


class RecordShapeError(ImportError):
    """The meanings disagree with the contract; the message names the field and the fix."""


def kinds_of(
    message: type[Message], kinds: Mapping[str, Kind], descriptor: Any = None, where: str = ""
) -> dict[str, Kind]:
    """`kinds` checked against `descriptor` (default: the message's): every field has a kind that
    fits its type, and no kind is left for a field the contract no longer has. RecordShapeError."""
    d = descriptor or message.DESCRIPTOR
    where = where or f"{d.full_name} (kit/txf_kit/records.py)"
    unannotated = [f"{f.name} = {f.number}" for f in d.fields if f.name not in kinds]
    if unannotated:
        raise RecordShapeError(
            f"{where}: the contract has field(s) {', '.join(unannotated)} with no meaning: give each a Kind "
            "in kit/txf_kit/records.py (and a Shioaji source in the producer's record.py if a quote carries it)"
        )
    gone = sorted(set(kinds) - {f.name for f in d.fields})
    if gone:
        raise RecordShapeError(f"{where}: a meaning is given for {', '.join(gone)}, which the contract no longer has")
    for f in d.fields:
        types, repeated = FITS[kinds[f.name]]
        if f.type not in types or f.is_repeated != repeated:
            raise RecordShapeError(
                f"{where}: field {f.name} is {'repeated ' if f.is_repeated else ''}type {f.type}, "
                f"which does not fit kind {kinds[f.name].value}"
            )
    return dict(kinds)


#: Each quote message's field kinds, checked against the installed contract at import.
KINDS: dict[type[Message], dict[str, Kind]] = {
    Tick: kinds_of(Tick, TICK_KINDS),
    BidAsk: kinds_of(BidAsk, BIDASK_KINDS),
}


def identity_fields(message: type[Message]) -> tuple[str, ...]:
    """The fields that make a quote what the exchange said (every field but those set for a run)."""
    return tuple(name for name, kind in KINDS[message].items() if kind not in RUN_KINDS)


def scaled_fields() -> dict[str, frozenset[str]]:
    """txf.v1 full name -> the fields that hold a value x10000 (the archive writes them into its files'
    field metadata, so readers derive Decimal columns from the files themselves)."""
    out = {m.DESCRIPTOR.full_name: frozenset(n for n, k in KINDS[m].items() if k in PRICE_KINDS) for m in KINDS}
    out[Bar.DESCRIPTOR.full_name] = BAR_SCALED
    return out
