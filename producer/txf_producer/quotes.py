"""Real Shioaji quote objects built offline, and their compact msgpack form.

Shioaji's `TickFOPv1` and `BidAskFOPv1` have no public constructor, but
`Cls.from_msgpack(bytes)` accepts a msgpack array in a fixed field order. The
simulator, the recorder and replay all use this one form, so every source
hands the producer the very objects a live session delivers. The format is
undocumented: shioaji is pinned, and tests/producer/test_quotes.py fails
loudly if the order changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgpack

if TYPE_CHECKING:  # imported where used: `import shioaji` opens its log file (see prepare_shioaji_log)
    from shioaji import BidAskFOPv1, TickFOPv1

# The kind of a packed quote wherever one travels (simulator, generator pipe, feed loop, recordings).
TICK, BIDASK = 0, 1

# Field order of the msgpack array each class accepts (shioaji 1.7.9).
TICK_FIELDS: tuple[str, ...] = (
    "code",
    "date",
    "time",
    "open",
    "underlying_price",
    "bid_side_total_vol",
    "ask_side_total_vol",
    "avg_price",
    "close",
    "high",
    "low",
    "amount",
    "total_amount",
    "volume",
    "total_volume",
    "tick_type",
    "chg_type",
    "price_chg",
    "pct_chg",
    "simtrade",
)
BIDASK_FIELDS: tuple[str, ...] = (
    "code",
    "date",
    "time",
    "bid_total_vol",
    "ask_total_vol",
    "bid_price",
    "bid_volume",
    "diff_bid_vol",
    "ask_price",
    "ask_volume",
    "diff_ask_vol",
    "first_derived_bid_price",
    "first_derived_ask_price",
    "first_derived_bid_vol",
    "first_derived_ask_vol",
    "underlying_price",
    "simtrade",
)


def _wire(value: Any) -> Any:
    """Quote attribute -> msgpack-able value (Decimal as exact string, date/time ISO)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def tick_array(quote: TickFOPv1) -> list[Any]:
    """A Tick as the msgpack array `TickFOPv1.from_msgpack` takes (lossless)."""
    return [_wire(getattr(quote, f)) for f in TICK_FIELDS]


def bidask_array(quote: BidAskFOPv1) -> list[Any]:
    """A BidAsk as the msgpack array `BidAskFOPv1.from_msgpack` takes (lossless)."""
    return [_wire(getattr(quote, f)) for f in BIDASK_FIELDS]


def tick_from_array(values: Sequence[Any]) -> TickFOPv1:
    """Build a real TickFOPv1 from values in TICK_FIELDS order."""
    from shioaji import TickFOPv1

    return TickFOPv1.from_msgpack(msgpack.packb(list(values)))


def bidask_from_array(values: Sequence[Any]) -> BidAskFOPv1:
    """Build a real BidAskFOPv1 from values in BIDASK_FIELDS order."""
    from shioaji import BidAskFOPv1

    return BidAskFOPv1.from_msgpack(msgpack.packb(list(values)))


def make_tick(**fields: Any) -> TickFOPv1:
    """Build a real TickFOPv1 from keyword fields (all of TICK_FIELDS required).

    `date` is 'YYYY-MM-DD', `time` 'HH:MM:SS.ffffff' (Taipei local), prices are
    Decimal or decimal strings.
    """
    missing = set(TICK_FIELDS) - fields.keys()
    if missing:
        raise TypeError(f"make_tick: missing fields {sorted(missing)}")
    return tick_from_array([_wire(fields[f]) for f in TICK_FIELDS])


def make_bidask(**fields: Any) -> BidAskFOPv1:
    """Build a real BidAskFOPv1 from keyword fields (all of BIDASK_FIELDS required)."""
    missing = set(BIDASK_FIELDS) - fields.keys()
    if missing:
        raise TypeError(f"make_bidask: missing fields {sorted(missing)}")
    return bidask_from_array([_wire(fields[f]) for f in BIDASK_FIELDS])
