"""`--output live`, the consumer's side: remember what a trader looks at, hand snapshots to the screen.

Drawing must never slow consumption (a view drawn inside the consume loop read
253 of 400 msgs/s and let quotes wait 2.4 s at p99, measured). So the handler
methods only keep references (the last book per contract, the last ticks), and
`heartbeat()`, which the consumer loop calls after every batch or empty poll,
builds a small `Snapshot` at most `fps` times a second and offers it to a sink:
the screen process (screen.py), which draws it with `rich` on its own CPU time.
The sink takes a snapshot only when it has finished taking the last one, so a
terminal that cannot keep up (or is stopped) costs frames, never consumption.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Protocol

from txf.v1 import BidAsk, Tick
from txf_consumer.handler import BaseHandler, RecordMeta
from txf_consumer.output import describe_event
from txf_consumer.snapshot import Book, Candle, Health, Latency, Level, Session, Snapshot, Trade
from txf_consumer.staleness import Staleness
from txf_consumer.tracker import LogHistogram, SeqEvent, StreamState, Tracker
from txf_kit.bars import BarBuilder, OpenBar

#: Frames a second: enough to read a moving book, little enough to cost nothing.
DEFAULT_FPS = 4.0
#: Ticks kept for the tape (the screen shows as many as fit).
TAPE_LENGTH = 60
#: Latency percentiles are recomputed this often (each costs ~0.1 ms per histogram).
LATENCY_EVERY_S = 1.0
#: 1-minute bars kept per contract for the chart (a session has at most 600)
CHART_BARS = 120
#: how late a trade may come and still be drawn in its minute (the chart is a picture, not the record)
CHART_GRACE_NS = 60_000_000_000


class SnapshotSink(Protocol):
    """Where snapshots go (the screen process, or a test's list)."""

    def ready(self) -> bool:
        """True when a snapshot offered now would be taken at once, without waiting."""

    def send(self, snapshot: Snapshot) -> None:
        """Take a snapshot (only called after ready())."""


class LiveView(BaseHandler):
    """Handler of the live view: the last book and session per contract, the tape, loss and latency."""

    def __init__(
        self,
        tracker: Tracker,
        sink: SnapshotSink,
        fps: float = DEFAULT_FPS,
        malformed: Callable[[], int] = lambda: 0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.tracker = tracker
        self.sink = sink
        self.interval_s = 1.0 / fps
        self._malformed = malformed
        self._clock = clock
        self._wall_clock = wall_clock
        self._next_frame = 0.0
        self.books: dict[str, BidAsk] = {}
        self.last_ticks: dict[str, Tick] = {}
        self.tape: collections.deque[Tick] = collections.deque(maxlen=TAPE_LENGTH)
        self.events: collections.deque[str] = collections.deque(maxlen=6)
        self._counts: collections.deque[tuple[float, int]] = collections.deque()  # (clock, messages) for the rate
        self._latency: tuple[Latency, ...] = ()
        self._latency_at = float("-inf")
        self.staleness = Staleness()
        self._seen_messages = 0
        self.bars = BarBuilder(grace_ns=CHART_GRACE_NS)  # the kit's one definition of a bar
        self.closed_bars: dict[str, collections.deque[OpenBar]] = {}

    def on_tick(self, tick: Tick, meta: RecordMeta) -> None:
        self.tape.append(tick)
        self.last_ticks[tick.code] = tick
        for bar in self.bars.add(tick, ("live", 0), 0).closed:
            self.closed_bars.setdefault(bar.code, collections.deque(maxlen=CHART_BARS)).append(bar)

    def on_bidask(self, bidask: BidAsk, meta: RecordMeta) -> None:
        self.books[bidask.code] = bidask

    def on_malformed_record(self, text: str) -> None:
        """Show a malformed-record report among the recent events."""
        self.events.append(text)

    def on_sequence_event(self, event: SeqEvent, state: StreamState, meta: RecordMeta, seq: int) -> None:
        """Keep the last few loss/duplicate/restart events for the screen."""
        line = describe_event(event, state, meta, seq)
        if line:
            self.events.append(line)

    def heartbeat(self) -> None:
        """Offer a snapshot when a frame is due and the sink can take it at once."""
        now = self._clock()
        if now >= self._next_frame and self.sink.ready():
            self._next_frame = now + self.interval_s
            self.sink.send(self.snapshot(now))

    def snapshot(self, now: float | None = None) -> Snapshot:
        """What the screen shows now."""
        now = self._clock() if now is None else now
        return Snapshot(
            self._wall_clock(),
            tuple(_book(b) for _, b in sorted(self.books.items())),
            tuple(_session(t) for _, t in sorted(self.last_ticks.items())),
            tuple(_trade(t) for t in reversed(self.tape)),
            self._health(now),
            tuple(self.events),
            self._candles(),
        )

    def _candles(self) -> tuple[tuple[str, tuple[Candle, ...]], ...]:
        """Per contract, the last CHART_BARS bars of the session of its newest trade (the open ones too)."""
        out = []
        for code, last in sorted(self.last_ticks.items()):
            bars = [
                *self.closed_bars.get(code, ()),
                *sorted((b for b in self.bars.open.values() if b.code == code), key=lambda b: b.end_ns),
            ]
            session = self.bars_session(last.exchange_time_us * 1000)
            kept = [b for b in bars if session is None or b.end_ns > session][-CHART_BARS:]
            out.append((code, tuple(Candle(b.end_ns, b.open, b.high, b.low, b.close, b.volume) for b in kept)))
        return tuple(out)

    def bars_session(self, t_ns: int) -> int | None:
        """The pre-open of the session `t_ns` is in (bars before it belong to an earlier session)."""
        s = self.staleness.calendar.session_at(t_ns, include_preopen=True)
        return s.preopen_ns if s is not None else None

    def _health(self, now: float) -> Health:
        t = self.tracker
        totals = t.totals()
        counts = self._counts
        counts.append((now, t.messages))
        while len(counts) > 2 and now - counts[1][0] >= 1.0:  # keep the oldest point still >= 1 s back
            counts.popleft()
        first_t, first_n = counts[0]
        rate = (t.messages - first_n) / (now - first_t) if now > first_t else 0.0
        if t.messages != self._seen_messages and t.newest_exchange_us:
            self._seen_messages = t.messages
            self.staleness.observe(t.newest_exchange_us * 1000)
        if now - self._latency_at >= LATENCY_EVERY_S:
            self._latency_at = now
            self._latency = tuple(
                _latency(name, pair.producer, pair.exchange) for name, pair in sorted(t.latency.items())
            )
        return Health(
            t.messages,
            rate,
            totals["lost"],
            totals["gaps"],
            totals["duplicates"],
            totals["reordered"],
            t.producer_restarts,
            self._malformed(),
            self._latency,
            self.staleness.stale_s(),
        )


def _book(b: BidAsk) -> Book:
    return Book(
        b.code,
        tuple(map(Level, b.bid_price, b.bid_volume)),
        tuple(map(Level, b.ask_price, b.ask_volume)),
        b.bid_total_vol,
        b.ask_total_vol,
        b.exchange_time_us,
    )


def _session(t: Tick) -> Session:
    return Session(t.code, t.close, t.open, t.high, t.low, t.price_chg, t.pct_chg, t.total_volume, t.simtrade)


def _trade(t: Tick) -> Trade:
    return Trade(t.exchange_time_us, t.code, t.close, t.volume, t.tick_type)


def _latency(type_name: str, producer: LogHistogram, exchange: LogHistogram) -> Latency:
    p = producer.percentiles((50.0, 99.0))
    e = exchange.percentiles((50.0, 99.0))
    return Latency(type_name, _ms(p[50.0]), _ms(p[99.0]), _ms(producer.max), _ms(e[50.0]), _ms(e[99.0]))


def _ms(ns: int | None) -> float | None:
    return None if ns is None else ns / 1e6
