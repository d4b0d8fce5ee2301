"""`Recorder`: a `QuoteSink` that records every quote and event to a file and forwards it.

The quote callback only pays for a queue put: a writer thread converts the objects with
`quotes.tick_array` / `quotes.bidask_array`, packs them and writes in large buffered chunks, so a
slow or failing disk never blocks the feed. A write error stops recording (see `error`), never the
forwarding.

Subscriptions for the header come from the constructor or from the app's `set_subscriptions()`
(what `source.start()` returned: every stream, resolved). A live session's quotes start flowing
after its first subscribe, before the others return, so when the first quote reaches the writer it
waits up to `header_wait_s` for that complete list (quotes queue meanwhile; the default outlasts
the source's bounded subscribe calls); only past that does it fall back to the streams the
source's `Subscribed` events announced so far. Later changes (rolls) become kind-2 records.
"""

from __future__ import annotations

import gzip
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Union

import msgpack

from txf_producer.quotes import BIDASK_FIELDS, TICK_FIELDS, bidask_array, tick_array
from txf_producer.recording.format import (
    FORMAT_VERSION,
    KIND_BIDASK,
    KIND_EVENT,
    KIND_SUBSCRIPTIONS,
    KIND_TICK,
    MAGIC,
    RecordingError,
    event_to_wire,
    shioaji_version,
    subs_to_wire,
)
from txf_producer.sources.base import QuoteSink, Subscription
from txf_producer.sources.events import SourceEvent, Subscribed

log = logging.getLogger(__name__)

_CLOSE = -1
_CHUNK = 1 << 16
_BATCH = 8192

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]
Item = tuple[int, int, Any]  # (kind, time_ns, object)


class Recorder:
    """Forwards to `inner` (optional) and records every quote and event to `path`.

    `path` is a file path (created/overwritten) or a binary file object (not closed by the
    recorder). `compress` gzips the file at `compresslevel` (6: ~26 bytes per quote, 1: ~32,
    uncompressed ~153). The writer flushes at least every `flush_interval_s` so a crash loses
    little. If more than `max_pending` records wait for the writer, new ones are dropped and
    counted in `dropped`. `clock` stamps subscription changes (UTC ns). `close()` flushes and
    joins the writer (idempotent); the recorder is also a context manager.
    """

    def __init__(
        self,
        path: PathOrFile,
        inner: QuoteSink | None = None,
        *,
        subscriptions: Sequence[Subscription] | None = None,
        source: str = "",
        compress: bool = True,
        compresslevel: int = 6,
        flush_interval_s: float = 1.0,
        header_wait_s: float = 60.0,
        max_pending: int = 2_000_000,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.path = path
        self.name = str(getattr(path, "name", path))
        self.inner = inner
        self.source = source
        self.flush_interval_s = flush_interval_s
        self.header_wait_s = header_wait_s
        self.max_pending = max_pending
        self.clock = clock
        self.start_time_ns = time.time_ns()
        self.recorded = 0  # records written (quotes and others)
        self.quotes = 0  # quote records written
        self.dropped = 0  # records not written (queue full, after close, writer failed)
        self.bytes_written = 0  # bytes before compression, header included
        self.error: BaseException | None = None
        self.header_subscriptions: tuple[Subscription, ...] = ()

        self._given: tuple[Subscription, ...] = tuple(subscriptions or ())  # constructor / set_subscriptions
        self._announced: dict[Subscription, None] = {}  # from Subscribed events (non-roll)
        self._subs_known = threading.Event()
        if self._given:
            self._subs_known.set()
        self._q: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._closed = False
        self._failed = False
        self._lock = threading.Lock()
        self._raw, self._out, self._owns_raw = self._open(compress, compresslevel)
        self._thread = threading.Thread(target=self._run, name="txf-recorder", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the sink side (quote thread)
    def _put(self, kind: int, time_ns: int, item: Any) -> None:
        if self._closed or self._failed or self._q.qsize() >= self.max_pending:
            self.dropped += 1
            return
        self._q.put((kind, time_ns, item))

    def on_tick(self, quote: Any, receive_ns: int) -> None:
        self._put(KIND_TICK, receive_ns, quote)
        if self.inner is not None:
            self.inner.on_tick(quote, receive_ns)

    def on_bidask(self, quote: Any, receive_ns: int) -> None:
        self._put(KIND_BIDASK, receive_ns, quote)
        if self.inner is not None:
            self.inner.on_bidask(quote, receive_ns)

    def on_event(self, event: SourceEvent) -> None:
        self._put(KIND_EVENT, event.time_ns, event)
        if self.inner is not None:
            self.inner.on_event(event)

    def set_subscriptions(self, subscriptions: Sequence[Subscription]) -> None:
        """The source's resolved subscriptions: the first set goes into the header (if it is not written
        yet: the writer may be waiting for it), any other into a kind-2 record."""
        subs = tuple(subscriptions)
        with self._lock:
            if not self._given:
                self._given = subs
        self._subs_known.set()
        self._put(KIND_SUBSCRIPTIONS, self.clock(), subs)

    def close(self, timeout: float | None = 30.0) -> None:
        """Write everything queued, close the file, join the writer. Idempotent."""
        with self._lock:
            already, self._closed = self._closed, True
        if not already:
            self._q.put((_CLOSE, 0, None))
            self._subs_known.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the writer thread
    def _open(self, compress: bool, level: int) -> tuple[BinaryIO, gzip.GzipFile | BinaryIO, bool]:
        """The raw file and the stream written to (gzip over it, or itself); errors as RecordingError."""
        try:
            if isinstance(self.path, (str, os.PathLike)):
                raw: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - closed by the writer
                owns = True
            else:
                raw, owns = self.path, False
            out: gzip.GzipFile | BinaryIO = (
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, filename="", mtime=0) if compress else raw
            )
        except OSError as e:
            raise RecordingError(f"recorder: cannot open {self.name}: {e}") from e
        return raw, out, owns

    def _subscriptions_now(self) -> tuple[Subscription, ...]:
        return self._given or tuple(self._announced)

    def _wait_for_subscriptions(self, since: float) -> None:
        """Until the complete list is given (constructor or set_subscriptions), or header_wait_s passed."""
        if not self._given:
            self._subs_known.wait(max(0.0, since + self.header_wait_s - time.monotonic()))

    def _header(self) -> bytes:
        self.header_subscriptions = self._subscriptions_now()
        header: bytes = msgpack.packb(
            {
                "format": FORMAT_VERSION,
                "shioaji": shioaji_version(),
                "start_time_ns": self.start_time_ns,
                "source": self.source,
                "subscriptions": subs_to_wire(self.header_subscriptions),
                "tick_fields": list(TICK_FIELDS),
                "bidask_fields": list(BIDASK_FIELDS),
            }
        )
        return MAGIC + header

    def _run(self) -> None:
        writer = _Writer(self)
        try:
            writer.run()
        except BaseException as e:  # noqa: BLE001 - disk full, I/O error: stop recording, keep forwarding
            self.error = e
            self._failed = True
            self.dropped += writer.pending_quotes
            log.error("recorder: writing %s failed, recording stopped: %r", self.name, e)
            try:
                self._finish()
            except Exception:  # noqa: BLE001
                pass
            while True:  # count what was queued and will never be written
                try:
                    kind, _t, _o = self._q.get_nowait()
                except queue.Empty:
                    break
                if kind != _CLOSE:
                    self.dropped += 1

    def _finish(self) -> None:
        out, raw = self._out, self._raw
        if out is not raw:
            out.close()  # writes the gzip trailer; does not close raw
        else:
            out.flush()
        if self._owns_raw:
            raw.close()


class _Writer:
    """The writer thread's state: the pending buffer, the header, the flush clock."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.buf = bytearray()
        self.pending_records = 0
        self.pending_quotes = 0
        self.early_events: list[Item] = []  # events that came before the header
        self.header_written = False
        self.dirty = False
        self.created = self.last_flush = time.monotonic()
        self.pack = msgpack.Packer(default=str).pack

    def run(self) -> None:
        rec = self.rec
        closing = False
        while not closing:
            batch = self.next_batch()
            for item in batch:
                if item[0] == _CLOSE:
                    closing = True
                else:
                    self.take(item)
            if len(self.buf) >= _CHUNK or (self.buf and (closing or not batch)):
                self.write()
            now = time.monotonic()
            if self.dirty and (closing or now - self.last_flush >= rec.flush_interval_s):
                rec._out.flush()
                self.last_flush, self.dirty = now, False
        if not self.header_written:
            self.write_header()
        self.write()
        rec._finish()

    def next_batch(self) -> list[Item]:
        """Up to _BATCH items: waits up to the flush interval for the first."""
        q = self.rec._q
        try:
            batch = [q.get(timeout=self.rec.flush_interval_s)]
        except queue.Empty:
            return []
        while len(batch) < _BATCH:
            try:
                batch.append(q.get_nowait())
            except queue.Empty:
                break
        return batch

    def take(self, item: Item) -> None:
        """One queued item: encoded now, or (before the header) remembered for it."""
        kind, _t, obj = item
        rec = self.rec
        if self.header_written:
            self.encode(item)
        elif kind == KIND_SUBSCRIPTIONS:
            self.early_events.append(item)  # a kind-2 record after the header, unless the header holds it
        elif kind == KIND_EVENT:
            if isinstance(obj, Subscribed) and not obj.roll:
                rec._announced.update(dict.fromkeys(obj.subscriptions))
            self.early_events.append(item)
        else:  # the first quote: the header goes first
            rec._wait_for_subscriptions(self.created)
            self.write_header()
            self.encode(item)

    def write_header(self) -> None:
        self.buf.extend(self.rec._header())
        self.header_written = True
        for item in self.early_events:
            self.encode(item)
        self.early_events.clear()

    def encode(self, item: Item) -> None:
        kind, t, obj = item
        try:
            if kind == KIND_TICK:
                data = self.pack([KIND_TICK, t, tick_array(obj)])
            elif kind == KIND_BIDASK:
                data = self.pack([KIND_BIDASK, t, bidask_array(obj)])
            elif kind == KIND_SUBSCRIPTIONS:
                if tuple(obj) == self.rec.header_subscriptions:
                    return
                data = self.pack([KIND_SUBSCRIPTIONS, t, subs_to_wire(obj)])
            else:
                data = self.pack([KIND_EVENT, t, event_to_wire(obj)])
        except Exception as e:  # noqa: BLE001 - one bad object must not stop the recording
            self.rec.dropped += 1
            log.error("recorder: cannot encode a kind-%s record: %r", kind, e)
            return
        self.buf.extend(data)
        self.pending_records += 1
        self.pending_quotes += kind <= KIND_BIDASK

    def write(self) -> None:
        rec = self.rec
        if not self.buf:
            return
        rec._out.write(self.buf)
        rec.bytes_written += len(self.buf)
        rec.recorded += self.pending_records
        rec.quotes += self.pending_quotes
        self.buf.clear()
        self.pending_records = self.pending_quotes = 0
        self.dirty = True
