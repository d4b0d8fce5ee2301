"""`txf-archive compact`: merge a finished day's files into one per topic-partition, checked before removal.

A plain Parquet reader that globs a type's tree (`read_parquet('<root>/tick/**/*.parquet')` in DuckDB,
polars, pyarrow, Spark) must never see a record twice or miss one, at any instant, a killed compaction
included. A merged file written beside the files it replaces would be counted with them until they
are gone; so each directory is rebuilt beside the tree and swapped in whole, in one atomic step. For
each (type, trading day, contract) directory, holding its lock (the archiver waits to write into it):
1. per topic-partition, the live files (layout.live_files), minus the latest segment of the
   topic-partition anywhere in the archive (the archiver may still be writing it, and recovery
   decides about it alone);
2. read, concatenate (a column added by a newer contract is null in older rows), order by offset;
   refuse a duplicate offset (that would be damage; never guess which copy is right);
3. build the directory's next version in `<root>/.compaction/` (outside every type's tree, so no glob
   sees it): `<topic>+<partition>+<first>-<last>+c.parquet` (fsync'd) and a hard link of every file
   that stays;
4. read each merged file back and check it row by row against its sources (each source's rows are
   exactly the merged file's rows with the same offsets, column by column);
5. swap the two directories atomically (renameat2 RENAME_EXCHANGE, layout.exchange) and fsync: a reader
   lists the old files or the new ones, never both, never neither;
6. delete the old version, now in `.compaction/`.
A crash anywhere leaves the tree consistent: before the swap it is untouched, after it is the merged
version; whatever is left in `.compaction/` is removed by the next run. A run with nothing to merge
changes nothing: re-running is a no-op. The newest archived day of each type is left alone by default
(--keep-days): the archiver writes it. One compaction at a time per archive (<root>/.compact.lock).
"""

from __future__ import annotations

import fcntl
import os
import shutil
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


#: where each directory's next version is built, and its old one left until deleted: outside every
#: type's tree, so no reader's glob (<root>/<type>/**/*.parquet) ever lists it
WORKSPACE = ".compaction"


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
        workspace = root / WORKSPACE
        if workspace.exists() and not dry_run:  # an interrupted run's staging or old version: never live
            shutil.rmtree(workspace)
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
                    staging = workspace / directory.relative_to(root)
                    with layout.directory_lock(directory, exclusive=True):
                        _compact_dir(directory, staging, latest, options, report)
        if workspace.exists() and not dry_run:
            shutil.rmtree(workspace)
    return report


def _compact_dir(
    directory: Path,
    staging: Path,
    latest: dict[tuple[str, int], tuple[int, int]],
    options: ParquetOptions,
    report: CompactionReport,
) -> None:
    every = {n: directory / str(n) for n in map(layout.parse_name, os.listdir(directory)) if n is not None}
    live = {layout.parse_name(p.name): p for p in layout.live_files(directory)}
    by_tp: dict[tuple[str, int], list[layout.FileName]] = {}
    for n in every:
        by_tp.setdefault((n.topic, n.partition), []).append(n)
    merges: list[tuple[layout.FileName, list[Path]]] = []  # (merged file, its sources)
    dropped: list[Path] = []  # files the new version does not hold (merged, or covered already)
    for tp, names in sorted(by_tp.items()):
        sources = sorted(
            n for n in names if n in live and not (not n.compacted and (n.first, n.last) == latest.get(tp))
        )
        covered = [n for n in names if n not in live]
        if len(sources) == 1 and sources[0].compacted:
            if covered:  # an old-style interrupted run: the covered files go (checked against it first)
                _verify(pq.read_table(every[sources[0]]), [every[n] for n in covered])
                dropped += [every[n] for n in covered]
            continue
        if len(sources) < 2 and not (sources and covered):
            continue
        inputs = [every[n] for n in sources]
        name = layout.FileName(tp[0], tp[1], min(n.first for n in sources), max(n.last for n in sources))
        rows = sum(pq.read_metadata(p).num_rows for p in inputs)
        report.merged.append({"directory": str(directory), "file": str(name), "sources": len(inputs), "rows": rows})
        merges.append((name, inputs + [every[n] for n in covered]))
        dropped += inputs + [every[n] for n in covered]
    if report.dry_run or not (merges or dropped):
        report.removed += len(dropped)
        return
    staging.mkdir(parents=True)
    gone = set(dropped)
    for path in every.values():  # what stays, as it is (hard links: no copy, the same bytes)
        if path not in gone:
            os.link(path, staging / path.name)
    for target, merged_from in merges:
        merged = _merge(directory, target, [p for p in merged_from if layout.parse_name(p.name) in live])
        final = staging / str(target)
        write_durably(final, merged, options)
        _verify(pq.read_table(final), merged_from)
    layout.fsync_dir(staging)
    layout.exchange(directory, staging)  # one atomic step: readers see the old files or the new
    layout.fsync_dir(directory.parent)
    layout.fsync_dir(staging.parent)
    shutil.rmtree(staging)  # the old version
    report.removed += len(dropped)


def _merge(directory: Path, name: layout.FileName, inputs: list[Path]) -> pa.Table:
    """The rows of `inputs` in offset order; CompactionError on an offset held twice."""
    tables = [pq.read_table(p) for p in inputs]
    merged = pa.concat_tables(tables, promote_options="default")
    merged = merged.take(np.argsort(merged.column("kafka_offset").to_numpy(), kind="stable"))
    offsets = merged.column("kafka_offset").to_numpy()
    if len(offsets) > 1 and (np.diff(offsets) == 0).any():
        raise CompactionError(
            f"{directory}: offset(s) {offsets[1:][np.diff(offsets) == 0][:5].tolist()} of "
            f"{name.topic}[{name.partition}] appear in more than one file: nothing merged or removed; "
            f"see RUNBOOK 'archive: duplicate offsets'"
        )
    return merged


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
