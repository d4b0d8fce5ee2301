"""Archive benchmark: the shipped `txf-archive` from a backlog, its bytes on disk, a day's query, a day's replay.

One run, against the local stack (started if needed), on a simulated trading day published by the shipped
producer (`txf-producer run --source sim`, full speed: a night session and the day session after it, so
one trading day; --quotes, default 470,000, ~400,000 of them BidAsk):

  archive_rps            records/s of `txf-archive run` over the whole backlog, decode and durable Parquet
                         included (its own busy time: reading records and writing segments, not waiting),
                         median over --rounds runs, each into a fresh directory with a fresh group
  consume_only_rps       records/s of a bare confluent-kafka consumer reading the same backlog (values
                         touched, nothing decoded or written): the floor the archiver sits on, same rounds
  parquet_bytes_per_record   bytes of the archive's Parquet files / records
  kafka_bytes_per_record     bytes of the Kafka log segments (*.log, lz4 as the producer writes) / records
  query_s                one trading day of BidAsk of one contract -> polars DataFrame (with the _dec/_f64
                         price views), `Archive.polars`, median
  replay_s               that trading day's Ticks and BidAsks through a no-op handler, `txf_archive.replay`, median

Targets (issue 18): archive_rps >= 150,000; parquet <= kafka bytes per record; query_s < 1; replay_s < 10.
The last line is a JSON object with every figure; exit 1 when a target is missed (--no-check: never).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from confluent_kafka import Consumer, TopicPartition  # noqa: E402

from stack import localstack  # noqa: E402
from txf_archive import Archive, replay  # noqa: E402
from txf_consumer import BaseHandler  # noqa: E402
from txf_registry import provision  # noqa: E402

BIN = Path(sys.executable).parent
DAY_START = "2026-05-27T14:50:00"  # Wednesday night pre-open: the trading day of Thursday 2026-05-28
TOPICS = ("txf-tick", "txf-bidask")


def env_of(stack: Any, prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_"))}
    env.update(
        TXF_KAFKA_BOOTSTRAP=stack.bootstrap_servers,
        TXF_REGISTRY_URL=stack.registry_url,
        TXF_TOPIC_PREFIX=prefix,
        TXF_METRICS_PORT="0",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def publish_day(stack: Any, prefix: str, quotes: int, tmp: Path) -> None:
    provision(stack.bootstrap_servers, stack.registry_url, prefix, legs=False)
    done = subprocess.run(
        [
            str(BIN / "txf-producer"),
            "run",
            "--source",
            "sim",
            "--max-messages",
            str(quotes),
            "--seed",
            "27",
            "--sim-start",
            DAY_START,
        ],
        env=env_of(stack, prefix, TXF_STATE_DIR=str(tmp)),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"producer failed: {done.stderr[-2000:]}")


def archive_once(stack: Any, prefix: str, root: Path) -> dict[str, Any]:
    shutil.rmtree(root, ignore_errors=True)
    done = subprocess.run(
        [
            str(BIN / "txf-archive"),
            "run",
            "--root",
            str(root),
            "--idle-exit-s",
            "2",
            "--topics",
            ",".join(prefix + t for t in TOPICS),
        ],
        env=env_of(stack, prefix, TXF_ARCHIVE_GROUP=f"bench-{uuid.uuid4().hex[:8]}"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise SystemExit(f"txf-archive failed: {done.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def published(stack: Any, prefix: str) -> int:
    """Records on the topics (the producer leaves trial matches out, so fewer than --quotes)."""
    c = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": "bench-watermarks"})
    try:
        return sum(c.get_watermark_offsets(TopicPartition(prefix + t, 0), timeout=10)[1] for t in TOPICS)
    finally:
        c.close()


def consume_only(stack: Any, prefix: str, total: int) -> float:
    c = Consumer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
        }
    )
    c.subscribe([prefix + t for t in TOPICS])
    n, busy = 0, 0.0
    deadline = time.monotonic() + 300
    while n < total and time.monotonic() < deadline:
        t0 = time.monotonic()
        msgs = c.consume(20_000, 0.25)
        if msgs:
            for m in msgs:
                m.value()
            n += len(msgs)
            busy += time.monotonic() - t0
    c.close()
    return n / busy if busy else 0.0


def kafka_log_bytes(cfg: localstack.StackConfig, prefix: str) -> int:
    return sum(f.stat().st_size for t in TOPICS for f in (cfg.kafka_data / f"{prefix}{t}-0").glob("*.log"))


class Noop(BaseHandler):
    """A strategy that does nothing: what replay costs by itself."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quotes", type=int, default=470_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    cfg = localstack.StackConfig.from_env()
    stack = localstack.ensure_up(cfg, log=lambda m: print(f"[stack] {m}", file=sys.stderr))
    tmp = Path(tempfile.mkdtemp(prefix="txf-bench-archive-"))
    prefix = f"ba{uuid.uuid4().hex[:6]}-"
    try:
        publish_day(stack, prefix, args.quotes, tmp / "state")
        root = tmp / "archive"
        total = published(stack, prefix)
        rps, floor, runs = [], [], []
        for _ in range(args.rounds):  # side by side in each round
            floor.append(consume_only(stack, prefix, total))
            run = archive_once(stack, prefix, root)
            runs.append(run)
            rps.append(run["recordsPerSecond"])
        records = runs[-1]["records"]
        parquet = sum(f.stat().st_size for f in root.rglob("*.parquet"))
        kafka = kafka_log_bytes(cfg, prefix)
        archive = Archive(root)
        day = max(
            archive.days("bidask"), key=lambda d: sum(pq.read_metadata(f).num_rows for f in archive.files("bidask", d))
        )
        code = sorted(p.name.removeprefix("contract=") for p in (root / "bidask" / f"day={day}").iterdir())[0]
        rows = 0
        query, replays = [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            rows = archive.polars("bidask", day, code=code).height
            query.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = replay(Noop(), root, day)
            replays.append(time.perf_counter() - t0)
        out = {
            "records": records,
            "rounds": args.rounds,
            "archive_rps": round(statistics.median(rps)),
            "consume_only_rps": round(statistics.median(floor)),
            "parquet_bytes_per_record": round(parquet / records, 2),
            "kafka_bytes_per_record": round(kafka / records, 2),
            "query_day": str(day),
            "query_rows": rows,
            "query_s": round(statistics.median(query), 3),
            "replay_messages": result.messages,
            "replay_s": round(statistics.median(replays), 3),
        }
        checks = {
            "archive_rps >= 150000": out["archive_rps"] >= 150_000,
            "parquet <= kafka bytes/record": out["parquet_bytes_per_record"] <= out["kafka_bytes_per_record"],
            "query_s < 1": out["query_s"] < 1.0,
            "replay_s < 10": out["replay_s"] < 10.0,
        }
        out["checks"] = checks
        print(
            f"archive {out['archive_rps']:,} rec/s (bare consumer {out['consume_only_rps']:,}); "
            f"{out['parquet_bytes_per_record']} B/rec on disk vs Kafka lz4 {out['kafka_bytes_per_record']}; "
            f"query {rows:,} BidAsk rows {out['query_s']} s; replay {result.messages:,} quotes {out['replay_s']} s",
            file=sys.stderr,
        )
        print(json.dumps(out))
        return 0 if args.no_check or all(checks.values()) else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
