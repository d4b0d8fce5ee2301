"""Shioaji quote objects -> txf.v1 messages, exactly, or a ConversionError: the reference path.

The publisher's first choice is wire.py, which writes a record's bytes straight from
`to_dict(raw=True)`; this module is the reference it is proven against (tests/producer/test_wire.py)
and the path a quote takes when wire.py refuses it. Both are derived from the one record definition
(record.py): here each field is read from the quote's attribute its `Meaning` names and checked by
its kind. Speed matters little here (a refused quote is rare); exactness is everything.

A price is a `Decimal`; `as_integer_ratio()` gives it as n/den in lowest terms, and it has at most 4
decimals exactly when `den` divides 10000, so one dict lookup both scales it and rejects anything
else: more decimals (KeyError), NaN (ValueError), infinity (OverflowError), None or a float
(TypeError). No float ever touches a price. Integers are checked by `operator.index` or by the
protobuf runtime (which refuses None, floats and Decimals in lists), and int64 range by the runtime.
Exchange time is Shioaji's naive Taipei time; Taiwan has used UTC+8 without daylight saving since
1979, so UTC epoch microseconds are a subtraction from the Taipei-local epoch, independent of the
host's time zone.

Any failure is re-diagnosed field by field, in the record's order (`diagnose`), so the dead-letter
record names the field.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from decimal import Decimal
from operator import index as _index
from typing import Any

from google.protobuf.message import Message

from txf.v1 import BidAsk, Tick
from txf_kit.records import BOOK_DEPTH, INT64_MAX, INT64_MIN, PRICE_SCALE, Kind
from txf_producer.record import BIDASK_SHAPE, TICK_SHAPE, FieldSpec, RecordShape

# n/den in lowest terms has <= 4 decimals iff den divides 10000; value: 10000 // den.
_SCALE_BY_DENOMINATOR: dict[int, int] = {
    den: PRICE_SCALE // den for den in range(1, PRICE_SCALE + 1) if PRICE_SCALE % den == 0
}
_TAIPEI_EPOCH = _dt.datetime(1970, 1, 1, 8, 0, 0)  # 1970-01-01T00:00Z in Taipei local time
_ONE_US = _dt.timedelta(microseconds=1)
_ratio: Callable[[Decimal], tuple[int, int]] = Decimal.as_integer_ratio
_EXITS = (KeyboardInterrupt, SystemExit, GeneratorExit)
_PRICES = (Kind.PRICE, Kind.TRADE_PRICE)
_TIMES = (Kind.EXCHANGE_MS, Kind.EXCHANGE_US)


def reraise_exit(exc: BaseException) -> None:
    """Re-raise `exc` if it asks the process to stop; any other failure is the quote's.

    Shioaji's quote objects are Rust (pyo3). Reading a field whose stored value
    does not fit its Rust type (e.g. a negative total volume) raises pyo3's
    PanicException, which derives from BaseException, not Exception. So every
    place that reads a quote catches BaseException and calls this first.
    """
    if isinstance(exc, _EXITS):
        raise exc


class ConversionError(ValueError):
    """A quote that cannot be published exactly. `field` names the culprit."""

    def __init__(self, field: str, reason: str, value: Any = None) -> None:
        self.field = field
        self.reason = reason
        self.value = value
        super().__init__(f"{field}: {reason} (got {value!r})")


def scale_price(value: Decimal) -> int:
    """Decimal price -> int scaled x10000, exactly; raises on anything inexact."""
    n, den = _ratio(value)
    return n * _SCALE_BY_DENOMINATOR[den]


def taipei_to_utc_us(local: _dt.datetime) -> int:
    """Naive Asia/Taipei datetime -> UTC epoch microseconds (host time zone irrelevant)."""
    return (local - _TAIPEI_EPOCH) // _ONE_US


def build(shape: RecordShape, q: Any, receive_time_ns: int, run_id: int) -> Message:
    """A quote as a txf.v1 message of `shape` from its attributes (sequence left 0); raises if inexact."""
    values: dict[str, Any] = {}
    exchange_us: int | None = None
    for f in shape.fields:
        k = f.kind
        if k is Kind.SEQUENCE or k is Kind.ANNOTATION:
            continue
        if k is Kind.RECEIVE_NS:
            values[f.name] = receive_time_ns
        elif k is Kind.RUN_ID:
            values[f.name] = run_id
        elif k in _TIMES:
            if exchange_us is None:
                exchange_us = taipei_to_utc_us(getattr(q, f.source))  # type: ignore[arg-type]
            values[f.name] = exchange_us // 1000 if k is Kind.EXCHANGE_MS else exchange_us
        else:
            values[f.name] = _read(k, f.enum_values, getattr(q, f.source))  # type: ignore[arg-type]
    return shape.message(**values)


def _read(kind: Kind, enum_values: frozenset[int], v: Any) -> Any:
    """One attribute's value as the message field takes it; raises when it is not exact."""
    if kind in _PRICES:
        scaled = scale_price(v)
        if kind is Kind.TRADE_PRICE and scaled <= 0:
            raise ValueError("a trade price must be positive")
        return scaled
    if kind is Kind.COUNT:
        return _index(v)
    if kind is Kind.VOLUME:
        if _index(v) < 0:
            raise ValueError("negative volume")
        return v
    if kind is Kind.ENUM:
        if v not in enum_values:
            raise ValueError("unknown enum value")
        return v
    if kind is Kind.FLAG:
        return v is True
    if kind is Kind.CODE:
        return v
    # Books: integer lists go in as they are (the protobuf runtime refuses None, floats, Decimals,
    # bools and out-of-range values in a repeated int64 field).
    levels = [scale_price(x) for x in v] if kind is Kind.BOOK_PRICES else v
    if len(levels) != BOOK_DEPTH or (kind is Kind.BOOK_VOLUMES and min(levels) < 0):
        raise ValueError("book shape")
    return levels


def build_tick(q: Any, receive_time_ns: int, run_id: int) -> Tick:
    """A TickFOPv1 as a txf.v1.Tick (the reference path)."""
    return build(TICK_SHAPE, q, receive_time_ns, run_id)  # type: ignore[return-value]


def build_bidask(q: Any, receive_time_ns: int, run_id: int) -> BidAsk:
    """A BidAskFOPv1 as a txf.v1.BidAsk (the reference path)."""
    return build(BIDASK_SHAPE, q, receive_time_ns, run_id)  # type: ignore[return-value]


# --- diagnosis (off the hot path): which field is wrong, and why ------------


def _check_price(field: str, value: Any) -> int:
    if not isinstance(value, Decimal):
        raise ConversionError(field, f"price must be a Decimal, not {type(value).__name__}", value)
    if not value.is_finite():
        raise ConversionError(field, "price is not a finite number", value)
    n, den = value.as_integer_ratio()
    if den not in _SCALE_BY_DENOMINATOR:
        raise ConversionError(field, "price has more than 4 decimals; x10000 would not be exact", value)
    scaled = n * _SCALE_BY_DENOMINATOR[den]
    if not INT64_MIN <= scaled <= INT64_MAX:
        raise ConversionError(field, "price x10000 is outside int64", value)
    return scaled


def _check_int(field: str, value: Any, minimum: int = INT64_MIN) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConversionError(field, f"must be an integer, not {type(value).__name__}", value)
    if not minimum <= value <= INT64_MAX:
        bound = "negative" if value < minimum else "outside int64"
        raise ConversionError(field, f"value is {bound}", value)
    return value


def _attr(q: Any, field: str) -> Any:
    try:
        return getattr(q, field)
    except BaseException as exc:  # a broken object (or a Rust panic): report, never crash
        reraise_exit(exc)
        raise ConversionError(field, f"cannot be read: {type(exc).__name__}: {exc}") from None


def _check_field(shape: RecordShape, f: FieldSpec, v: Any) -> None:
    """Raise ConversionError naming the field's source (or one of its levels) if `v` is not exact."""
    kind, source = f.kind, str(f.source)
    if kind is Kind.CODE:
        if not isinstance(v, str) or not v:
            raise ConversionError(source, "contract code must be a non-empty string", v)
    elif kind in _TIMES:
        if not isinstance(v, _dt.datetime) or v.tzinfo is not None:
            raise ConversionError(source, "must be a naive Taipei-local datetime", v)
    elif kind in _PRICES:
        if _check_price(source, v) <= 0 and kind is Kind.TRADE_PRICE:
            raise ConversionError(source, "trade price must be positive", v)
    elif kind in (Kind.COUNT, Kind.VOLUME):
        _check_int(source, v, minimum=0 if kind is Kind.VOLUME else INT64_MIN)
    elif kind is Kind.ENUM:
        if v not in f.enum_values:
            enum = shape.message.DESCRIPTOR.fields_by_name[f.name].enum_type
            name = enum.full_name if enum is not None else f.name
            raise ConversionError(source, f"unknown value; {name} knows {sorted(f.enum_values)}", v)
    elif kind in (Kind.BOOK_PRICES, Kind.BOOK_VOLUMES, Kind.BOOK_CHANGES):
        if not isinstance(v, list) or len(v) != BOOK_DEPTH:
            got = len(v) if isinstance(v, list) else type(v).__name__
            raise ConversionError(source, f"book must have exactly {BOOK_DEPTH} levels", got)
        for i, level in enumerate(v):
            if kind is Kind.BOOK_PRICES:
                _check_price(f"{source}[{i}]", level)
            else:
                _check_int(f"{source}[{i}]", level, minimum=0 if kind is Kind.BOOK_VOLUMES else INT64_MIN)


def diagnose(shape: RecordShape, q: Any) -> ConversionError:
    """Explain why `build(shape, q, ...)` failed, naming the first bad field in the record's order."""
    checked: set[str] = set()
    try:
        for f in shape.fields:
            if f.source is None or f.source in checked:
                continue
            checked.add(f.source)
            _check_field(shape, f, _attr(q, f.source))
    except ConversionError as err:
        return err
    return ConversionError("quote", "could not be converted for an unrecognised reason")


def diagnose_tick(q: Any) -> ConversionError:
    """Explain why `build_tick` failed on `q`."""
    return diagnose(TICK_SHAPE, q)


def diagnose_bidask(q: Any) -> ConversionError:
    """Explain why `build_bidask` failed on `q`."""
    return diagnose(BIDASK_SHAPE, q)
