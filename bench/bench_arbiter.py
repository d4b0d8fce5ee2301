"""What redundant capture adds to a quote's way to a consumer, measured on the shipped programs.

Two capture legs (`txf-producer run --source sim` as legs a and b of one anchored simulated market, the
way tests/arbiter runs them) and the shipped `txf-arbiter run`, against the real local stack. One
reader (confluent-kafka, `fetch.wait.max.ms` 5, never waiting for a batch, assigned at the end of every
topic before the legs start) reads leg a's topics and the canonical topics side by side and takes, for every record,
reader receive time - the leg's `receive_time_ns` stamp (the arbiter keeps the first leg's stamp):

- leg visible: the leg producer's own path to a consumer (the single-producer deployment's latency);
- canonical visible: the same quotes through the arbiter (leg receive -> canonical record visible),
  the issue's figure; "added" is its percentile minus the leg's, both from the same run.

Phases (anchored market from the 08:45 open, where the simulated feed is densest):
- peak: --speed 1 (the real opening rate, ~350 msgs/s falling to ~150) for --peak-seconds;
- burst: --speed 10 (10x) for --burst-seconds.
Each phase runs --runs times on fresh topics; the table shows medians over runs. Records of each
phase's first second are left out (legs and arbiter getting their producer ids). Targets (exit 1 if
missed): canonical-visible p99 < 10 ms at the peak and < 30 ms in the burst.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from confluent_kafka import OFFSET_END, Consumer, TopicPartition  # noqa: E402

from stack import localstack  # noqa: E402
from txf.v1 import BidAsk, Tick  # noqa: E402
from txf_registry import provision  # noqa: E402

BIN = Path(sys.executable).parent
TAIPEI = dt.timezone(dt.timedelta(hours=8))
OPEN = dt.datetime(2026, 11, 24, 8, 45, tzinfo=TAIPEI)  # a Tuesday's day session opens
WARMUP_S = 1.0
KINDS = (("txf-tick", Tick), ("txf-bidask", BidAsk))
TARGETS_MS = {"peak": 10.0, "burst": 30.0}


def pct(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(p / 100 * len(sorted_ms)))]


def summary(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 2),
        "p99_ms": round(pct(ms, 99), 2),
        "p999_ms": round(pct(ms, 99.9), 2),
        "max_ms": round(ms[-1], 2),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Reader(threading.Thread):
    """Reads leg a's and the canonical topics from their ends; latency samples per side."""

    def __init__(self, bootstrap: str, prefix: str, since_ns: int) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 5,
            }
        )
        self.sides = {f"{prefix}leg-a.{name}": ("leg", cls) for name, cls in KINDS}
        self.sides.update({f"{prefix}{name}": ("canonical", cls) for name, cls in KINDS})
        self.consumer.assign([TopicPartition(t, 0, OFFSET_END) for t in self.sides])
        self.samples: dict[str, list[int]] = {"leg": [], "canonical": []}
        self.since_ns = since_ns
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            # what has arrived, without waiting; else the next record as soon as it comes (a batch wait
            # would add up to its timeout to every figure, as consume(500, timeout) does)
            batch = self.consumer.consume(500, timeout=0) or self.consumer.consume(1, timeout=0.05)
            for m in batch:
                now = time.time_ns()
                if m.error() is not None:
                    continue
                side, cls = self.sides[str(m.topic())]
                received = cls.FromString((m.value() or b"")[6:]).receive_time_ns
                if received >= self.since_ns:
                    self.samples[side].append(now - received)
        self.consumer.close()


class Phase:
    """One run of one phase: fresh topics, the arbiter, two legs, the reader."""

    def __init__(self, stack: Any, tmp: Path, speed: float, seconds: float) -> None:
        self.stack, self.tmp, self.speed, self.seconds = stack, tmp, speed, seconds
        self.prefix = f"arb{uuid.uuid4().hex[:8]}-"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_"))}
        env.update(
            TXF_KAFKA_BOOTSTRAP=self.stack.bootstrap_servers,
            TXF_REGISTRY_URL=self.stack.registry_url,
            TXF_TOPIC_PREFIX=self.prefix,
            TXF_METRICS_PORT="0",
            TXF_ARBITER_METRICS_PORT="0",
            TXF_LOG_LEVEL="WARNING",
            TXF_STATS_INTERVAL_S="3600",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log = (self.tmp / f"{self.prefix}{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_active(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs["arbiter"].poll() is not None:
                raise RuntimeError(f"the arbiter exited; see {self.tmp}/{self.prefix}arbiter.log")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:  # noqa: S310
                    if json.loads(r.read()).get("active"):
                        return
            except OSError:
                pass
            time.sleep(0.1)  # polling a health endpoint, not synchronising a test
        raise RuntimeError("the arbiter did not become active")

    def run(self) -> dict[str, dict[str, float]]:
        provision(self.stack.bootstrap_servers, self.stack.registry_url, self.prefix, legs=True)
        port = free_port()
        self.spawn("arbiter", [str(BIN / "txf-arbiter"), "run"], self.env(TXF_ARBITER_METRICS_PORT=str(port)))
        try:
            self.wait_active(port)
            anchor_ns = time.time_ns() + 3_000_000_000  # both legs deliver the 08:45:00 quotes 3 s from now
            reader = Reader(self.stack.bootstrap_servers, self.prefix, anchor_ns + int(WARMUP_S * 1e9))
            reader.start()
            for leg, seed in (("a", 11), ("b", 22)):
                self.spawn(
                    f"leg-{leg}",
                    [
                        str(BIN / "txf-producer"),
                        "run",
                        "--source",
                        "sim",
                        "--seed",
                        "3",
                        "--sim-start",
                        OPEN.isoformat(),
                        "--speed",
                        str(self.speed),
                        "--sim-anchor-ns",
                        str(anchor_ns),
                        "--leg-seed",
                        str(seed),
                    ],
                    self.env(TXF_CAPTURE_LEG=leg, TXF_STATE_DIR=str(self.tmp / f"{self.prefix}{leg}")),
                )
            time.sleep(max(0.0, (anchor_ns - time.time_ns()) / 1e9) + self.seconds)  # the phase's length
            for leg in ("leg-a", "leg-b"):
                self.procs[leg].send_signal(signal.SIGTERM)
            for leg in ("leg-a", "leg-b"):
                if self.procs[leg].wait(60) != 0:
                    raise RuntimeError(f"{leg} exited {self.procs[leg].returncode}; see its log in {self.tmp}")
            time.sleep(1.0)  # the last records reach the reader
            reader.stop.set()
            reader.join(10)
            return {side: summary(samples) for side, samples in reader.samples.items()}
        finally:
            for proc in self.procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(60)


def median_of(runs: list[dict[str, dict[str, float]]], side: str, key: str) -> float:
    return round(statistics.median(r[side][key] for r in runs), 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peak-seconds", type=float, default=30)
    ap.add_argument("--burst-seconds", type=float, default=10)
    args = ap.parse_args()
    stack = localstack.ensure_up(
        localstack.StackConfig.from_env(), log=lambda m: print(f"[stack] {m}", file=sys.stderr)
    )
    tmp = Path(tempfile.mkdtemp(prefix="txf-bench-arbiter-"))
    phases = {"peak": (1.0, args.peak_seconds), "burst": (10.0, args.burst_seconds)}
    results: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in phases}
    for _ in range(args.runs):  # interleaved, so drift on the shared machine hits both phases alike
        for name, (speed, seconds) in phases.items():
            results[name].append(Phase(stack, tmp, speed, seconds).run())
    out: dict[str, Any] = {"runs": args.runs, "per_run": results}
    print(f"\nmedians over {args.runs} runs (ms)")
    print(f"{'phase':<8}{'side':<11}{'n':>8}{'p50':>8}{'p99':>8}{'p99.9':>8}{'max':>8}")
    checks: dict[str, bool] = {}
    for name, runs in results.items():
        for side in ("leg", "canonical"):
            row = {k: median_of(runs, side, k) for k in ("n", "p50_ms", "p99_ms", "p999_ms", "max_ms")}
            out[f"{name}_{side}"] = row
            print(
                f"{name:<8}{side:<11}{row['n']:>8.0f}{row['p50_ms']:>8}{row['p99_ms']:>8}"
                f"{row['p999_ms']:>8}{row['max_ms']:>8}"
            )
        added = {k: round(out[f"{name}_canonical"][k] - out[f"{name}_leg"][k], 2) for k in ("p50_ms", "p99_ms")}
        out[f"{name}_added"] = added
        print(f"{name:<8}{'added':<11}{'':>8}{added['p50_ms']:>8}{added['p99_ms']:>8}")
        checks[f"{name}: leg receive -> canonical visible p99 < {TARGETS_MS[name]:g} ms"] = (
            out[f"{name}_canonical"]["p99_ms"] < TARGETS_MS[name]
        )
    for label, ok in checks.items():
        print(f"  [{'ok' if ok else 'MISSED'}] {label}")
    out["targets_met"] = all(checks.values())
    print(json.dumps(out, sort_keys=True))
    return 0 if out["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
