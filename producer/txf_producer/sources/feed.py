"""The one delivery loop of the offline sources: packed quotes -> real Shioaji objects -> the sink.

The simulator (in its own thread, or fed by its generator process) and the replay of a recording
all deliver the same way a live session does: a real `TickFOPv1`/`BidAskFOPv1` built with the
library's own `from_msgpack`, handed to the sink from a background thread. Only where the items
come from, how they are paced and which receive time they carry differ, so those are parameters
and the loop exists once.

Items are `(kind, time_ns, payload)` tuples (tuples, not objects: this runs once per quote):
  kind TICK / BIDASK  payload = the quote's msgpack array, packed; time_ns = its pacing time
  kind EVENT          payload = a typed source event, delivered in order with the quotes
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shioaji import BidAskFOPv1, TickFOPv1

from txf_producer.quotes import BIDASK, TICK
from txf_producer.sources.base import QuoteSink
from txf_producer.sources.events import EndOfFeed

EVENT = 2  # an item that is a typed source event, not a quote

__all__ = ["BIDASK", "EVENT", "TICK", "FeedResult", "Item", "Pacer", "deliver"]

Item = tuple[int, int, Any]


class Pacer:
    """Wall-clock pacing by item time: `speed` x real time, long silences cut to `max_gap_ns`.

    `skipped_ns()` reports time the item source itself jumped over (the simulator's closed
    periods), which is never waited for.
    """

    def __init__(self, speed: float, max_gap_ns: int | None = None, skipped_ns: Callable[[], int] = lambda: 0) -> None:
        self.speed = speed
        self.max_gap_ns = max_gap_ns
        self._skipped_ns = skipped_ns
        self._wall0 = time.monotonic()
        self._t0: int | None = None
        self._prev = 0
        self._cut = 0  # silence removed by max_gap_ns

    def delay_s(self, t_ns: int) -> float:
        """Seconds to wait before delivering an item of time `t_ns` (<= 0: now)."""
        if self._t0 is None:
            self._t0 = self._prev = t_ns
        if self.max_gap_ns is not None and t_ns - self._prev > self.max_gap_ns:
            self._cut += t_ns - self._prev - self.max_gap_ns
        self._prev = t_ns
        due = (t_ns - self._t0 - self._cut - self._skipped_ns()) / 1e9 / self.speed
        return self._wall0 + due - time.monotonic()


class AnchoredPacer(Pacer):
    """Pacing of a capture leg: item time t is due at anchor + (t - start - skipped) / speed on the wall
    clock, never before the previous item (a connection is FIFO). `skipped` is the closed time the
    market jumped over before t: the same for every leg of one market, so a compressed day (nights
    after the close, weekends) is not waited through, and the legs stay in step."""

    def __init__(self, speed: float, anchor_ns: int, start_ns: int, skipped_ns: Callable[[], int] = lambda: 0) -> None:
        super().__init__(speed, skipped_ns=skipped_ns)
        self.anchor_ns, self.start_ns = anchor_ns, start_ns
        self._last_due_ns = 0

    def due_ns(self, t_ns: int) -> int:
        return self.anchor_ns + int((t_ns - self.start_ns - self._skipped_ns()) / self.speed)

    def delay_s(self, t_ns: int) -> float:
        due = self._last_due_ns = max(self._last_due_ns, self.due_ns(t_ns))
        return (due - time.time_ns()) / 1e9


@dataclass
class FeedResult:
    """How a feed ended: quotes delivered, and whether it ran out (`ended`) or was stopped."""

    delivered: int
    ended: bool


def deliver(
    items: Iterable[Item],
    sink: QuoteSink,
    *,
    stop: threading.Event,
    limit: int | None = None,
    pacer: Pacer | None = None,
    recorded_receive: bool = False,
    on_sink_error: Callable[[Exception], None],
    on_bad_quote: Callable[[int, Exception], None],
    progress: Callable[[int], None] = lambda n: None,
) -> FeedResult:
    """Deliver `items` until they run out, `limit` quotes were delivered, or `stop` is set.

    A quote's receive time is now (`time.time_ns()`, as a live callback's arrival) or, with
    `recorded_receive`, the item's own time (a recording's recorded arrival). A sink exception
    goes to `on_sink_error` and the feed goes on; a quote the library cannot build goes to
    `on_bad_quote`, which raises to end the feed or returns to skip it. At `limit`, an
    `EndOfFeed` is delivered here; running out is left to the caller to report.
    """
    stopped, wait = stop.is_set, stop.wait
    tick_from, bidask_from = TickFOPv1.from_msgpack, BidAskFOPv1.from_msgpack
    on_tick, on_bidask, on_event = sink.on_tick, sink.on_bidask, sink.on_event
    now_ns = time.time_ns
    n = 0
    for kind, t_ns, payload in items:
        if stopped():
            return FeedResult(n, ended=False)
        if kind == EVENT:
            on_event(payload)
            continue
        if pacer is not None:
            delay = pacer.delay_s(t_ns)
            if delay > 0.001 and wait(delay):
                return FeedResult(n, ended=False)
        try:
            quote = bidask_from(payload) if kind else tick_from(payload)
        except Exception as exc:  # noqa: BLE001 - the library refused the array
            on_bad_quote(n, exc)
            continue
        try:
            if kind:
                on_bidask(quote, t_ns if recorded_receive else now_ns())
            else:
                on_tick(quote, t_ns if recorded_receive else now_ns())
        except Exception as exc:  # noqa: BLE001 - a broken sink must not end the feed
            on_sink_error(exc)
        n += 1
        progress(n)
        if limit is not None and n >= limit:
            on_event(EndOfFeed(now_ns(), n, detail="max_messages reached"))
            return FeedResult(n, ended=True)
    return FeedResult(n, ended=True)
