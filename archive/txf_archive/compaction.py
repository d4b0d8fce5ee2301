"""`txf-archive compact`: merge a finished day's files into one per topic-partition, checked before removal.

For each (type, trading day, contract) directory and each topic-partition in it:
1. the live files (layout.live_files), minus the latest segment of the topic-partition anywhere in
   the archive (the archiver may still be writing it, and recovery decides about it alone);
2. read, concatenate (a column added by a newer contract is null in older rows), order by offset;
   refuse a duplicate offset (that would be damage; never guess which copy is right);
3. write `<topic>+<partition>+<first>-<last>+c.parquet` (hidden temporary file, fsync, rename, fsync
   the directory): from this moment readers use it and no longer see the files it covers;
4. read it back and check it row by row against every source (each source's rows are exactly the
   compacted file's rows with the same offsets, column by column);
5. only then delete the sources (and any file an earlier, interrupted run left covered).
A crash anywhere leaves either the sources alone, or the compacted file covering them (the next run
checks again, then deletes them). A run with nothing to merge changes nothing: re-running is a no-op.
The newest archived day of each type is left alone by default (--keep-days): the archiver writes it.
One compaction at a time per archive (<root>/.compact.lock).
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from txf_archive import layout
from txf_archive.columns import KINDS
from txf_archive.recovery import latest_segments, scan
from txf_archive.segments import ParquetOptions, write_durably


@dataclass
class CompactionReport:
    directories: int = 0
    merged: list[dict[str, Any]] = field(default_factory=list)
    removed: int = 0
    dry_run: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "directories": self.directories,
            "merged": self.merged,
            "removedFiles": self.removed,
            "dryRun": self.dry_run,
            "noop": not self.merged and not self.removed,
        }


class CompactionError(RuntimeError):
    """A check failed; nothing was deleted. The message names the files."""


def compact(
    root: Path,
    *,
    days: list[date] | None = None,
    keep_days: int = 1,
    dry_run: bool = False,
    options: ParquetOptions | None = None,
) -> CompactionReport:
    """Compact the finished days of every type (module doc)."""
    options = options or ParquetOptions()
    report = CompactionReport(dry_run=dry_run)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".compact.lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another compaction of {root} is running ({root / '.compact.lock'})") from None
        latest = latest_segments(scan(root))
        for kind in KINDS:
            archived = layout.days(root, kind)
            finished = archived[: max(0, len(archived) - keep_days)]
            for day in finished:
                if days is not None and day not in days:
                    continue
                base = root / kind / f"day={day.isoformat()}"
                for directory in sorted(p for p in base.iterdir() if p.is_dir()):
                    report.directories += 1
                    _compact_dir(directory, latest, options, report)
    return report


def _compact_dir(
    directory: Path, latest: dict[tuple[str, int], tuple[int, int]], options: ParquetOptions, report: CompactionReport
) -> None:
    every = {n: directory / str(n) for n in map(layout.parse_name, os.listdir(directory)) if n is not None}
    live = {layout.parse_name(p.name): p for p in layout.live_files(directory)}
    by_tp: dict[tuple[str, int], list[layout.FileName]] = {}
    for n in every:
        by_tp.setdefault((n.topic, n.partition), []).append(n)
    for tp, names in sorted(by_tp.items()):
        sources = sorted(
            n for n in names if n in live and not (not n.compacted and (n.first, n.last) == latest.get(tp))
        )
        covered = [n for n in names if n not in live]
        if len(sources) == 1 and sources[0].compacted:
            if covered:  # an interrupted run: check the covered files against it, then remove them
                target = every[sources[0]]
                _verify(pq.read_table(target), [every[n] for n in covered])
                if not report.dry_run:
                    _remove([every[n] for n in covered], directory)
                report.removed += len(covered)
            continue
        if len(sources) < 2 and not (sources and covered):
            continue
        inputs = [every[n] for n in sources]
        name = layout.FileName(tp[0], tp[1], min(n.first for n in sources), max(n.last for n in sources))
        rows = sum(pq.read_metadata(p).num_rows for p in inputs)
        report.merged.append({"directory": str(directory), "file": str(name), "sources": len(inputs), "rows": rows})
        if report.dry_run:
            continue
        tables = [pq.read_table(p) for p in inputs]
        merged = pa.concat_tables(tables, promote_options="default")
        merged = merged.take(np.argsort(merged.column("kafka_offset").to_numpy(), kind="stable"))
        offsets = merged.column("kafka_offset").to_numpy()
        if len(offsets) > 1 and (np.diff(offsets) == 0).any():
            raise CompactionError(
                f"{directory}: offset(s) {offsets[1:][np.diff(offsets) == 0][:5].tolist()} of "
                f"{tp[0]}[{tp[1]}] appear in more than one file: nothing merged or removed; "
                f"see RUNBOOK 'archive: duplicate offsets'"
            )
        final = directory / str(name)
        tmp = directory / f".{name}{layout.TMP_SUFFIX}"
        write_durably(tmp, merged, options)
        os.replace(tmp, final)
        layout.fsync_dir(directory)
        _verify(pq.read_table(final), inputs + [every[n] for n in covered])
        _remove(inputs + [every[n] for n in covered], directory)
        report.removed += len(inputs) + len(covered)


def _verify(compacted: pa.Table, sources: list[Path]) -> None:
    """Each source's rows, column by column, are the compacted file's rows with the same offsets."""
    offsets = compacted.column("kafka_offset").to_numpy()
    for path in sources:
        src = pq.read_table(path)
        want = src.column("kafka_offset").to_numpy()
        idx = np.searchsorted(offsets, want)
        if len(want) and (idx.max() >= len(offsets) or not (offsets[np.minimum(idx, len(offsets) - 1)] == want).all()):
            raise CompactionError(f"{path}: rows missing from the compacted file: nothing removed")
        got = compacted.take(idx).select(src.column_names)
        for name in src.column_names:
            if not got.column(name).equals(src.column(name).cast(got.schema.field(name).type)):
                raise CompactionError(f"{path}: column {name} differs in the compacted file: nothing removed")


def _remove(paths: list[Path], directory: Path) -> None:
    for p in paths:
        p.unlink()
    layout.fsync_dir(directory)
