"""Where the archiver resumes, from the files alone; and what a crash left behind, removed.

The files are the truth, not the consumer group's committed offsets: a commit follows a durable
segment, so a crash between the two would otherwise read the segment twice. Rules (layout.py):
- every `.*.tmp` file is a write that never completed: deleted;
- the archiver writes one segment at a time and renames all its parts before it starts the next, so
  only the latest segment of a topic-partition can be incomplete (k of n parts present). It is
  deleted and the archiver resumes at its first offset; otherwise at the highest last offset + 1.
  Compaction never merges the latest segment of a topic-partition (compaction.py), so a merged
  part can never make a complete segment look incomplete.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from txf_archive import layout


@dataclass
class Recovered:
    """The scan's result: next offset per (topic, partition), and what was removed."""

    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    removed_tmp: list[Path] = field(default_factory=list)
    removed_incomplete: list[Path] = field(default_factory=list)


def scan(root: Path) -> dict[tuple[str, int], list[tuple[layout.FileName, Path]]]:
    """Every archive file under `root`, by topic-partition."""
    out: dict[tuple[str, int], list[tuple[layout.FileName, Path]]] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            parsed = layout.parse_name(name)
            if parsed is not None:
                out.setdefault((parsed.topic, parsed.partition), []).append((parsed, Path(dirpath) / name))
    return out


def latest_segments(
    index: dict[tuple[str, int], list[tuple[layout.FileName, Path]]],
) -> dict[tuple[str, int], tuple[int, int]]:
    """(first, last) of the latest segment of each topic-partition (by last offset)."""
    out: dict[tuple[str, int], tuple[int, int]] = {}
    for tp, files in index.items():
        top = max(files, key=lambda fp: (fp[0].last, not fp[0].compacted))[0]
        out[tp] = (top.first, top.last)
    return out


def recover(root: Path) -> Recovered:
    """Delete leftovers of a crash and compute where each topic-partition resumes (module doc)."""
    result = Recovered()
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if name.startswith(".") and name.endswith(layout.TMP_SUFFIX):
                path = Path(dirpath) / name
                path.unlink()
                result.removed_tmp.append(path)
    index = scan(root)
    for tp, files in index.items():
        top, _ = max(files, key=lambda fp: (fp[0].last, not fp[0].compacted))
        if not top.compacted:
            parts = [(n, p) for n, p in files if n.segment == top.segment and not n.compacted]
            if len({n.part for n, _ in parts}) < top.parts:
                for _, p in parts:
                    p.unlink()
                    result.removed_incomplete.append(p)
                for d in {p.parent for _, p in parts}:
                    layout.fsync_dir(d)
                result.positions[tp] = top.first
                continue
        result.positions[tp] = top.last + 1
    return result


class StandbyStopped(Exception):
    """A standby was told to stop while it waited for the lock (it never wrote anything)."""


class ArchiveLock:
    """One writer per archive directory: an exclusive flock on <root>/.lock, held for the whole run.

    A second archiver on the same directory waits (a standby that takes over when the first exits
    or dies: the kernel drops the lock with the process), or fails at once with `wait=False`.
    While it waits it asks again every LOCK_POLL_S and calls `while_waiting()` each time (a service
    tells systemd it is alive there); when that returns False, it gives up with StandbyStopped.
    """

    LOCK_POLL_S = 0.2

    def __init__(
        self,
        root: Path,
        *,
        wait: bool = True,
        say: IO[str] = sys.stderr,
        while_waiting: Callable[[], bool] = lambda: True,
    ) -> None:
        self.path = root / ".lock"
        self._wait = wait
        self._say = say
        self._while_waiting = while_waiting
        self._file: IO[str] | None = None

    def __enter__(self) -> ArchiveLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")  # noqa: SIM115 - held until __exit__
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            if not self._wait:
                f.close()
                raise RuntimeError(
                    f"{self.path} is held by another txf-archive (pid {holder}): one writer per archive directory"
                ) from None
            print(f"txf-archive: {self.path} is held by pid {holder}; waiting (standby)", file=self._say, flush=True)
            while True:
                if not self._while_waiting():
                    f.close()
                    raise StandbyStopped(f"stopped while waiting for {self.path}") from None
                time.sleep(self.LOCK_POLL_S)  # the holder runs for hours: a short poll costs nothing
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    continue
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()  # releases the flock
            self._file = None
