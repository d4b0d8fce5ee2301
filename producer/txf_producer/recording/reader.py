"""`RecordingReader`: a recording's header, then its records, each validated; `RecordingError` otherwise."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack

from txf_producer.quotes import BIDASK_FIELDS, TICK_FIELDS
from txf_producer.recording.format import (
    FORMAT_VERSION,
    GZIP_MAGIC,
    KIND_BIDASK,
    KIND_EVENT,
    KIND_SUBSCRIPTIONS,
    KIND_TICK,
    MAGIC,
    RecordingError,
    RecordingHeader,
    shioaji_version,
    subs_from_wire,
)

_CHUNK = 1 << 16


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
            self._raw: io.BufferedReader = open(self.path, "rb")  # noqa: SIM115
        except OSError as e:
            raise RecordingError(f"recording {self.path}: cannot open: {e.strerror or e}") from e
        try:
            head = self._raw.read(2)
            self._raw.seek(0)
            self.compressed = head == GZIP_MAGIC
            self._in: gzip.GzipFile | io.BufferedReader = (
                gzip.GzipFile(fileobj=self._raw, mode="rb") if self.compressed else self._raw
            )
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
                f"the installed shioaji {shioaji_version()} cannot rebuild its quotes"
            )
        try:
            subs = subs_from_wire(header.get("subscriptions", []))
            return RecordingHeader(
                int(fmt),
                str(header.get("shioaji", "")),
                int(header.get("start_time_ns", 0)),
                str(header.get("source", "")),
                subs,
            )
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
        position: int = self._unpacker.tell()
        return len(MAGIC) + position

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

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_recording(path: str | os.PathLike[str]) -> RecordingReader:
    """Open a recording and read its header (RecordingError if it is not a readable recording)."""
    return RecordingReader(path)
