"""A plain Parquet reader globbing the archive never sees a record twice or misses one, compactions killed.

The README invites `read_parquet('<root>/tick/**/*.parquet')` on a copy or a mount of the archive. While
`txf-archive compact` runs, and after it is SIGKILLed at random points until a later run finishes, a
reader keeps counting the rows with DuckDB and pyarrow: every count it gets is the archive's true count.
(Before, a merged file stood beside the files it replaced until they were deleted: 135,352 rows for
79,040 records.)
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.dataset as ds

from txf_kit import calendar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_archive_unit import HEADER, ns, pending, tick, writer  # noqa: E402

DAYS, SEGMENTS, ROWS = 30, 6, 300


def _build(root: Path) -> int:
    w = writer(root)
    offset, total = 0, 0
    d = date(2026, 1, 5)
    for _ in range(DAYS):
        while not calendar.is_trading_day(d):
            d += timedelta(days=1)
        for s in range(SEGMENTS):
            t0 = ns(d.year, d.month, d.day, 9, 0) + s * 60_000_000_000
            values = [HEADER + tick(offset + i + 1, t0 + i * 1_000_000).SerializeToString() for i in range(ROWS)]
            w.write(pending(values, first=offset))
            offset += ROWS
            total += ROWS
        d += timedelta(days=1)
    return total


def test_no_glob_reader_double_counts_or_misses_while_compactions_are_killed(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    total = _build(root)
    glob = f"{root}/tick/**/*.parquet"
    counts: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        con = duckdb.connect()
        while not stop.is_set():
            for how in ("duckdb", "pyarrow"):
                try:
                    if how == "duckdb":
                        n = con.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0]
                    else:
                        n = ds.dataset(root / "tick", format="parquet").count_rows()
                    counts.append(int(n))
                except (duckdb.Error, OSError) as exc:  # a file listed just before a swap: an error, never a count
                    errors.append(f"{how}: {exc}")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    rnd = random.Random(21)
    cmd = [sys.executable, "-m", "txf_archive.cli", "compact", "--root", str(root), "--keep-days", "0"]
    killed = 0
    for _ in range(6):  # each run SIGKILLed at a random point of its work
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + rnd.uniform(0.4, 2.5)
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(30)
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    time.sleep(0.5)  # the reader reads the finished tree a few more times
    stop.set()
    reader.join(60)
    assert final.returncode == 0, final.stderr
    assert killed >= 3, "the compactions finished before they could be killed: give them more work"
    wrong = [n for n in counts if n != total]
    assert not wrong, f"a plain reader counted {sorted(set(wrong))[:5]} rows for {total} records"
    assert len(counts) > 20, (len(counts), errors[:3])
    files = [p for p in (root / "tick").rglob("*.parquet")]
    assert len(files) <= DAYS + 1  # one merged file a day (the very last segment is left to the archiver)
    assert not (root / ".compaction").exists()
