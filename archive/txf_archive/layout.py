"""Where the archive keeps what: directories by type, trading day and contract; files named by offsets.

    <root>/<type>/day=<YYYY-MM-DD>/contract=<code>/<topic>+<partition>+<first>-<last>+<k>of<n>.parquet
    <root>/<type>/day=<YYYY-MM-DD>/contract=<code>/<topic>+<partition>+<first>-<last>+c.parquet
    <root>/malformed/<topic>+<partition>+<first>-<last>+<k>of<n>.parquet

A *segment* is one flush of one topic-partition: the records with offsets first..last (inclusive)
that the archiver read in one go. Its rows are split by (type, trading day, contract) into n *parts*,
one file each; the n files together hold every record of the segment exactly once. A segment is
complete when all n parts exist: that is what recovery checks after a crash (an incomplete one is
deleted and read again). `+c` marks a *compacted* file: all the rows of one topic-partition in one
directory, merged from several files; it covers [first, last] and so supersedes (hides) every file
of its directory whose range lies inside it. Readers apply the same rule (`live_files`), so a crash
between writing a compacted file and deleting its sources shows no row twice.

Offsets are zero-padded to 20 digits so that names sort by offset. `+` cannot occur in a Kafka topic
name ([a-zA-Z0-9._-]), so names parse back unambiguously. In-progress files start with '.' and end
with '.tmp': nothing that reads `*.parquet` sees them.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path


def default_root() -> Path:
    """The archive's directory unless TXF_ARCHIVE_ROOT (or --root) names one: `$STATE_DIRECTORY/archive`
    under systemd (a unit's StateDirectory=), else `$XDG_DATA_HOME/txfstream/archive`
    (~/.local/share/txfstream/archive). Never a folder relative to wherever a command ran, which
    would scatter archives (and land one untracked in a checkout)."""
    explicit = os.environ.get("TXF_ARCHIVE_ROOT")
    if explicit:
        return Path(explicit)
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state) / "archive"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "txfstream" / "archive"


MALFORMED = "malformed"
TMP_SUFFIX = ".tmp"
_NAME = re.compile(
    r"^(?P<topic>[A-Za-z0-9._-]+)\+(?P<partition>\d+)\+(?P<first>\d{20})-(?P<last>\d{20})"
    r"\+(?:(?P<k>\d+)of(?P<n>\d+)|(?P<c>c))\.parquet$"
)


@dataclass(frozen=True, order=True)
class FileName:
    """The parsed name of an archive file: its topic-partition, offset range and part (or compacted)."""

    topic: str
    partition: int
    first: int
    last: int
    part: int = 0  # k of n (1-based); 0 for a compacted file
    parts: int = 0  # n; 0 for a compacted file

    @property
    def compacted(self) -> bool:
        return self.parts == 0

    @property
    def segment(self) -> tuple[str, int, int, int]:
        return self.topic, self.partition, self.first, self.last

    def covers(self, other: FileName) -> bool:
        """True when `other` is another file of the same topic-partition whose range lies inside this one's."""
        return (
            other != self
            and other.topic == self.topic
            and other.partition == self.partition
            and self.first <= other.first
            and other.last <= self.last
        )

    def __str__(self) -> str:
        tail = "c" if self.compacted else f"{self.part}of{self.parts}"
        return f"{self.topic}+{self.partition}+{self.first:020d}-{self.last:020d}+{tail}.parquet"


def parse_name(name: str) -> FileName | None:
    """The FileName of an archive file name, None for anything else (tmp files, foreign files)."""
    m = _NAME.match(name)
    if m is None:
        return None
    k, n = (0, 0) if m["c"] else (int(m["k"]), int(m["n"]))
    return FileName(m["topic"], int(m["partition"]), int(m["first"]), int(m["last"]), k, n)


def partition_dir(root: Path, kind: str, day: date, code: str) -> Path:
    """The directory of one (type, trading day, contract)."""
    return root / kind / f"day={day.isoformat()}" / f"contract={_safe(code)}"


def malformed_dir(root: Path) -> Path:
    return root / MALFORMED


def _safe(code: str) -> str:
    """A contract code as a directory name: anything but [A-Za-z0-9._-] is %-escaped (an empty code is '_')."""
    if not code:
        return "_"
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else f"%{ord(c):04X}" for c in code)


def day_of(directory: Path) -> date | None:
    """The trading day of a `day=` directory (or of a file's contract directory), None when not one."""
    for part in (directory.name, directory.parent.name):
        if part.startswith("day="):
            try:
                return date.fromisoformat(part[4:])
            except ValueError:
                return None
    return None


def days(root: Path, kind: str) -> list[date]:
    """The trading days archived for a type, oldest first."""
    base = root / kind
    if not base.is_dir():
        return []
    found = [day_of(p) for p in base.iterdir() if p.is_dir()]
    return sorted(d for d in found if d is not None)


def live_files(directory: Path) -> list[Path]:
    """The archive files of one directory that readers use: every file not superseded by a compacted one.

    Raises ValueError when two files of a topic-partition overlap without one covering the other:
    the archive never writes that, so it is damage to be looked at, not data to be guessed at.
    """
    if not directory.is_dir():
        return []
    named = [(n, directory / entry) for entry in os.listdir(directory) if (n := parse_name(entry)) is not None]
    named.sort()
    compacted = [n for n, _ in named if n.compacted]
    live = [(n, p) for n, p in named if not any(c.covers(n) for c in compacted)]
    by_tp: dict[tuple[str, int], list[FileName]] = {}
    for n, _ in live:
        by_tp.setdefault((n.topic, n.partition), []).append(n)
    for names in by_tp.values():
        ranges = sorted({(n.first, n.last) for n in names})
        for (_, last), (first, _) in zip(ranges, ranges[1:], strict=False):
            if first <= last:
                raise ValueError(
                    f"{directory}: files of one topic-partition overlap ({ranges}): archive damaged, "
                    f"see RUNBOOK 'archive: overlapping files'"
                )
    return [p for _, p in live]


def files_of(root: Path, kind: str, day_list: list[date], code: str | None = None) -> list[Path]:
    """Live files of a type for the given days (and one contract, or all)."""
    out: list[Path] = []
    for day in day_list:
        base = root / kind / f"day={day.isoformat()}"
        if not base.is_dir():
            continue
        dirs = (
            [base / f"contract={_safe(code)}"] if code is not None else sorted(p for p in base.iterdir() if p.is_dir())
        )
        for d in dirs:
            out.extend(live_files(d))
    return out


@contextmanager
def directory_lock(directory: Path, exclusive: bool) -> Iterator[None]:
    """Hold a lock on `directory` (the inode its path names when the lock is granted): shared while the
    archiver writes a segment's files into it, exclusive while compaction swaps it for its merged
    version, so the swap never hides a file being written."""
    while True:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            if os.stat(directory).st_ino == os.fstat(fd).st_ino:  # not swapped while we waited
                yield
                return
        finally:
            os.close(fd)  # closing releases the lock


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> None:
    """Swap two directories in one atomic step (Linux renameat2 RENAME_EXCHANGE): a reader listing
    either path sees the old contents or the new, never a mix, never nothing. OSError where the
    filesystem cannot (the caller refuses to compact rather than show readers a half-done state)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"cannot swap {a} and {b} atomically (renameat2 RENAME_EXCHANGE): {os.strerror(errno)}")


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
