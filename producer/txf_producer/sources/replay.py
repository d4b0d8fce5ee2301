"""Replay a quote recording (recording/) as a `Source`.

Quotes are rebuilt as real `TickFOPv1` / `BidAskFOPv1` objects and delivered through the one feed
loop (sources/feed.py) with their recorded receive times, so a replayed record carries the same
bytes as the live one (its sequence and run id aside): paced by the recorded receive times
(`speed` 1.0 = as recorded, 10 = ten times faster, `max_gap_s` caps long silences such as the
break between sessions) or as fast as possible (`speed` None or 0).

Events: Connected, Subscribed with the recorded subscriptions, quotes, Subscribed(roll=True) for
subscription records met later, and EndOfFeed at the end (`complete` False after a SourceFault
when the file is truncated or corrupt: every complete record before the damage is delivered).
With `replay_events`, recorded Disconnected / Reconnected / SourceFault events are re-emitted in
place, with their recorded times.

A recording whose header names no subscriptions (made by the live source before it reported
them) still replays: they are taken from its subscription records and Subscribed events, else
each contract code is named by the exchange calendar on its quotes' own date (the near month is
TXFR1, the next TXFR2), else by itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import msgpack

from txf_kit import calendar
from txf_producer.recording.format import (
    KIND_BIDASK,
    KIND_EVENT,
    KIND_SUBSCRIPTIONS,
    KIND_TICK,
    RecordingError,
    RecordingHeader,
    event_from_wire,
    subs_from_wire,
)
from txf_producer.recording.reader import RecordingReader
from txf_producer.sources.base import QuoteSink, QuoteType, Source, SourceError, Subscription
from txf_producer.sources.events import (
    Connected,
    Disconnected,
    EndOfFeed,
    Reconnected,
    SourceEvent,
    SourceFault,
    Subscribed,
)
from txf_producer.sources.feed import EVENT, Item, Pacer, deliver

log = logging.getLogger(__name__)

__all__ = ["ReplaySource", "infer_subscriptions"]

_REPLAYED = (Disconnected, Reconnected, SourceFault)


def _calendar_alias(code: str, date_text: str, time_text: str) -> str:
    """TXFR1 if `code` was the near month when the quote was made, TXFR2 if the next, else the code."""
    try:
        t_ns = calendar.taipei_naive_to_ns(datetime.fromisoformat(f"{date_text}T{time_text}"))
    except (TypeError, ValueError):
        return code
    session = calendar.session_at(t_ns, include_preopen=True) or calendar.next_session(t_ns)
    near, far = calendar.contract_codes(session)
    return {near: "TXFR1", far: "TXFR2"}.get(code, code)


def infer_subscriptions(path: str | os.PathLike[str]) -> list[Subscription]:
    """Subscriptions of a recording whose header has none (a full pass over its records)."""
    declared: dict[Subscription, None] = {}
    seen: dict[tuple[str, QuoteType], str] = {}  # (code, type) -> its alias by the calendar
    try:
        with RecordingReader(path) as r:
            for kind, t, payload in r.records():
                if kind == KIND_SUBSCRIPTIONS:
                    declared.update(dict.fromkeys(subs_from_wire(payload)))
                elif kind == KIND_EVENT:
                    event = event_from_wire(payload, t)
                    if isinstance(event, Subscribed):
                        declared.update(dict.fromkeys(event.subscriptions))
                elif kind in (KIND_TICK, KIND_BIDASK):
                    key = (str(payload[0]), QuoteType.TICK if kind == KIND_TICK else QuoteType.BIDASK)
                    if key not in seen:  # the quote's own exchange date says which month it was
                        seen[key] = _calendar_alias(key[0], payload[1], payload[2])
    except (RecordingError, ValueError) as e:
        log.warning("replay: scanning %s for subscriptions stopped: %s", path, e)
    if declared:
        return list(declared)
    return [Subscription(alias, code, qt) for (code, qt), alias in seen.items()]


class ReplaySource(Source):
    """A `Source` that plays back a recording file.

    `speed`: 1.0 recorded pace, N times faster, None/0 full speed. `max_gap_s`: longer recorded
    silences are shortened to this (paced mode). `max_messages`: stop after this many quotes
    (EndOfFeed). `replay_events`: re-emit recorded connection events.
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
        self.sent = 0  # quotes delivered
        self.error: RecordingError | None = None
        self.done = threading.Event()  # set when the feed thread has ended
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader: RecordingReader | None = None

    async def start(self, sink: QuoteSink) -> list[Subscription]:
        if self._thread is not None:
            raise SourceError("replay source: already started (make a new ReplaySource)")
        loop = asyncio.get_running_loop()
        reader = await loop.run_in_executor(None, RecordingReader, self.path)  # RecordingError is a SourceError
        self._reader = reader
        self.header = header = reader.header
        subs = list(header.subscriptions)
        if not subs:
            subs = await loop.run_in_executor(None, infer_subscriptions, self.path)
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

    # ------------------------------------------------------------------ the feed thread
    def _event(self, sink: QuoteSink, event: SourceEvent) -> None:
        try:
            sink.on_event(event)
        except Exception:  # noqa: BLE001
            log.exception("replay: sink.on_event failed")

    def _items(self, reader: RecordingReader, known: set[Subscription]) -> Iterator[Item]:
        """The recording's quotes (packed again for the library) and the events to deliver between them."""
        packb = msgpack.packb
        for kind, t, payload in reader.records():
            if kind <= KIND_BIDASK:
                yield kind, t, packb(payload)
            elif kind == KIND_SUBSCRIPTIONS:
                try:
                    recorded = subs_from_wire(payload)
                except ValueError as e:
                    raise RecordingError(f"recording {self.path}: corrupt record #{reader.records_read}: {e}") from e
                new = tuple(s for s in recorded if s not in known)
                if new:
                    known.update(new)
                    yield EVENT, t, Subscribed(time.time_ns(), new, roll=True, detail="recorded subscription change")
            elif kind == KIND_EVENT and self.replay_events:
                event = event_from_wire(payload, t)
                if isinstance(event, _REPLAYED):
                    yield EVENT, t, event

    def _run(self, sink: QuoteSink, reader: RecordingReader, subs: list[Subscription]) -> None:
        try:
            self._feed(sink, reader, subs)
        except Exception as e:  # noqa: BLE001
            log.exception("replay: feed thread failed")
            self._event(sink, SourceFault(time.time_ns(), f"replay of {self.path} failed: {e!r}"))
        finally:
            reader.close()
            self.done.set()

    def _feed(self, sink: QuoteSink, reader: RecordingReader, subs: list[Subscription]) -> None:
        header = reader.header
        self._event(sink, Connected(time.time_ns(), f"replaying {self.path} (recorded by {header.source or '?'})"))
        self._event(sink, Subscribed(time.time_ns(), tuple(subs)))
        if self.max_messages == 0:
            self._event(sink, EndOfFeed(time.time_ns(), 0, detail="max_messages reached"))
            return
        pacer = None
        if self.speed:
            pacer = Pacer(self.speed, int(self.max_gap_s * 1e9) if self.max_gap_s is not None else None)

        def progress(n: int) -> None:
            self.sent = n

        def bad_quote(_n: int, exc: Exception) -> None:
            raise RecordingError(
                f"recording {self.path}: record #{reader.records_read} is not a valid quote: {exc}"
            ) from exc

        try:
            result = deliver(
                self._items(reader, set(subs)),
                sink,
                stop=self._stop,
                limit=self.max_messages,
                pacer=pacer,
                recorded_receive=True,
                progress=progress,
                on_bad_quote=bad_quote,
                on_sink_error=lambda exc: log.error("replay: sink raised %r", exc),
            )
        except RecordingError as e:
            self.error = e
            log.error("%s", e)
            self._event(sink, SourceFault(time.time_ns(), str(e)))
            self._event(
                sink,
                EndOfFeed(time.time_ns(), self.sent, complete=False, detail=f"recording {self.path} ends early: {e}"),
            )
            return
        if result.ended and (self.max_messages is None or result.delivered < self.max_messages):
            self._event(sink, EndOfFeed(time.time_ns(), result.delivered, detail=f"end of recording {self.path}"))
