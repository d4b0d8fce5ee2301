"""A local file for records Kafka did not take, so nothing accepted is lost.

Three cases end here instead of vanishing: a record still queued when the
shutdown flush bound runs out (purged), a record librdkafka reports as
permanently failed, and a record that found the local queue full for longer
than the bounded wait. Each is appended as one msgpack array
`[topic, key, value, reason, time_ns]`, already framed in the registry wire
format, so `txf-producer respool FILE` can publish it unchanged later.
"""

from __future__ import annotations

import os
import threading
import time
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
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the process
            self._file.write(record)  # type: ignore[attr-defined]
            self._file.flush()  # type: ignore[attr-defined]
            self.count += 1

    def close(self) -> None:
        """Flush to disk and close; safe to call twice."""
        with self._lock:
            if self._file is not None:
                os.fsync(self._file.fileno())  # type: ignore[attr-defined]
                self._file.close()  # type: ignore[attr-defined]
                self._file = None


def read_spool(path: Path) -> Iterator[tuple[str, bytes | None, bytes | None, str, int]]:
    """Yield (topic, key, value, reason, time_ns) records in the order they were spooled."""
    with open(path, "rb") as f:
        yield from msgpack.Unpacker(f, raw=False)
