"""The producer's exits, against the real stack: clear reasons, bounded times, nothing lost on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from txf.v1 import BidAsk, Tick
from txf_registry import provision

PRODUCER = [sys.executable, "-m", "txf_producer.cli"]
pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(stack: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_", "TICK_", "BIDASK_"))}
    env.update(
        TXF_KAFKA_BOOTSTRAP=stack.bootstrap_servers,
        TXF_REGISTRY_URL=stack.registry_url,
        TXF_STATE_DIR=str(tmp_path / "state"),
        TXF_STARTUP_DEADLINE_S="3",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def registered(stack: Any) -> dict[str, str]:
    """Unique topics, registered and created like `make register` does."""
    prefix = f"lc{uuid.uuid4().hex[:8]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    return {
        "TXF_TICK_TOPIC": f"{prefix}txf-tick",
        "TXF_BIDASK_TOPIC": f"{prefix}txf-bidask",
        "TXF_DEAD_LETTER_TOPIC": f"{prefix}txf-dlq",
    }


def _run(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    result = subprocess.run(
        [*PRODUCER, "run", "--source", "sim", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    return result, time.monotonic() - t0


def test_registry_unreachable_at_start_exits_1_within_the_deadline(
    stack: Any, tmp_path: Path, registered: dict[str, str]
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/apis/ccompat/v7"
    result, took = _run(_env(stack, tmp_path, TXF_REGISTRY_URL=url, **registered), "--max-messages", "10")
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("txf-producer: exit 1: schema registry lookup") and url in last
    assert "TXF_REGISTRY_URL" in last and took < 20


def test_broker_unreachable_at_start_exits_1_within_the_deadline(
    stack: Any, tmp_path: Path, registered: dict[str, str]
) -> None:
    bootstrap = f"127.0.0.1:{_closed_port()}"
    result, took = _run(_env(stack, tmp_path, TXF_KAFKA_BOOTSTRAP=bootstrap, **registered), "--max-messages", "10")
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"Kafka metadata from {bootstrap}" in last and "TXF_KAFKA_BOOTSTRAP" in last and took < 25


def test_unregistered_subject_names_the_fix(stack: Any, tmp_path: Path) -> None:
    prefix = f"unreg{uuid.uuid4().hex[:8]}-"
    env = _env(stack, tmp_path, TXF_TICK_TOPIC=f"{prefix}tick", TXF_BIDASK_TOPIC=f"{prefix}bidask")
    result, _took = _run(env, "--max-messages", "10")
    assert result.returncode == 1
    assert "make register" in result.stderr.strip().splitlines()[-1]


def test_missing_topic_names_it(stack: Any, tmp_path: Path, registered: dict[str, str]) -> None:
    env = _env(stack, tmp_path, **{**registered, "TXF_DEAD_LETTER_TOPIC": f"nope-{uuid.uuid4().hex[:8]}"})
    result, _took = _run(env, "--max-messages", "10")
    assert result.returncode == 1
    assert "do not exist" in result.stderr and env["TXF_DEAD_LETTER_TOPIC"] in result.stderr


def test_invalid_setting_exits_78_naming_the_variable(stack: Any, tmp_path: Path) -> None:
    result, _took = _run(_env(stack, tmp_path, TXF_FLUSH_TIMEOUT_S="soon"), "--max-messages", "10")
    assert result.returncode == 78
    assert "TXF_FLUSH_TIMEOUT_S" in result.stderr


def _high(bootstrap: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "wm"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def test_sigterm_under_load_delivers_everything_accepted_then_exits_0(
    stack: Any, tmp_path: Path, registered: dict[str, str]
) -> None:
    env = _env(stack, tmp_path, TXF_LOG_LEVEL="INFO", **registered)
    proc = subprocess.Popen(
        [*PRODUCER, "run", "--source", "sim", "--rate", "5000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _high(stack.bootstrap_servers, registered["TXF_BIDASK_TOPIC"]) < 5000:  # mid-stream
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "producer never reached 5000 BidAsk records"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    stats = json.loads(re.search(r"final stats (\{.*\})", err).group(1))  # type: ignore[union-attr]
    assert stats["spooled_total"] == 0 and stats["delivery_errors"] == 0
    for key, cls in (("TXF_TICK_TOPIC", Tick), ("TXF_BIDASK_TOPIC", BidAsk)):
        topic = registered[key]
        assert stats["published"][topic] == stats["delivered"][topic] == _high(stack.bootstrap_servers, topic)
        c = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": f"chk-{uuid.uuid4().hex}"})
        c.assign([TopicPartition(topic, 0, 0)])
        seqs: list[int] = []
        while len(seqs) < stats["delivered"][topic]:
            batch = c.consume(min(5000, stats["delivered"][topic] - len(seqs)), timeout=10)
            assert batch
            seqs += [cls.FromString(m.value()[6:]).sequence for m in batch]
        c.close()
        assert seqs == list(range(1, len(seqs) + 1))


def test_record_then_replay_publishes_every_recorded_quote(
    stack: Any, tmp_path: Path, registered: dict[str, str]
) -> None:
    """--record writes every quote it saw (closed and flushed at exit); replay publishes them all again."""
    env = _env(stack, tmp_path, TXF_LOG_LEVEL="INFO", TXF_METRICS_PORT="0", **registered)
    recording = tmp_path / "session.rec"
    recorded, _took = _run(env, "--max-messages", "3000", "--record", str(recording))
    assert recorded.returncode == 0, recorded.stderr
    replay = subprocess.run(
        [*PRODUCER, "run", "--source", "replay", "--replay", str(recording)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replay.returncode == 0, replay.stderr
    counts = [
        json.loads(re.search(r"final stats (\{.*\})", r.stderr).group(1))  # type: ignore[union-attr]
        for r in (recorded, replay)
    ]
    assert [sum(c["published"].values()) for c in counts] == [3000, 3000]
