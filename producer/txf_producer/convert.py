"""Shioaji quote objects -> txf.v1 messages, exactly, or a ConversionError: the reference path.

The publisher's first choice is wire.py, which writes a record's bytes
straight from `to_dict(raw=True)`; this module is the reference it is proven
against (tests/producer/test_wire.py) and the path a quote takes when wire.py
refuses it. It reads the quote's attributes: a price is a `Decimal`;
`as_integer_ratio()` gives it as n/den in lowest terms, and it has at most 4
decimals exactly when `den` divides 10000, so one dict lookup both scales it
and rejects anything else: more decimals (KeyError), NaN (ValueError),
infinity (OverflowError), None or a float (TypeError). No float ever touches a
price.

Integers are checked by `operator.index` or by the protobuf runtime
(which refuses None, floats and Decimals in lists; a singular None would be
read as "unset", hence `_index`), and int64 range is enforced by the protobuf
runtime. Exchange time is Shioaji's naive Taipei time; Taiwan has used UTC+8
without daylight saving since 1979, so UTC epoch microseconds are a subtraction
from the Taipei-local epoch, independent of the host's time zone.

Any failure is re-diagnosed field by field off the hot path
(`diagnose_tick`/`diagnose_bidask`) so the dead-letter record names the field.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from operator import index as _index
from typing import Any, Callable

from txf.v1 import BidAsk, Tick

PRICE_SCALE = 10_000
BOOK_DEPTH = 5
# n/den in lowest terms has <= 4 decimals iff den divides 10000; value: 10000 // den.
_SCALE_BY_DENOMINATOR: dict[int, int] = {den: PRICE_SCALE // den for den in range(1, PRICE_SCALE + 1)
                                         if PRICE_SCALE % den == 0}
_TAIPEI_EPOCH = _dt.datetime(1970, 1, 1, 8, 0, 0)  # 1970-01-01T00:00Z in Taipei local time
_ONE_US = _dt.timedelta(microseconds=1)
TICK_TYPES = frozenset({0, 1, 2})
CHG_TYPES = frozenset({0, 1, 2, 3, 4, 5})
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_ratio: Callable[[Decimal], tuple[int, int]] = Decimal.as_integer_ratio


_EXITS = (KeyboardInterrupt, SystemExit, GeneratorExit)


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


def build_tick_attrs(q: Any, receive_time_ns: int, run_id: int) -> Tick:
    """A TickFOPv1 as a txf.v1.Tick from its attributes (the reference path; see build_tick)."""
    m = _SCALE_BY_DENOMINATOR
    n, d = _ratio(q.close)
    close = n * m[d]
    volume = _index(q.volume)
    tick_type = q.tick_type
    chg_type = q.chg_type
    if close <= 0 or volume < 0 or tick_type not in TICK_TYPES or chg_type not in CHG_TYPES:
        raise ValueError("range")
    exchange_us = (q.datetime - _TAIPEI_EPOCH) // _ONE_US
    n1, d1 = _ratio(q.open)
    n2, d2 = _ratio(q.high)
    n3, d3 = _ratio(q.low)
    n4, d4 = _ratio(q.avg_price)
    n5, d5 = _ratio(q.amount)
    n6, d6 = _ratio(q.total_amount)
    n7, d7 = _ratio(q.underlying_price)
    n8, d8 = _ratio(q.price_chg)
    n9, d9 = _ratio(q.pct_chg)
    return Tick(
        code=q.code,
        timestamp_ms=exchange_us // 1000,
        close=close,
        volume=volume,
        tick_type=tick_type,
        total_volume=_index(q.total_volume),
        underlying_price=n7 * m[d7],
        exchange_time_us=exchange_us,
        receive_time_ns=receive_time_ns,
        producer_run_id=run_id,
        open=n1 * m[d1],
        high=n2 * m[d2],
        low=n3 * m[d3],
        avg_price=n4 * m[d4],
        amount=n5 * m[d5],
        total_amount=n6 * m[d6],
        bid_side_total_vol=_index(q.bid_side_total_vol),
        ask_side_total_vol=_index(q.ask_side_total_vol),
        chg_type=chg_type,
        price_chg=n8 * m[d8],
        pct_chg=n9 * m[d9],
        simtrade=q.simtrade is True,
    )


def build_bidask_attrs(q: Any, receive_time_ns: int, run_id: int) -> BidAsk:
    """A BidAskFOPv1 as a txf.v1.BidAsk from its attributes (the reference path; see build_bidask)."""
    m = _SCALE_BY_DENOMINATOR
    bid_price = [n * m[d] for n, d in map(_ratio, q.bid_price)]
    ask_price = [n * m[d] for n, d in map(_ratio, q.ask_price)]
    # Integer lists go in as they are: the protobuf runtime refuses None, floats,
    # Decimals, bools and out-of-range values in a repeated int64 field.
    bid_volume = q.bid_volume
    ask_volume = q.ask_volume
    diff_bid = q.diff_bid_vol
    diff_ask = q.diff_ask_vol
    if (len(bid_price) != BOOK_DEPTH or len(ask_price) != BOOK_DEPTH or len(bid_volume) != BOOK_DEPTH
            or len(ask_volume) != BOOK_DEPTH or len(diff_bid) != BOOK_DEPTH or len(diff_ask) != BOOK_DEPTH
            or min(bid_volume) < 0 or min(ask_volume) < 0):
        raise ValueError("shape")
    exchange_us = (q.datetime - _TAIPEI_EPOCH) // _ONE_US
    n1, d1 = _ratio(q.underlying_price)
    n2, d2 = _ratio(q.first_derived_bid_price)
    n3, d3 = _ratio(q.first_derived_ask_price)
    return BidAsk(
        code=q.code,
        timestamp_ms=exchange_us // 1000,
        bid_total_vol=_index(q.bid_total_vol),
        ask_total_vol=_index(q.ask_total_vol),
        bid_price=bid_price,
        bid_volume=bid_volume,
        diff_bid_vol=diff_bid,
        ask_price=ask_price,
        ask_volume=ask_volume,
        diff_ask_vol=diff_ask,
        exchange_time_us=exchange_us,
        receive_time_ns=receive_time_ns,
        producer_run_id=run_id,
        underlying_price=n1 * m[d1],
        first_derived_bid_price=n2 * m[d2],
        first_derived_ask_price=n3 * m[d3],
        first_derived_bid_vol=_index(q.first_derived_bid_vol),
        first_derived_ask_vol=_index(q.first_derived_ask_vol),
        simtrade=q.simtrade is True,
    )


# The public names: a quote as a txf.v1 message (sequence left 0 for the publisher to set); raise if inexact.
build_tick = build_tick_attrs
build_bidask = build_bidask_attrs


# --- diagnosis (off the hot path): which field is wrong, and why ------------

TICK_PRICE_FIELDS = ("close", "open", "high", "low", "avg_price", "amount", "total_amount",
                     "underlying_price", "price_chg", "pct_chg")
TICK_INT_FIELDS = ("volume", "total_volume", "bid_side_total_vol", "ask_side_total_vol")
BIDASK_PRICE_LISTS = ("bid_price", "ask_price")
BIDASK_INT_LISTS = ("bid_volume", "ask_volume", "diff_bid_vol", "diff_ask_vol")
BIDASK_PRICE_FIELDS = ("underlying_price", "first_derived_bid_price", "first_derived_ask_price")
BIDASK_INT_FIELDS = ("bid_total_vol", "ask_total_vol", "first_derived_bid_vol", "first_derived_ask_vol")


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


def _check_common(q: Any) -> None:
    code = _attr(q, "code")
    if not isinstance(code, str) or not code:
        raise ConversionError("code", "contract code must be a non-empty string", code)
    dt = _attr(q, "datetime")
    if not isinstance(dt, _dt.datetime) or dt.tzinfo is not None:
        raise ConversionError("datetime", "must be a naive Taipei-local datetime", dt)


def diagnose_tick(q: Any) -> ConversionError:
    """Explain why `build_tick` failed on `q`, naming the first bad field."""
    try:
        _check_common(q)
        for f in TICK_PRICE_FIELDS:
            _check_price(f, _attr(q, f))
        if _check_price("close", q.close) <= 0:
            raise ConversionError("close", "trade price must be positive", q.close)
        for f in TICK_INT_FIELDS:
            _check_int(f, _attr(q, f), minimum=0 if f == "volume" else INT64_MIN)
        if _attr(q, "tick_type") not in TICK_TYPES:
            raise ConversionError("tick_type", f"unknown value; txf.v1.TickType knows {sorted(TICK_TYPES)}",
                                  q.tick_type)
        if _attr(q, "chg_type") not in CHG_TYPES:
            raise ConversionError("chg_type", f"unknown value; txf.v1.ChgType knows {sorted(CHG_TYPES)}",
                                  q.chg_type)
    except ConversionError as err:
        return err
    return ConversionError("quote", "could not be converted for an unrecognised reason")


def diagnose_bidask(q: Any) -> ConversionError:
    """Explain why `build_bidask` failed on `q`, naming the first bad field."""
    try:
        _check_common(q)
        for f in BIDASK_PRICE_LISTS + BIDASK_INT_LISTS:
            values = _attr(q, f)
            if not isinstance(values, list) or len(values) != BOOK_DEPTH:
                got = len(values) if isinstance(values, list) else type(values).__name__
                raise ConversionError(f, f"book must have exactly {BOOK_DEPTH} levels", got)
            for i, v in enumerate(values):
                if f in BIDASK_PRICE_LISTS:
                    _check_price(f"{f}[{i}]", v)
                else:
                    _check_int(f"{f}[{i}]", v, minimum=0 if f.endswith("_volume") else INT64_MIN)
        for f in BIDASK_PRICE_FIELDS:
            _check_price(f, _attr(q, f))
        for f in BIDASK_INT_FIELDS:
            _check_int(f, _attr(q, f))
    except ConversionError as err:
        return err
    return ConversionError("quote", "could not be converted for an unrecognised reason")
