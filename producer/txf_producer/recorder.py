"""Record live quotes to a compact file, and read such files back (for `ReplaySource`).

`Recorder` wraps a `QuoteSink`: every call is forwarded to the inner sink and
the quote is queued for a writer thread, so the quote callback only pays for
a queue put and a slow or failing disk never blocks it. The writer converts
the objects with `quotes.tick_array` / `quotes.bidask_array`, packs them and
writes in large buffered chunks.

File format, version 1 (optionally the whole file gzip-compressed; readers
detect gzip by its magic bytes):

    b"TXFQREC\\n"                      8 bytes magic
    header                            one msgpack map:
        format: 1, shioaji: "1.7.9", start_time_ns: int (recorder creation, UTC),
        source: str, subscriptions: [[alias, code, quote_type], ...],
        tick_fields: [...], bidask_fields: [...]  (array field order, checked on read)
    records                           msgpack arrays [kind, time_ns, payload]:
        kind 0 tick    payload = tick_array(quote)    time_ns = receive time (UTC ns)
        kind 1 bidask  payload = bidask_array(quote)
        kind 2 subscriptions changed, payload = [[alias, code, quote_type], ...]
        kind 3 source event, payload = [event_kind, detail, data]

Subscriptions in the header come from the constructor, `set_subscriptions()`
(call it with what `source.start()` returned) or the SUBSCRIBED events a source
emits with ``data`` alias/code/quote_type (the simulator and replay do). The
header is written when the first quote reaches the writer; if no
subscriptions are known by then, the writer waits up to `header_wait_s` for
`set_subscriptions()` (quotes queue meanwhile). Later changes become kind-2
records.
"""

from __future__ import annotations

import gzip
import logging
import os
import queue
import threading
import time
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Sequence, Union

import msgpack

from .quotes import BIDASK_FIELDS, TICK_FIELDS, bidask_array, tick_array
from .sources.base import EventKind, QuoteSink, QuoteType, SourceError, SourceEvent, Subscription

log = logging.getLogger(__name__)

__all__ = [
    "MAGIC", "FORMAT_VERSION", "KIND_TICK", "KIND_BIDASK", "KIND_SUBSCRIPTIONS", "KIND_EVENT",
    "Recorder", "RecordingError", "RecordingHeader", "RecordingReader", "open_recording",
]

MAGIC = b"TXFQREC\n"
FORMAT_VERSION = 1
KIND_TICK, KIND_BIDASK, KIND_SUBSCRIPTIONS, KIND_EVENT = 0, 1, 2, 3
_CLOSE = -1
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 16

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO]


def _shioaji_version() -> str:
    try:
        return metadata.version("shioaji")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _subs_wire(subs: Iterable[Subscription]) -> list[list[str]]:
    return [[s.alias, s.code, QuoteType(s.quote_type).value] for s in subs]


def _subs_from_wire(rows: Any) -> tuple[Subscription, ...]:
    if not isinstance(rows, list):
        raise ValueError(f"subscriptions must be a list, got {type(rows).__name__}")
    out = []
    for r in rows:
        if not (isinstance(r, list) and len(r) == 3 and all(isinstance(x, str) for x in r)):
            raise ValueError(f"bad subscription entry {r!r}")
        out.append(Subscription(r[0], r[1], QuoteType(r[2])))
    return tuple(out)


class RecordingError(SourceError):
    """A recording cannot be read: missing, not a recording, unsupported, truncated or corrupt.

    The message names the file and, for record errors, the record number.
    """


@dataclass(frozen=True)
class RecordingHeader:
    format: int
    shioaji_version: str
    start_time_ns: int
    source: str
    subscriptions: tuple[Subscription, ...]


class Recorder:
    """A `QuoteSink` that forwards to `inner` (optional) and records every quote and event to `path`.

    `path` is a file path (created/overwritten) or a binary file object (not
    closed by the recorder). `compress` gzips the file at `compresslevel`
    (6: ~26 bytes per quote, 1: ~32, uncompressed ~153). The writer flushes at least every
    `flush_interval_s` so a crash loses little. If more than `max_pending`
    records wait for the writer, new ones are dropped and counted in
    `dropped`; a write error stops recording (see `error`) but never the
    forwarding. `clock` gives the receive time (UTC ns). `close()` flushes and
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
        header_wait_s: float = 2.0,
        max_pending: int = 2_000_000,
        clock: Any = time.time_ns,
    ) -> None:
        self.path = path
        self.name = str(getattr(path, "name", path))
        self.inner = inner
        self.source = source
        self.compress = compress
        self.compresslevel = compresslevel
        self.flush_interval_s = flush_interval_s
        self.header_wait_s = header_wait_s
        self.max_pending = max_pending
        self.clock = clock
        self.start_time_ns = time.time_ns()
        self.recorded = 0          # records written (quotes and others)
        self.quotes = 0            # quote records written
        self.dropped = 0           # records not written (queue full, after close, writer failed)
        self.bytes_written = 0     # bytes before compression, header included
        self.error: BaseException | None = None
        self.header_subscriptions: tuple[Subscription, ...] = ()

        self._ctor_subs = tuple(subscriptions) if subscriptions else None
        self._first_set: tuple[Subscription, ...] | None = None  # first set_subscriptions() call
        self._queued_subs: tuple[Subscription, ...] | None = None  # latest subscriptions item seen by the writer
        self._from_events: list[Subscription] = []
        self._subs_known = threading.Event()
        if self._ctor_subs:
            self._subs_known.set()
        self._q: queue.SimpleQueue[tuple[int, int, Any]] = queue.SimpleQueue()
        self._closed = False
        self._failed = False
        self._lock = threading.Lock()
        self._raw: BinaryIO | None = None
        self._out: BinaryIO | None = None
        self._owns_raw = False
        self._open()  # open errors surface here, in the caller, as RecordingError
        self._thread = threading.Thread(target=self._run, name="txf-recorder", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the sink side (quote thread)
    def _put(self, kind: int, item: Any) -> None:
        if self._closed or self._failed or self._q.qsize() >= self.max_pending:
            self.dropped += 1
            return
        self._q.put((kind, self.clock(), item))

    def on_tick(self, quote: Any) -> None:
        self._put(KIND_TICK, quote)
        if self.inner is not None:
            self.inner.on_tick(quote)

    def on_bidask(self, quote: Any) -> None:
        self._put(KIND_BIDASK, quote)
        if self.inner is not None:
            self.inner.on_bidask(quote)

    def on_event(self, event: SourceEvent) -> None:
        self._put(KIND_EVENT, event)
        if self.inner is not None:
            self.inner.on_event(event)

    def set_subscriptions(self, subscriptions: Sequence[Subscription]) -> None:
        """The source's resolved subscriptions (what `start()` returned): goes into the header, or a kind-2 record."""
        subs = tuple(subscriptions)
        with self._lock:
            if self._first_set is None:
                self._first_set = subs
        self._put(KIND_SUBSCRIPTIONS, subs)
        self._subs_known.set()

    def close(self, timeout: float | None = 30.0) -> None:
        """Write everything queued, close the file, join the writer. Idempotent."""
        with self._lock:
            if self._closed:
                already = True
            else:
                already = False
                self._closed = True
        if not already:
            self._q.put((_CLOSE, 0, None))
            self._subs_known.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the writer thread
    def _open(self) -> None:
        try:
            if isinstance(self.path, (str, os.PathLike)):
                self._raw = open(self.path, "wb")  # noqa: SIM115 - closed by the writer
                self._owns_raw = True
            else:
                self._raw = self.path
            if self.compress:
                self._out = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=self.compresslevel,
                                          filename="", mtime=0)
            else:
                self._out = self._raw
        except OSError as e:
            raise RecordingError(f"recorder: cannot open {self.name}: {e}") from e

    def _header(self) -> bytes:
        subs = (self._queued_subs or self._ctor_subs or self._first_set
                or tuple(dict.fromkeys(self._from_events)))
        self.header_subscriptions = subs
        header = {
            "format": FORMAT_VERSION,
            "shioaji": _shioaji_version(),
            "start_time_ns": self.start_time_ns,
            "source": self.source,
            "subscriptions": _subs_wire(subs),
            "tick_fields": list(TICK_FIELDS),
            "bidask_fields": list(BIDASK_FIELDS),
        }
        return MAGIC + msgpack.packb(header)

    def _encode(self, item: tuple[int, int, Any], pack: Any) -> bytes | None:
        kind, t, obj = item
        if kind == KIND_TICK:
            return pack([KIND_TICK, t, tick_array(obj)])
        if kind == KIND_BIDASK:
            return pack([KIND_BIDASK, t, bidask_array(obj)])
        if kind == KIND_SUBSCRIPTIONS:
            if tuple(obj) == self.header_subscriptions:
                return None
            return pack([KIND_SUBSCRIPTIONS, t, _subs_wire(obj)])
        ev: SourceEvent = obj
        return pack([KIND_EVENT, t, [EventKind(ev.kind).value, ev.detail, dict(ev.data)]])

    def _note_event(self, ev: SourceEvent) -> None:
        d = ev.data
        if ev.kind == EventKind.SUBSCRIBED and {"alias", "code", "quote_type"} <= d.keys() and not d.get("roll"):
            try:
                self._from_events.append(Subscription(str(d["alias"]), str(d["code"]), QuoteType(d["quote_type"])))
            except ValueError:
                pass

    def _run(self) -> None:
        pack = msgpack.Packer(default=str).pack
        q = self._q
        out = self._out
        assert out is not None
        buf = bytearray()
        pending = [0, 0]                        # records, quotes in `buf` (counted once written)
        pre: list[tuple[int, int, Any]] = []   # events that arrived before the header
        header_done = False
        closing = False
        last_flush = created = time.monotonic()
        dirty = False

        def add(item: tuple[int, int, Any]) -> None:
            try:
                b = self._encode(item, pack)
            except Exception as e:  # noqa: BLE001 - one bad object must not stop the recording
                self.dropped += 1
                log.error("recorder: cannot encode a kind-%s record: %r", item[0], e)
                return
            if b is not None:
                buf.extend(b)
                pending[0] += 1
                pending[1] += item[0] <= KIND_BIDASK

        def header() -> None:
            buf.extend(self._header())
            for p in pre:
                add(p)
            pre.clear()

        def write() -> None:
            out.write(buf)
            self.bytes_written += len(buf)
            self.recorded += pending[0]
            self.quotes += pending[1]
            buf.clear()
            pending[0] = pending[1] = 0

        try:
            while not closing:
                try:
                    batch = [q.get(timeout=self.flush_interval_s)]
                except queue.Empty:
                    batch = []
                while len(batch) < 8192:
                    try:
                        batch.append(q.get_nowait())
                    except queue.Empty:
                        break
                for item in batch:
                    kind = item[0]
                    if kind == _CLOSE:
                        closing = True
                    elif header_done:
                        add(item)
                    elif kind == KIND_SUBSCRIPTIONS:
                        self._queued_subs = tuple(item[2])
                    elif kind == KIND_EVENT:
                        self._note_event(item[2])
                        pre.append(item)
                    else:  # the first quote: the header goes first
                        if not (self._queued_subs or self._ctor_subs or self._first_set or self._from_events):
                            self._subs_known.wait(max(0.0, created + self.header_wait_s - time.monotonic()))
                        header()
                        header_done = True
                        add(item)
                if len(buf) >= _CHUNK or (buf and (closing or not batch)):
                    write()
                    dirty = True
                now = time.monotonic()
                if dirty and (closing or now - last_flush >= self.flush_interval_s):
                    out.flush()
                    last_flush, dirty = now, False
            if not header_done:
                header()
            if buf:
                write()
            self._finish()
        except BaseException as e:  # noqa: BLE001 - disk full, I/O error: stop recording, keep forwarding
            self.error = e
            self._failed = True
            self.dropped += pending[1]
            log.error("recorder: writing %s failed, recording stopped: %r", self.name, e)
            try:
                self._finish()
            except Exception:  # noqa: BLE001
                pass
            while True:  # count what was queued and will never be written
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    break
                if item[0] != _CLOSE:
                    self.dropped += 1

    def _finish(self) -> None:
        out, raw = self._out, self._raw
        self._out = None
        if out is not None:
            if out is not raw:
                out.close()  # writes the gzip trailer; does not close raw
            else:
                out.flush()
        if raw is not None and self._owns_raw:
            raw.close()


# ====================================================================== reading
class RecordingReader:
    """Reads a recording: `header` on open, then `records()` yields ``(kind, time_ns, payload)``.

    Every problem raises `RecordingError` naming the file: not a recording,
    unsupported version or field order, truncated, or corrupt at record N.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.records_read = 0
        self._fed = 0
        self._unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        try:
            self._raw: BinaryIO = open(self.path, "rb")  # noqa: SIM115
        except OSError as e:
            raise RecordingError(f"recording {self.path}: cannot open: {e.strerror or e}") from e
        try:
            head = self._raw.read(2)
            self._raw.seek(0)
            self.compressed = head == _GZIP_MAGIC
            self._in: BinaryIO = gzip.GzipFile(fileobj=self._raw, mode="rb") if self.compressed else self._raw
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise

    def _err(self, what: str) -> RecordingError:
        return RecordingError(f"recording {self.path}: {what}")

    def _read(self, n: int) -> bytes:
        try:
            return self._in.read1(n)  # read1: a truncated gzip must not swallow the data before the damage
        except EOFError as e:
            raise self._err(f"truncated (compressed stream ends early) after {self.records_read} records") from e
        except (OSError, zlib.error) as e:
            raise self._err(f"corrupt compressed data after {self.records_read} records: {e}") from e

    def _read_header(self) -> RecordingHeader:
        magic = self._read(len(MAGIC))
        if magic != MAGIC:
            raise self._err(f"not a txfstream quote recording (magic {magic[:8]!r}, expected {MAGIC!r})")
        self._fed = len(MAGIC)
        header = self._next_object("header")
        if header is None:
            raise self._err("truncated: the header is incomplete")
        if not isinstance(header, dict):
            raise self._err(f"corrupt header (a {type(header).__name__}, expected a map)")
        fmt = header.get("format")
        if fmt != FORMAT_VERSION:
            raise self._err(f"unsupported format version {fmt!r} (this reader reads {FORMAT_VERSION})")
        if list(header.get("tick_fields", TICK_FIELDS)) != list(TICK_FIELDS) or list(
            header.get("bidask_fields", BIDASK_FIELDS)
        ) != list(BIDASK_FIELDS):
            raise self._err(
                f"recorded with another quote field order (shioaji {header.get('shioaji')!r}); "
                f"the installed shioaji {_shioaji_version()} cannot rebuild its quotes"
            )
        try:
            subs = _subs_from_wire(header.get("subscriptions", []))
            return RecordingHeader(int(fmt), str(header.get("shioaji", "")), int(header.get("start_time_ns", 0)),
                                   str(header.get("source", "")), subs)
        except (TypeError, ValueError) as e:
            raise self._err(f"corrupt header: {e}") from e

    def _next_object(self, what: str) -> Any:
        """The next msgpack object, or None at a clean end of file."""
        unp = self._unpacker
        while True:
            try:
                return next(unp)
            except StopIteration:
                pass
            except Exception as e:  # noqa: BLE001 - msgpack raises several types on bad bytes
                raise self._err(
                    f"corrupt {what} at byte {self._fed_pos()} of the {'decompressed ' if self.compressed else ''}"
                    f"stream: {type(e).__name__}: {e}"
                ) from e
            chunk = self._read(_CHUNK)
            if not chunk:
                left = self._fed - len(MAGIC) - unp.tell()
                if left:
                    raise self._err(
                        f"truncated: {left} bytes at the end do not form a complete {what} "
                        f"(after {self.records_read} complete records)"
                    )
                return None
            unp.feed(chunk)
            self._fed += len(chunk)

    def _fed_pos(self) -> int:
        return len(MAGIC) + self._unpacker.tell()

    def records(self) -> Iterator[tuple[int, int, Any]]:
        """Validated records ``(kind, time_ns, payload)`` in file order; RecordingError on a bad one."""
        nt, nb = len(TICK_FIELDS), len(BIDASK_FIELDS)
        while True:
            n = self.records_read + 1
            rec = self._next_object(f"record #{n}")
            if rec is None:
                return
            if not (isinstance(rec, list) and len(rec) == 3 and type(rec[0]) is int and type(rec[1]) is int):
                raise self._err(f"corrupt record #{n}: not [kind, time_ns, payload]: {str(rec)[:80]}")
            kind, _, payload = rec
            ok = isinstance(payload, list) and (
                (kind == KIND_TICK and len(payload) == nt)
                or (kind == KIND_BIDASK and len(payload) == nb)
                or kind == KIND_SUBSCRIPTIONS
                or (kind == KIND_EVENT and len(payload) == 3)
            )
            if not ok:
                raise self._err(f"corrupt record #{n}: kind {kind!r} with payload {str(payload)[:80]}")
            self.records_read = n
            yield kind, rec[1], payload

    def close(self) -> None:
        for f in (getattr(self, "_in", None), getattr(self, "_raw", None)):
            if f is not None:
                try:
                    f.close()
                except Exception:  # noqa: BLE001
                    pass

    def __enter__(self) -> "RecordingReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_recording(path: str | os.PathLike[str]) -> RecordingReader:
    """Open a recording and read its header (RecordingError if it is not a readable recording)."""
    return RecordingReader(path)

