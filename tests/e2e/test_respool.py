"""`txf-producer respool` republishes a spool file larger than the local queue, each record once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from txf_producer.spool import Spool

pytestmark = pytest.mark.integration


def test_a_spool_larger_than_the_local_queue_is_republished_whole(stack: Any, new_topic: Any, tmp_path: Path) -> None:
    topic = new_topic("respool")
    spool = Spool(tmp_path / "spool.msgpack")
    for i in range(3_000):  # records as the producer spools them: already framed, any bytes will do here
        spool.append(topic, b"TXFK6", f"record-{i}".encode(), "local queue full")
    spool.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TXF_")}
    env.update(
        TXF_KAFKA_BOOTSTRAP=stack.bootstrap_servers,
        TXF_KAFKA_EXTRA='{"queue.buffering.max.messages": 500}',  # the queue holds a sixth of the spool
    )
    result = subprocess.run(
        [sys.executable, "-m", "txf_producer.cli", "respool", str(spool.path)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "republished 3000 records" in result.stdout
    assert not spool.path.exists() and spool.path.with_suffix(".msgpack.done").exists()
    c = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": f"chk-{uuid.uuid4().hex}"})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        values: list[bytes | None] = []
        while len(values) < 3_000:
            batch = c.consume(3_000 - len(values), timeout=10)
            assert batch, f"read {len(values)} of 3000"
            values += [m.value() for m in batch if m.error() is None]
        assert values == [f"record-{i}".encode() for i in range(3_000)]
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1] == 3_000
    finally:
        c.close()


def test_respool_skips_what_the_topic_already_holds(stack: Any, new_topic: Any, tmp_path: Path) -> None:
    """A stop during an outage spools records the leader had already written (purged in flight): once the
    brokers are back they are on the topic, and respool must not write them again. It reads the topic
    back from the oldest spooled quote's arrival and skips every (run, stream, sequence) already there."""
    from confluent_kafka import Producer

    from txf.v1 import Tick

    topic = new_topic("respool-check")
    now_ns = time.time_ns()

    def framed(seq: int) -> bytes:
        tick = Tick(code="TXFK6", sequence=seq, producer_run_id=0xABC, receive_time_ns=now_ns + seq, close=1)
        return b"\x00\x00\x00\x00\x07\x00" + tick.SerializeToString()

    p = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for seq in range(1, 41):  # what the leader wrote before the producer gave up on it
        p.produce(topic, framed(seq), b"TXFK6")
    assert p.flush(30) == 0
    spool = Spool(tmp_path / "spool.msgpack")
    for seq in range(31, 61):  # 31-40 were written after all, 41-60 were not
        spool.append(topic, b"TXFK6", framed(seq), "purged in flight at shutdown")
    spool.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TXF_")}
    env.update(TXF_KAFKA_BOOTSTRAP=stack.bootstrap_servers)
    cmd = [sys.executable, "-m", "txf_producer.cli", "respool", str(spool.path)]
    result = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "republished 20 records" in result.stdout and "skipped 10 the topics already held" in result.stdout
    c = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": f"chk-{uuid.uuid4().hex}"})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        seqs: list[int] = []
        while len(seqs) < 60:
            batch = c.consume(100, timeout=10)
            assert batch, f"read {len(seqs)} of 60"
            seqs += [Tick.FromString(m.value()[6:]).sequence for m in batch if m.error() is None]
        assert seqs == list(range(1, 61))  # each once, in order
        assert c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1] == 60
    finally:
        c.close()
