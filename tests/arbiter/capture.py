"""Real capture legs and arbiters as processes against the real stack, and an independent read-back.

A leg is the shipped `txf-producer run --source sim` as a capture leg of one shared simulated market
(anchored pacing, its own drops and jitter, TXF_CAPTURE_LEG=<x> under the run's TXF_TOPIC_PREFIX); an arbiter is the
shipped `txf-arbiter run`. Both are stopped by their PIDs. The read-back uses a plain confluent
Consumer and the generated classes, not the project's tracker, and recomputes the ground truth
from the simulated market and the legs' pure drop decisions (simulation/legs.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from txf.v1 import BidAsk, Gap, Tick
from txf_arbiter.identity import quote_key
from txf_kit import calendar
from txf_producer.simulation import legs as leglogic
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteType
from txf_producer.sources.simulated import SimConfig
from txf_registry import provision

BIN = Path(sys.executable).parent
SIM_START = datetime(2026, 11, 24, 10, 0, tzinfo=calendar.TAIPEI)  # a Tuesday's day session
SEED = 7
KINDS = {"txf-tick": Tick, "txf-bidask": BidAsk}


@dataclass
class Capture:
    """One run's topics (unique prefix), its anchor, and the processes it started."""

    stack: Any
    tmp: Path
    prefix: str = field(default_factory=lambda: f"cap{uuid.uuid4().hex[:8]}-")
    anchor_ns: int = 0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_ns: dict[str, list[int]] = field(default_factory=dict)

    def provision(self) -> None:
        provision(self.stack.bootstrap_servers, self.stack.registry_url, self.prefix, legs=True)
        self.anchor_ns = time.time_ns() + 2_000_000_000  # the simulated 10:00:00 is two seconds from now

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_"))}
        env.update(
            TXF_KAFKA_BOOTSTRAP=self.stack.bootstrap_servers,
            TXF_REGISTRY_URL=self.stack.registry_url,
            TXF_TOPIC_PREFIX=self.prefix,
            TXF_METRICS_PORT="0",
            TXF_ARBITER_METRICS_PORT="0",
            TXF_LOG_LEVEL="INFO",
            TXF_STARTUP_DEADLINE_S="20",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.started_ns.setdefault(name, []).append(time.time_ns())

    def start_leg(self, leg: str, seed: int, drop: float = 0.0, jitter_ms: float = 0.0) -> None:
        env = self.env(TXF_CAPTURE_LEG=leg, TXF_STATE_DIR=str(self.tmp / f"state-{leg}"))
        self._spawn(
            f"leg-{leg}",
            [
                str(BIN / "txf-producer"),
                "run",
                "--source",
                "sim",
                "--seed",
                str(SEED),
                "--sim-start",
                SIM_START.isoformat(),
                "--speed",
                "1",
                "--sim-anchor-ns",
                str(self.anchor_ns),
                "--leg-seed",
                str(seed),
                "--leg-drop",
                str(drop),
                "--leg-jitter-ms",
                str(jitter_ms),
            ],
            env,
        )

    def start_arbiter(self, name: str = "arbiter", **extra: str) -> None:
        env = self.env(TXF_STATE_DIR=str(self.tmp / f"state-{name}"), **extra)
        self._spawn(name, [str(BIN / "txf-arbiter"), "run"], env)

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout)

    def stop_all(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL if name.startswith("leg") else signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def wait_for_log(self, name: str, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            assert self.procs[name].poll() is None, f"{name} exited: {self.log(name)[-2000:]}"
            assert time.monotonic() < deadline, f"{name} never logged {text!r}: {self.log(name)[-2000:]}"
            time.sleep(0.1)

    def sim_seconds(self) -> float:
        """Where the shared simulated market is now (seconds after its 10:00:00)."""
        return (time.time_ns() - self.anchor_ns) / 1e9

    def wait_until_sim(self, seconds: float) -> None:
        while self.sim_seconds() < seconds:
            time.sleep(min(0.2, max(0.01, seconds - self.sim_seconds())))


def read_topic(stack: Any, topic: str) -> list[tuple[bytes, int]]:
    """Every record (value, CreateTime ms) of a one-partition topic, read committed, start to end."""
    c = Consumer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "group.id": f"rb-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        c.assign([TopicPartition(topic, 0, low)])
        out: list[tuple[bytes, int]] = []
        deadline = time.monotonic() + 60
        position = low
        while position < high and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=0.5):
                if m.error() is None:
                    out.append((m.value(), m.timestamp()[1]))
                    position = m.offset() + 1
        return out
    finally:
        c.close()


def quotes_of(stack: Any, topic: str) -> list[Any]:
    cls = next(c for k, c in KINDS.items() if topic.endswith(k))
    return [cls.FromString(v[6:]) for v, _t in read_topic(stack, topic)]


def wait_drained(stack: Any, cap: Capture, quiet_s: float = 3.0, timeout: float = 90) -> None:
    """Until the canonical topics stop growing (the arbiter has written everything the legs had)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = tuple(
            Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": "w"}).get_watermark_offsets(
                TopicPartition(cap.prefix + t, 0), timeout=10
            )[1]
            for t in KINDS
        )
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.2)
    raise AssertionError("the canonical topics kept growing")


def gaps_of(stack: Any, cap: Capture) -> list[Gap]:
    return [Gap.FromString(v[6:]) for v, _t in read_topic(stack, cap.prefix + "txf-gaps")]


def market_quotes(until_s: float) -> Iterator[tuple[int, str, Any]]:
    """(index, topic kind, quote as the leg would publish it) of the shared market up to `until_s`."""
    from txf_producer.convert import build_bidask, build_tick
    from txf_producer.quotes import TICK, bidask_from_array, tick_from_array

    market = SimMarket(
        SimConfig(seed=SEED, streams=(("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))),
        calendar.to_ns(SIM_START),
    )
    for index, (kind, t_us, arr) in enumerate(market):
        if (t_us * 1000 - calendar.to_ns(SIM_START)) / 1e9 > until_s:
            return
        if kind == TICK:
            yield index, "txf-tick", build_tick(tick_from_array(arr), 1 << 60, 0)
        else:
            yield index, "txf-bidask", build_bidask(bidask_from_array(arr), 1 << 60, 0)


def identity(msg: Any) -> bytes:
    return quote_key(msg)


def dropped_by(seed: int, drop: float, index: int) -> bool:
    return leglogic.dropped(seed, drop, index)
