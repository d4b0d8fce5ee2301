"""Replay a quote recording (see `txf_producer.recorder`) as a `Source`.

Quotes are rebuilt as real `TickFOPv1` / `BidAskFOPv1` objects (the same
`from_msgpack` path as `quotes.tick_from_array`) and delivered from a
background thread, either paced by the recorded receive times (`speed` 1.0 =
as recorded, 10 = ten times faster, `max_gap_s` caps long silences such as
the break between sessions) or as fast as possible (`speed` None or 0).

Events: CONNECTED, SUBSCRIBED per recorded subscription (``data`` alias,
code, quote_type), quotes, SUBSCRIBED (``data["roll"]``) for subscription
records met later, and END_OF_FEED at the end (``data["complete"]`` False
after an ERROR event when the file is truncated or corrupt: every complete
record before the damage is delivered). With `replay_events`, recorded
DISCONNECTED / RECONNECTED / ERROR events are re-emitted in place
(``data["recorded_time_ns"]``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import msgpack
from shioaji import BidAskFOPv1, TickFOPv1

from ..recorder import (
    KIND_BIDASK, KIND_EVENT, KIND_SUBSCRIPTIONS, KIND_TICK, RecordingError, RecordingHeader, RecordingReader,
    _subs_from_wire,
)
from .base import EventKind, QuoteSink, QuoteType, Source, SourceError, SourceEvent, Subscription

log = logging.getLogger(__name__)

__all__ = ["ReplaySource"]

_REPLAYED_EVENTS = {EventKind.DISCONNECTED.value, EventKind.RECONNECTED.value, EventKind.ERROR.value}


class ReplaySource(Source):
    """A `Source` that plays back a recording file.

    `speed`: 1.0 recorded pace, N times faster, None/0 full speed. `max_gap_s`:
    longer recorded silences are shortened to this (paced mode). `max_messages`:
    stop after this many quotes (END_OF_FEED). `replay_events`: re-emit recorded
    connection events.
    """

    name = "replay"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        speed: float | None = 1.0,
        max_gap_s: float | None = None,
        max_messages: int | None = None,
        replay_events: bool = False,
    ) -> None:
        if speed is not None and speed < 0:
            raise ValueError("ReplaySource: speed must be >= 0 (0/None = full speed)")
        self.path = Path(path)
        self.speed = speed or 0.0
        self.max_gap_s = max_gap_s
        self.max_messages = max_messages
        self.replay_events = replay_events
        self.header: RecordingHeader | None = None
        self.sent = 0                          # quotes delivered
        self.error: RecordingError | None = None
        self.done = threading.Event()          # set when the feed thread has ended
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: RecordingReader | None = None

    async def start(self, sink: QuoteSink) -> list[Subscription]:
        if self._thread is not None:
            raise SourceError("replay source: already started (make a new ReplaySource)")
        loop = asyncio.get_running_loop()
        reader = await loop.run_in_executor(None, RecordingReader, self.path)  # RecordingError is a SourceError
        self._reader = reader
        self.header = reader.header
        subs = list(reader.header.subscriptions)
        if not subs:
            subs = await loop.run_in_executor(None, self._scan_subscriptions)
        self._thread = threading.Thread(target=self._run, args=(sink, reader, subs), name="txf-replay", daemon=True)
        self._thread.start()
        return subs

    async def stop(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None and t.is_alive() and t is not threading.current_thread():
            await asyncio.get_running_loop().run_in_executor(None, t.join, 10.0)
        elif t is None and self._reader is not None:
            self._reader.close()

    def _scan_subscriptions(self) -> list[Subscription]:
        """Recording without subscriptions in its header: take them from the records (a full pass)."""
        found: dict[Subscription, None] = {}
        seen: dict[tuple[str, QuoteType], None] = {}
        try:
            with RecordingReader(self.path) as r:
                for kind, _, payload in r.records():
                    if kind == KIND_SUBSCRIPTIONS:
                        found.update(dict.fromkeys(_subs_from_wire(payload)))
                    elif kind == KIND_TICK or kind == KIND_BIDASK:
                        seen[(str(payload[0]), QuoteType.TICK if kind == KIND_TICK else QuoteType.BIDASK)] = None
        except (RecordingError, ValueError) as e:
            log.warning("replay: scanning %s for subscriptions stopped: %s", self.path, e)
        if found:
            return list(found)
        return [Subscription(code, code, qt) for code, qt in seen]

    # ------------------------------------------------------------------ the feed thread
    def _event(self, sink: QuoteSink, kind: EventKind, detail: str = "", **data: Any) -> None:
        try:
            sink.on_event(SourceEvent(kind, time.time_ns(), detail, data))
        except Exception:  # noqa: BLE001
            log.exception("replay: sink.on_event failed")

    def _run(self, sink: QuoteSink, reader: RecordingReader, subs: list[Subscription]) -> None:
        try:
            self._feed(sink, reader, subs)
        except Exception as e:  # noqa: BLE001
            log.exception("replay: feed thread failed")
            self._event(sink, EventKind.ERROR, f"replay of {self.path} failed: {e!r}")
        finally:
            reader.close()
            self.done.set()

    def _feed(self, sink: QuoteSink, reader: RecordingReader, subs: list[Subscription]) -> None:
        self._event(sink, EventKind.CONNECTED, f"replaying {self.path}", path=str(self.path),
                    recorded_start_ns=reader.header.start_time_ns, source=reader.header.source)
        known = set(subs)
        for s in subs:
            self._event(sink, EventKind.SUBSCRIBED, f"{s.alias} {s.quote_type.value} -> {s.code}",
                        alias=s.alias, code=s.code, quote_type=s.quote_type.value)
        limit = self.max_messages
        if limit == 0:
            self._event(sink, EventKind.END_OF_FEED, "max_messages reached", count=0, complete=True)
            return
        speed = self.speed
        max_gap = int(self.max_gap_s * 1e9) if self.max_gap_s is not None else None
        stopped, wait = self._stop.is_set, self._stop.wait
        packb = msgpack.packb
        tick_from, bidask_from = TickFOPv1.from_msgpack, BidAskFOPv1.from_msgpack
        on_tick, on_bidask = sink.on_tick, sink.on_bidask
        wall0 = time.monotonic()
        t0 = prev = None
        skipped = 0
        n = 0
        try:
            for kind, t, payload in reader.records():
                if stopped():
                    return
                if kind > KIND_BIDASK:
                    if kind == KIND_SUBSCRIPTIONS:
                        try:
                            recorded = _subs_from_wire(payload)
                        except ValueError as e:
                            raise RecordingError(
                                f"recording {self.path}: corrupt record #{reader.records_read}: {e}") from e
                        for s in recorded:
                            if s not in known:
                                known.add(s)
                                self._event(sink, EventKind.SUBSCRIBED, f"{s.alias} {s.quote_type.value} -> {s.code}",
                                            alias=s.alias, code=s.code, quote_type=s.quote_type.value, roll=True)
                    elif kind == KIND_EVENT and self.replay_events and payload[0] in _REPLAYED_EVENTS:
                        data = dict(payload[2]) if isinstance(payload[2], dict) else {}
                        data.update(recorded_time_ns=t, replayed=True)
                        self._event(sink, EventKind(payload[0]), str(payload[1]), **data)
                    continue
                if speed:
                    if t0 is None:
                        t0 = prev = t
                    if max_gap is not None and t - prev > max_gap:
                        skipped += t - prev - max_gap
                    prev = t
                    delay = wall0 + (t - t0 - skipped) / 1e9 / speed - time.monotonic()
                    if delay > 0.001 and wait(delay):
                        return
                try:
                    quote = (bidask_from if kind else tick_from)(packb(payload))
                except Exception as e:  # noqa: BLE001 - shioaji rejects the array
                    raise RecordingError(
                        f"recording {self.path}: record #{reader.records_read} is not a valid "
                        f"{'BidAsk' if kind else 'Tick'}: {e}"
                    ) from e
                try:
                    (on_bidask if kind else on_tick)(quote)
                except Exception as e:  # noqa: BLE001 - a broken sink must not end the replay
                    log.error("replay: sink raised %r", e)
                n += 1
                self.sent = n
                if limit is not None and n >= limit:
                    self._event(sink, EventKind.END_OF_FEED, "max_messages reached", count=n, complete=True)
                    return
        except RecordingError as e:
            self.error = e
            log.error("%s", e)
            self._event(sink, EventKind.ERROR, str(e), path=str(self.path), count=n)
            self._event(sink, EventKind.END_OF_FEED, f"recording {self.path} ends early", count=n,
                        complete=False, error=str(e))
            return
        self._event(sink, EventKind.END_OF_FEED, f"end of recording {self.path}", count=n, complete=True)
