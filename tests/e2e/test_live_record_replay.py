"""A recording of the LIVE source replays onto the same topics with the same bytes (issue: it could not).

The real `txf-producer run --source shioaji --record` path runs as a process (tests/e2e/
live_with_fake_shioaji.py: only the broker's client is a scripted fake) against the real stack,
is stopped by its PID with SIGINT, and its recording is replayed by the real CLI with
`--source replay`. Every replayed record lands on the topic its live twin did, with the same frame
header and the same payload bytes once the two fields that name the run are set aside (sequence,
producer_run_id); the receive time is the recorded one, so it matches too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from google.protobuf.message import Message

from txf.v1 import BidAsk, Tick
from txf_producer.recording import open_recording
from txf_producer.sources.base import QuoteType, Subscription
from txf_registry import provision

pytestmark = pytest.mark.integration
DRIVER = Path(__file__).resolve().parent / "live_with_fake_shioaji.py"
QUOTES = 200
API_KEY, SECRET_KEY = "live-test-key-7f3c9e", "live-test-secret-b41d02"


@pytest.fixture(scope="module")
def topics(stack: Any) -> dict[str, str]:
    prefix = f"lr{uuid.uuid4().hex[:8]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    return {"tick": f"{prefix}txf-tick", "bidask": f"{prefix}txf-bidask", "dlq": f"{prefix}txf-dlq"}


def _env(stack: Any, tmp_path: Path, topics: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_", "TICK_", "BIDASK_"))}
    env.update(
        TXF_KAFKA_BOOTSTRAP=stack.bootstrap_servers,
        TXF_REGISTRY_URL=stack.registry_url,
        TXF_STATE_DIR=str(tmp_path / "state"),
        TXF_METRICS_PORT="0",
        TXF_LOG_LEVEL="INFO",
        TXF_TICK_TOPIC=topics["tick"],
        TXF_BIDASK_TOPIC=topics["bidask"],
        TXF_DEAD_LETTER_TOPIC=topics["dlq"],
        TXF_SHIOAJI_API_KEY=API_KEY,
        TXF_SHIOAJI_SECRET_KEY=SECRET_KEY,
        TXF_FAKE_QUOTES=str(QUOTES),
        PYTHONUNBUFFERED="1",
    )
    return env


def _read_all(stack: Any, topic: str, expected: int, deadline_s: float = 60) -> list[bytes]:
    """Every record of `topic` from the start, waiting until `expected` are there (or failing)."""
    c = Consumer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "group.id": f"lr-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    c.assign([TopicPartition(topic, 0, 0)])
    values: list[bytes] = []
    deadline = time.monotonic() + deadline_s
    try:
        while len(values) < expected and time.monotonic() < deadline:
            for m in c.consume(1000, timeout=0.5):
                if m.error() is None:
                    values.append(m.value())
    finally:
        c.close()
    assert len(values) >= expected, f"{topic}: {len(values)} records, expected {expected}"
    return values


def _without_run(value: bytes, cls: type[Message]) -> tuple[bytes, bytes]:
    """(frame header, payload with sequence and producer_run_id cleared)."""
    msg = cls.FromString(value[6:])
    assert msg.sequence >= 1 and msg.producer_run_id != 0
    msg.ClearField("sequence")
    msg.ClearField("producer_run_id")
    return value[:6], msg.SerializeToString()


def test_live_recording_replays_onto_the_same_topics_with_the_same_bytes(
    stack: Any, tmp_path: Path, topics: dict[str, str]
) -> None:
    env = _env(stack, tmp_path, topics)
    recording = tmp_path / "live.rec"
    live = subprocess.Popen(
        [sys.executable, str(DRIVER), "run", "--source", "shioaji", "--record", str(recording)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the session's quotes are all in Kafka: stop the producer as systemd does, by its PID
        ticks = _read_all(stack, topics["tick"], 1)
        bidasks = _read_all(stack, topics["bidask"], 1)
        deadline = time.monotonic() + 60
        while len(ticks) + len(bidasks) < QUOTES and time.monotonic() < deadline:
            ticks = _read_all(stack, topics["tick"], len(ticks))
            bidasks = _read_all(stack, topics["bidask"], len(bidasks))
        assert len(ticks) + len(bidasks) == QUOTES
        live.send_signal(signal.SIGINT)
        out, err = live.communicate(timeout=60)
    finally:
        if live.poll() is None:
            live.kill()
            live.wait()
    assert live.returncode == 0, err[-3000:]

    # the live recording names its streams: alias, real code and type
    with open_recording(recording) as r:
        assert r.header.source == "shioaji"
        assert set(r.header.subscriptions) == {
            Subscription("TXFR1", "TXFK6", QuoteType.TICK),
            Subscription("TXFR1", "TXFK6", QuoteType.BIDASK),
        }
        assert sum(1 for kind, _t, _p in r.records() if kind in (0, 1)) == QUOTES
    raw = recording.read_bytes()
    for secret in (API_KEY, SECRET_KEY):  # the credentials reach neither the recording nor the logs
        assert secret.encode() not in raw and secret not in err and secret not in out

    replay = subprocess.run(
        [sys.executable, "-m", "txf_producer.cli", "run", "--source", "replay", "--replay", str(recording)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 0, replay.stderr[-3000:]

    for topic, cls, live_values in ((topics["tick"], Tick, ticks), (topics["bidask"], BidAsk, bidasks)):
        everything = _read_all(stack, topic, 2 * len(live_values))
        assert len(everything) == 2 * len(live_values), f"{topic}: extra records"
        first, second = everything[: len(live_values)], everything[len(live_values) :]
        assert first == live_values
        assert [_without_run(v, cls) for v in second] == [_without_run(v, cls) for v in first]
        assert [cls.FromString(v[6:]).sequence for v in second] == list(range(1, len(second) + 1))
        runs = (
            {cls.FromString(v[6:]).producer_run_id for v in first},
            {cls.FromString(v[6:]).producer_run_id for v in second},
        )
        assert len(runs[0]) == len(runs[1]) == 1 and runs[0] != runs[1]
