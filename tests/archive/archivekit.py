"""Helpers of the archive tests: one run's topics (unique prefix), its processes, reading topics back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from txf_registry import provision

DATA_TOPICS = ("txf-tick", "txf-bidask", "txf-bars-1m")


@dataclass
class Run:
    """One test run: unique topics, an archive directory, the processes it started (stopped by PID)."""

    stack: Any
    tmp: Path
    prefix: str = field(default_factory=lambda: f"ar{uuid.uuid4().hex[:8]}-")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.tmp / "archive"

    def provision(self) -> None:
        provision(self.stack.bootstrap_servers, self.stack.registry_url, self.prefix, legs=False)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_"))}
        env.update(
            TXF_KAFKA_BOOTSTRAP=self.stack.bootstrap_servers,
            TXF_REGISTRY_URL=self.stack.registry_url,
            TXF_TOPIC_PREFIX=self.prefix,
            TXF_METRICS_PORT="0",
            TXF_STARTUP_DEADLINE_S="20",
            TXF_ARCHIVE_ROOT=str(self.root),
            TXF_STATE_DIR=str(self.tmp / "state"),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def spawn(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(args, env=self.env(**env), stdout=log, stderr=subprocess.STDOUT, cwd=self.tmp)
        self.procs.append(proc)
        return proc

    def run(self, args: list[str], timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, env=self.env(**env), capture_output=True, text=True, timeout=timeout, cwd=self.tmp)

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(10)


def bin_of(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def read_topic(stack: Any, topic: str) -> list[tuple[int, int, bytes | None, bytes | None, tuple[int, int]]]:
    """Every committed record of a topic: (partition, offset, key, value, timestamp), in offset order."""
    c = Consumer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "group.id": f"rb-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    try:
        md = c.list_topics(topic, timeout=10).topics[topic]
        out = []
        for p in md.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high <= low:
                continue
            c.assign([TopicPartition(topic, p, low)])
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                msgs = c.consume(10_000, 1.0)
                out.extend(
                    (m.partition(), m.offset(), m.key(), m.value(), m.timestamp()) for m in msgs if not m.error()
                )
                if c.position([TopicPartition(topic, p)])[0].offset >= high:
                    break
            else:
                raise AssertionError(f"{topic}[{p}] not read to {high} within 60 s")
        return out
    finally:
        c.close()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
