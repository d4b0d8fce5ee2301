"""The simulated TXF market as a `Source`: real Shioaji quote objects from a background thread.

The model is `simulation/market.py`; this delivers it like Shioaji's library thread, through the one
feed loop (sources/feed.py): paced by simulated time (`speed`), at a fixed rate (`rate`), or as fast
as possible, from the market iterated in the feed thread or, for load tests, generated in a child
process (`generator_process`, simulation/generator.py). Pacing never changes the content.

Events: Connected, then Subscribed with every stream, then quotes; Subscribed(roll=True) when a month
code rolls; EndOfFeed after `max_messages` quotes. A sink exception is logged and reported as a
SourceFault (the first 10), and the feed goes on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator

import msgpack

from txf_kit import calendar
from txf_producer.simulation import legs
from txf_producer.simulation.config import DEFAULT_STREAMS, SimConfig
from txf_producer.simulation.generator import ROLL, GeneratorProcess
from txf_producer.simulation.market import SimMarket, default_start_ns
from txf_producer.sources.base import QuoteSink, Source, SourceError, Subscription
from txf_producer.sources.events import Connected, EndOfFeed, SourceEvent, SourceFault, Subscribed
from txf_producer.sources.feed import EVENT, AnchoredPacer, Item, Pacer, deliver

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_STREAMS", "SimConfig", "SimulatedSource"]

_US = 1_000


class SimulatedSource(Source):
    """`Source` delivering the simulated market's real quote objects from a background thread."""

    name = "simulated"

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        start = self.config.start
        self.start_ns = default_start_ns(self.config.holidays) if start is None else calendar.to_ns(start)
        self.sent = 0  # quotes delivered so far
        self.done = threading.Event()  # set when the feed thread has ended
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._market: SimMarket | None = None
        self._errors = 0
        self._generator: GeneratorProcess | None = None

    def subscriptions(self) -> list[Subscription]:
        """The subscriptions `start()` returns (codes of the first simulated session)."""
        m = self._market or SimMarket(self.config, self.start_ns)
        codes = m.codes()
        return [Subscription(a, codes[a], qt) for a, qt in self.config.streams]

    async def start(self, sink: QuoteSink) -> list[Subscription]:
        if self._thread is not None:
            raise SourceError("simulated source: already started (make a new SimulatedSource)")
        try:
            self._market = SimMarket(self.config, self.start_ns)
        except ValueError as e:
            raise SourceError(f"simulated source: cannot start: {e}") from e
        subs = self.subscriptions()
        if self._uses_process():
            gen = self._generator = GeneratorProcess(self.config, self.start_ns, self.config.max_messages)
            if not await asyncio.get_running_loop().run_in_executor(None, gen.wait_ready, 60.0):
                gen.close()
                raise SourceError("simulated source: the generator process sent nothing within 60 s")
        self._thread = threading.Thread(target=self._run, args=(sink, subs), name="txf-sim", daemon=True)
        self._thread.start()
        return subs

    def _uses_process(self) -> bool:
        cfg = self.config
        return cfg.generator_process and not cfg.rate and not cfg.speed and cfg.max_messages != 0 and cfg.end is None

    async def stop(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None and t.is_alive() and t is not threading.current_thread():
            await asyncio.get_running_loop().run_in_executor(None, t.join, 10.0)
        if self._generator is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._generator.close)

    # ------------------------------------------------------------------ the feed thread
    def _event(self, sink: QuoteSink, event: SourceEvent) -> None:
        try:
            sink.on_event(event)
        except Exception:  # noqa: BLE001 - a broken sink must not kill the feed
            log.exception("simulated source: sink.on_event failed")

    def _sink_error(self, sink: QuoteSink, exc: Exception) -> None:
        self._errors += 1
        if self._errors <= 10 or self._errors % 10_000 == 0:
            log.error("simulated source: sink raised %r (%d so far)", exc, self._errors)
        if self._errors <= 10:
            self._event(sink, SourceFault(time.time_ns(), f"sink raised {exc!r} ({self._errors} so far)"))

    def _rolls(self, alias: str, code: str) -> Item:
        subs = tuple(Subscription(alias, code, qt) for a, qt in self.config.streams if a == alias)
        return (EVENT, 0, Subscribed(time.time_ns(), subs, roll=True, detail=f"{alias} rolled to {code}"))

    def _items_in_thread(self, market: SimMarket) -> Iterator[Item]:
        """The market iterated here: its quotes packed, its rolls as events before the quotes after them."""
        packb = msgpack.packb
        events = market.events
        end_us = calendar.to_ns(self.config.end) // _US if self.config.end is not None else None
        for kind, t_us, arr in market:
            if end_us is not None and t_us >= end_us:
                return
            if events:
                for alias, code in events:
                    yield self._rolls(alias, code)
                events.clear()
            yield kind, t_us * _US, packb(arr)

    def _items_of_leg(self, market: SimMarket, pacer: AnchoredPacer) -> Iterator[Item]:
        """A capture leg's share of the market (simulation/legs.py): its drops, its jitter (folded into
        the pacing time), nothing that was due before this leg started."""
        cfg = self.config
        started_ns = time.time_ns()
        jitter_to_sim = (cfg.speed or 1.0) * 1e9
        index = -1  # the quote's place in the market, whatever events come between
        for kind, t_ns, packed in self._items_in_thread(market):
            if kind == EVENT:
                yield kind, t_ns, packed
                continue
            index += 1
            if pacer.due_ns(t_ns) < started_ns or legs.dropped(cfg.leg_seed, cfg.leg_drop, index):
                continue
            yield kind, t_ns + int(legs.jitter_s(cfg.leg_seed, cfg.leg_jitter_ms, index) * jitter_to_sim), packed

    def _items_from_process(self, generator: GeneratorProcess) -> Iterator[Item]:
        for kind, first, second in generator.entries():
            if kind == ROLL:
                yield self._rolls(first, second)
            else:
                yield kind, first * _US, second
        if not self._stop.is_set() and (self.config.max_messages is None or self.sent < self.config.max_messages):
            raise RuntimeError(
                f"the generator process ended early (exit code {generator.exitcode}) after {self.sent} quotes"
            )

    def _run(self, sink: QuoteSink, subs: list[Subscription]) -> None:
        try:
            self._feed(sink, subs)
        except Exception as e:  # noqa: BLE001
            log.exception("simulated source: feed thread failed")
            self._event(sink, SourceFault(time.time_ns(), f"simulated feed failed: {e!r}"))
        finally:
            self.done.set()

    def _feed(self, sink: QuoteSink, subs: list[Subscription]) -> None:
        cfg = self.config
        market = self._market
        assert market is not None
        self._event(sink, Connected(time.time_ns(), f"simulated TXF market, seed {cfg.seed}, start {self.start_ns}"))
        self._event(sink, Subscribed(time.time_ns(), tuple(subs)))
        if cfg.max_messages == 0:
            self._event(sink, EndOfFeed(time.time_ns(), 0, detail="max_messages reached"))
            return
        pacer: Pacer | None = None
        if self._generator is not None:
            items = self._items_from_process(self._generator)
        elif cfg.anchor_ns is not None:
            skipped = (lambda: market.skipped_us * _US) if cfg.skip_closed else (lambda: 0)
            leg_pacer = AnchoredPacer(cfg.speed or 1.0, cfg.anchor_ns, self.start_ns, skipped)
            items, pacer = self._items_of_leg(market, leg_pacer), leg_pacer
        else:
            items = self._items_in_thread(market)
            speed = 1.0 if cfg.rate else (cfg.speed or 0.0)
            pacer = Pacer(speed, skipped_ns=lambda: market.skipped_us * _US) if speed else None

        def progress(n: int) -> None:
            self.sent = n

        def bad_quote(_n: int, exc: Exception) -> None:  # the model wrote an array the library refuses: a bug
            raise RuntimeError(f"the simulator built a quote shioaji refuses: {exc!r}") from exc

        result = deliver(
            items,
            sink,
            stop=self._stop,
            limit=cfg.max_messages,
            pacer=pacer,
            on_sink_error=lambda exc: self._sink_error(sink, exc),
            on_bad_quote=bad_quote,
            progress=progress,
        )
        if cfg.end is not None and result.ended and (cfg.max_messages is None or result.delivered < cfg.max_messages):
            self._event(
                sink, EndOfFeed(time.time_ns(), result.delivered, detail="the simulated market reached --sim-end")
            )
