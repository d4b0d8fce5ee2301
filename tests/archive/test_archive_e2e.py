"""txf-archive against the real stack: SIGKILLed at random points while the shipped producer (simulated
feed, full speed) publishes 200,000 quotes and the bar builder (also killed once) publishes bars; restarted
each time. Then: the archive equals the topics row for row (no loss, no duplicate), a re-run over the same
offsets writes nothing, compaction keeps every row and its re-run is a no-op, the bars match an independent
computation from the archived ticks, and a backtest replay sees exactly the archived quotes in exchange-time
order.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from archivekit import Run, bin_of, read_topic, wait_for

from txf.v1 import Bar, BidAsk, Tick
from txf_archive import Archive, replay
from txf_archive.columns import Decoder, archived_type
from txf_archive.compaction import compact
from txf_consumer.handler import BaseHandler, RecordMeta
from txf_kit import calendar

QUOTES = 200_000
SIM_START = "2026-05-28T12:30:00"  # a Thursday: crosses the 13:45 close and into the night session
TYPES = {"txf-tick": Tick, "txf-bidask": BidAsk, "txf-bars-1m": Bar}


def _all_rows(root: Path, cls: Any) -> pa.Table:
    kind = archived_type(cls).kind
    files = []
    for d in Archive(root).days(kind):
        files += Archive(root).files(kind, d)
    tables = [pq.read_table(f) for f in files]
    table = pa.concat_tables(tables, promote_options="default")
    return table.take(np.lexsort((table.column("kafka_offset").to_numpy(),)))


@pytest.fixture(scope="module")
def run(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    r = Run(stack, tmp_path_factory.mktemp("archive-e2e"))
    r.provision()
    rnd = random.Random(18)
    fast = {"TXF_ARCHIVE_ROLL_S": "0.3", "TXF_ARCHIVE_ROLL_BYTES": "1000000"}
    try:
        producer = r.spawn(
            "producer",
            [
                bin_of("txf-producer"),
                "run",
                "--source",
                "sim",
                "--max-messages",
                str(QUOTES),
                "--seed",
                "18",
                "--sim-start",
                SIM_START,
            ],
            TXF_PUBLISH_SIMTRADE="true",
        )
        bars = r.spawn("bars", [bin_of("txf-archive"), "bars"])
        kills = 0
        while producer.poll() is None and kills < 6:
            archiver = r.spawn("archiver", [bin_of("txf-archive"), "run"], **fast)
            kill_at = time.monotonic() + rnd.uniform(1.0, 3.0)  # a random point of its run
            wait_for(lambda a=archiver, k=kill_at: time.monotonic() >= k or a.poll() is not None, 30, "the kill time")
            if archiver.poll() is None:
                archiver.send_signal(signal.SIGKILL)
                archiver.wait(10)
                kills += 1
            if kills == 2 and bars.poll() is None:
                bars.send_signal(signal.SIGKILL)
                bars.wait(10)
                bars = r.spawn("bars", [bin_of("txf-archive"), "bars"])
        assert kills >= 3, f"the producer finished before 3 kills ({kills})"
        assert producer.wait(120) == 0, (r.tmp / "producer.log").read_text()
        bars.send_signal(signal.SIGTERM)
        assert bars.wait(60) == 0
        done = r.run([bin_of("txf-archive"), "bars", "--idle-exit-s", "2"])
        assert done.returncode == 0, done.stderr
        final = r.run([bin_of("txf-archive"), "run", "--idle-exit-s", "2"], **fast)
        assert final.returncode == 0, final.stderr
        r.kills = kills  # type: ignore[attr-defined]
        yield r
    finally:
        r.stop_all()


def _assert_archive_equals_topics(r: Run, types: dict[str, Any] = TYPES) -> None:
    for topic, cls in types.items():
        records = read_topic(r.stack, r.prefix + topic)
        assert records, topic
        table = _all_rows(r.root, cls)
        table = table.filter(pa.compute.equal(table.column("kafka_topic"), r.prefix + topic))
        offsets = table.column("kafka_offset").to_pylist()
        assert offsets == [rec[1] for rec in records], f"{topic}: offsets differ (loss or duplicate)"
        archived = [cls.FromString(b) for b in Decoder(archived_type(cls)).encode(table)]
        keys = table.column("kafka_key").to_pylist()
        stamps = table.column("kafka_timestamp_ms").to_pylist()
        for rec, msg, key, ts in zip(records, archived, keys, stamps, strict=True):
            assert msg == cls.FromString(rec[3][6:]), (topic, rec[1])
            assert (key, ts) == (rec[2], rec[4][1]), (topic, rec[1])
    assert not (r.root / "malformed").exists()


def test_killed_archiver_loses_and_duplicates_nothing(run: Run) -> None:
    assert run.kills >= 3  # type: ignore[attr-defined]
    _assert_archive_equals_topics(run)
    days = Archive(run.root).days("bidask")
    assert len(days) == 2, days  # the night session counts for the next trading day
    assert days == [date(2026, 5, 28), date(2026, 5, 29)]


def test_rerun_over_archived_offsets_is_a_noop(run: Run) -> None:
    before = sorted(p.relative_to(run.root) for p in run.root.rglob("*.parquet"))
    again = run.run([bin_of("txf-archive"), "run", "--idle-exit-s", "1"])
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["records"] == 0
    assert sorted(p.relative_to(run.root) for p in run.root.rglob("*.parquet")) == before


def test_bars_match_an_independent_computation_from_the_archived_ticks(run: Run) -> None:
    ticks = _all_rows(run.root, Tick)
    bars = _all_rows(run.root, Bar)
    day = calendar.day_session(date(2026, 5, 28))
    night = calendar.night_session(date(2026, 5, 28))
    assert day is not None and night is not None
    con = duckdb.connect()
    con.register("ticks", ticks)
    expected = con.sql(f"""
        WITH t AS (
          SELECT code, close, volume, exchange_time_us, kafka_offset,
                 CASE WHEN exchange_time_us * 1000 >= {day.close_ns} AND exchange_time_us * 1000 < {night.preopen_ns}
                      THEN {day.close_ns // 1_000_000}
                      ELSE (exchange_time_us // 60000000 + 1) * 60000 END AS end_ms
          FROM ticks WHERE NOT simtrade)
        SELECT code, end_ms, arg_min(close, kafka_offset) AS open, max(close) AS high, min(close) AS low,
               arg_max(close, kafka_offset) AS close, sum(volume)::BIGINT AS volume, count(*) AS n,
               sum(close * volume)::BIGINT AS value
        FROM t GROUP BY code, end_ms ORDER BY code, end_ms""").fetchall()
    got = sorted(
        (
            b["code"],
            b["end_time_ms"],
            b["open"],
            b["high"],
            b["low"],
            b["close"],
            b["volume"],
            b["tick_count"],
            b["value"],
        )
        for b in bars.to_pylist()
    )
    assert len({(g[0], g[1]) for g in got}) == len(got), "a bar was published twice"
    # the last minute of each contract may still be open: the market's clock had not passed it by the grace
    assert got == [tuple(e) for e in expected][: len(got)] and len(expected) - len(got) <= len({e[0] for e in expected})
    assert any(g[1] == day.close_ns // 1_000_000 for g in got), "no bar labelled with the 13:45 close"
    simtrade = con.sql("SELECT count(*) FROM ticks WHERE simtrade").fetchall()[0][0]
    assert simtrade > 0, "the run should contain trial matches (left out of bars)"
    for b in bars.to_pylist():
        v, q = b["value"], b["volume"]
        assert b["vwap"] == (2 * v + q) // (2 * q)  # half away from zero, positive prices


class Recorder(BaseHandler):
    def __init__(self) -> None:
        self.seen: list[tuple[int, int, str, int]] = []

    def on_tick(self, tick: Tick, meta: RecordMeta) -> None:
        self.seen.append((tick.exchange_time_us, tick.receive_time_ns, meta.topic, meta.offset))

    def on_bidask(self, bidask: BidAsk, meta: RecordMeta) -> None:
        self.seen.append((bidask.exchange_time_us, bidask.receive_time_ns, meta.topic, meta.offset))


def test_backtest_replay_sees_exactly_the_archived_quotes_in_exchange_time_order(run: Run) -> None:
    handler = Recorder()
    result = replay(handler, run.root, "2026-05-28", "2026-05-29")
    rows = []
    for cls in (Tick, BidAsk):
        t = _all_rows(run.root, cls)
        rows += list(
            zip(
                t.column("exchange_time_us").to_pylist(),
                t.column("receive_time_ns").to_pylist(),
                t.column("kafka_topic").to_pylist(),
                t.column("kafka_offset").to_pylist(),
                strict=True,
            )
        )
    assert result.messages == len(rows) == len(handler.seen)
    assert handler.seen == sorted(rows)
    assert [s[0] for s in handler.seen] == sorted(s[0] for s in handler.seen)


def test_compaction_keeps_every_row_and_its_rerun_is_a_noop(run: Run) -> None:
    many = len(list(run.root.rglob("*.parquet")))
    first = compact(run.root, keep_days=0)
    assert first.merged and first.removed > 0
    assert len(list(run.root.rglob("*.parquet"))) < many
    _assert_archive_equals_topics(run)
    second = compact(run.root, keep_days=0)
    assert second.summary()["noop"], second.summary()


def test_a_standby_archiver_waits_on_the_lock_and_takes_over_when_the_active_one_dies(
    stack: Any, tmp_path: Path
) -> None:
    """Two archivers on one directory (RUNBOOK: "the second waits on .lock, a standby"): the second writes
    nothing while the first runs; the first SIGKILLed, the standby takes the lock, recovers and goes on,
    and the archive equals the topics row for row."""
    r = Run(stack, tmp_path)
    r.provision()
    quotes = {"txf-tick": Tick, "txf-bidask": BidAsk}
    fast = {"TXF_ARCHIVE_ROLL_S": "0.3"}

    def produce(seed: str) -> None:
        done = r.run([bin_of("txf-producer"), "run", "--source", "sim", "--max-messages", "3000", "--seed", seed])
        assert done.returncode == 0, done.stderr[-2000:]

    def archived() -> int:  # rows in the files written so far (none yet for a type: 0)
        if not r.root.exists():
            return 0
        archive = Archive(r.root)
        kinds = [archived_type(cls).kind for cls in quotes.values()]
        files = [f for k in kinds for d in archive.days(k) for f in archive.files(k, d)]
        return sum(pq.ParquetFile(f).metadata.num_rows for f in files)

    def in_topics() -> int:
        return sum(len(read_topic(r.stack, r.prefix + t)) for t in quotes)

    try:
        produce("5")
        active = r.spawn("active", [bin_of("txf-archive"), "run"], **fast)
        wait_for(lambda: archived() == in_topics(), 60, "the active archiver to write the first batch")
        standby = r.spawn("standby", [bin_of("txf-archive"), "run"], **fast)
        wait_for(lambda: "waiting (standby)" in (r.tmp / "standby.log").read_text(), 30, "the standby to wait")
        produce("6")
        wait_for(lambda: archived() == in_topics(), 60, "the active archiver to write the second batch")
        assert standby.poll() is None and active.poll() is None
        active.send_signal(signal.SIGKILL)
        active.wait(10)
        produce("7")
        wait_for(lambda: archived() == in_topics(), 60, "the standby to take over and write the third batch")
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(60) == 0, (r.tmp / "standby.log").read_text()[-2000:]
        _assert_archive_equals_topics(r, quotes)
    finally:
        r.stop_all()


def test_spark_reads_the_archive_with_the_same_counts_and_sums_per_day_as_duckdb(run: Run) -> None:
    """A distributed engine pointed at the tree (Spark, local mode, on the machine's Java 17) reads what
    DuckDB reads: hive partitions day=/contract= and the columns as written, per day the same rows and sums."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("txf-archive-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        for kind, value in (("tick", "close"), ("bidask", "bid_total_vol")):
            df = spark.read.parquet(str(run.root / kind))
            got = sorted(
                (str(r["day"]), r["n"], r["v"], r["s"])
                for r in df.groupBy("day")
                .agg(F.count("*").alias("n"), F.max("exchange_time_us").alias("v"), F.sum(value).alias("s"))
                .collect()
            )
            expected = sorted(
                (str(d), n, int(v), int(s))
                for d, n, v, s in duckdb.sql(
                    f"SELECT day, count(*), max(exchange_time_us), sum({value}) FROM read_parquet("
                    f"'{run.root / kind}/**/*.parquet', hive_partitioning = true) GROUP BY day"
                ).fetchall()
            )
            assert got == expected and len(got) == 2, (kind, got, expected)
    finally:
        spark.stop()
        _stop_spark_gateway()


def _stop_spark_gateway() -> None:
    """The JVM pyspark launched outlives spark.stop() (it serves the next session) until the Python
    process ends: close its stdin, its end-of-life signal, and wait for it by its PID."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = gateway.proc
    gateway.shutdown()
    SparkContext._gateway = SparkContext._jvm = None
    proc.stdin.close()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
