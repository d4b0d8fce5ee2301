"""A local file for records Kafka did not take, so nothing accepted is lost.

Three cases end here instead of vanishing: a record still queued when the
shutdown flush bound runs out (purged), a record librdkafka reports as
permanently failed, and a record that found the local queue full for longer
than the bounded wait. Each is appended as one msgpack array
`[topic, key, value, reason, time_ns]`, already framed in the registry wire
format, so `txf-producer respool FILE` can publish it unchanged later.

respool may run while a producer still spools into the same file (the RUNBOOK allows it). So it
first *claims* the file (`claim`: rename it under an exclusive lock), and a writer checks before each
append, under the same lock, that its open file is still the one at the path, opening a new one when
it is not: no record is written into a file after respool took it, where the rename to `.done` would
hide it for good.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgpack


class Spool:
    """Append-only, thread-safe; the file is created on first use only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: object | None = None
        self.count = 0

    def append(self, topic: str, key: bytes | None, value: bytes | None, reason: str) -> None:
        """Store one record durably enough to survive the process (flushed per call)."""
        record = msgpack.packb([topic, key, value, reason, time.time_ns()])
        with self._lock:
            while True:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the process
                fd = self._file.fileno()  # type: ignore[attr-defined]
                fcntl.flock(fd, fcntl.LOCK_EX)  # respool's claim holds it while it renames the file
                if _same_file(fd, self.path):
                    break
                fcntl.flock(fd, fcntl.LOCK_UN)  # claimed by respool meanwhile: a new file at the path
                self._file.close()  # type: ignore[attr-defined]
                self._file = None
            try:
                self._file.write(record)  # type: ignore[attr-defined]
                self._file.flush()  # type: ignore[attr-defined]
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self.count += 1

    def close(self) -> None:
        """Flush to disk and close; safe to call twice."""
        with self._lock:
            if self._file is not None:
                os.fsync(self._file.fileno())  # type: ignore[attr-defined]
                self._file.close()  # type: ignore[attr-defined]
                self._file = None


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def claim(path: Path) -> Path:
    """Take a spool file for republishing: rename it to `<path>.respooling-<UTC time>-<random>` under its lock.

    A producer appending to it meanwhile finishes its record first; its next record goes to a new file
    at `path`, for a later respool. Returns the claimed file's path (FileNotFoundError if none)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    while True:
        with open(path, "rb") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                if not _same_file(f.fileno(), path):  # taken by another respool while this one waited
                    continue
                claimed = path.with_name(f"{path.name}.respooling-{stamp}-{uuid.uuid4().hex[:8]}")
                os.rename(path, claimed)
                return claimed
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def read_spool(path: Path) -> Iterator[tuple[str, bytes | None, bytes | None, str, int]]:
    """Yield (topic, key, value, reason, time_ns) records in the order they were spooled."""
    with open(path, "rb") as f:
        yield from msgpack.Unpacker(f, raw=False)
