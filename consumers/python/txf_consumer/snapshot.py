"""What the live view shows, as plain data: built by the consumer, drawn by the screen process.

A snapshot is a few hundred small integers and strings in named tuples, so it
is cheap to build on the consume path (~50 us), to pickle and to send to the
screen process, which draws it (screen.py) without ever touching the
consumer's state. Prices stay x10000 integers (common.proto); the screen turns
them into exact decimal text.
"""

from __future__ import annotations

from typing import NamedTuple

BOOK_DEPTH = 5


class Level(NamedTuple):
    """One price level of a book side."""

    price: int
    volume: int


class Book(NamedTuple):
    """The last five-level book of one contract (txf.v1.BidAsk)."""

    code: str
    bids: tuple[Level, ...]  # best first
    asks: tuple[Level, ...]  # best first
    bid_total: int
    ask_total: int
    exchange_time_us: int


class Trade(NamedTuple):
    """One line of the tape (txf.v1.Tick): who initiated it is `side`, TickType's number (1 buy, 2 sell)."""

    exchange_time_us: int
    code: str
    price: int
    volume: int
    side: int


class Session(NamedTuple):
    """The session so far of one contract, as the exchange reports it in every Tick."""

    code: str
    last: int
    open: int
    high: int
    low: int
    change: int  # price_chg, points x10000
    pct_change: int  # pct_chg, percent x10000
    total_volume: int
    simtrade: bool


class Candle(NamedTuple):
    """One 1-minute bar of a contract's session (txf_kit.bars: right-labelled, the close its own boundary)."""

    end_ns: int  # the bar's right edge, UTC epoch ns
    open: int
    high: int
    low: int
    close: int
    volume: int


class Latency(NamedTuple):
    """Latency percentiles (ms) of one message type; None before the first message."""

    type_name: str
    producer_p50: float | None  # producer receive -> this consumer
    producer_p99: float | None
    producer_max: float | None
    exchange_p50: float | None  # exchange time -> this consumer
    exchange_p99: float | None


class Health(NamedTuple):
    """Loss and latency: the line that says whether the screen can be trusted."""

    messages: int
    rate: float  # messages per second over about the last second
    lost: int
    gaps: int
    duplicates: int
    reordered: int
    restarts: int
    malformed: int
    latency: tuple[Latency, ...]
    stale_s: float = 0.0  # > 0: a session is open and nothing came for this long, past the plausible quiet


class Snapshot(NamedTuple):
    """One frame's worth of state."""

    wall_time: float  # time.time() when it was taken
    books: tuple[Book, ...]
    sessions: tuple[Session, ...]
    tape: tuple[Trade, ...]  # newest first
    health: Health
    events: tuple[str, ...]  # recent loss/duplicate/restart/malformed reports, oldest first
    bars: tuple[tuple[str, tuple[Candle, ...]], ...] = ()  # per contract, its session's 1-minute bars so far
