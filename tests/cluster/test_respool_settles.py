"""respool on a cluster whose followers are catching up: a record the leader wrote, not yet committed
when respool began, is found, not written a second time.

Staged for real: both followers of a partition are paused (SIGSTOP by PID; they stay in sync for
replica.lag.time.max.ms), a quote is written with acks=1 (the leader appends it; the high watermark
stays below it, so no reader sees it), and the same quote is in a spool file, as a stop purging it in
flight leaves it. respool starts; the followers run on and the quote is committed. Reading
to the high watermark at its start, respool wrote it again (the nemesis saw 11 such records).
The followers run on as soon as respool says it is reading back (its stderr), so the quote is
committed while it reads.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from clusterkit import PRODUCER, ClusterUnderTest, figure, read_topic
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from stack import cluster, procs
from txf.v1 import Tick
from txf_producer.spool import Spool

FRAME = b"\x00\x00\x00\x00\x01\x00"  # a Confluent frame (respool identifies the quote by its payload)


def _framed(sequence: int) -> bytes:
    tick = Tick(code="TXFL6", sequence=sequence, producer_run_id=77, receive_time_ns=time.time_ns())
    return FRAME + tick.SerializeToString()


def _high(bootstrap: str, topic: str) -> int:
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "hw-probe"})
    try:
        return int(c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
    finally:
        c.close()


def test_respool_finds_a_record_committed_after_it_began(where: ClusterUnderTest, tmp_path: Path) -> None:
    topic = f"respool-settle-{os.getpid()}-{int(time.time())}"
    admin = AdminClient({"bootstrap.servers": where.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})])[topic].result(30)
    cluster.wait_in_sync(where.cfg, [topic], timeout=60)
    first, quote = (_framed(seq) for seq in (1, 2))
    writer = Producer({"bootstrap.servers": where.bootstrap, "acks": "all"})
    writer.produce(topic, first, key=b"TXFL6")
    assert writer.flush(30) == 0
    leader, replicas, _isr = cluster.partition_state(where.cfg, topic)
    followers = [n for n in replicas if n != leader]
    pids = [procs.running_pid(where.cfg, cluster.node(where.cfg, n).name) for n in followers]
    assert all(pids), pids
    spool = Spool(tmp_path / "spool.msgpack")
    spool.append(topic, b"TXFL6", quote, "purged in flight")
    spool.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_"))}
    env.update(TXF_KAFKA_BOOTSTRAP=where.bootstrap, TXF_REGISTRY_URL=where.registry_url)
    paused = False
    try:
        for pid in pids:
            os.kill(int(pid or 0), signal.SIGSTOP)
        paused = True
        leader_only = Producer({"bootstrap.servers": where.bootstrap, "acks": "1"})
        leader_only.produce(topic, quote, key=b"TXFL6")
        assert leader_only.flush(30) == 0  # the leader wrote it
        assert _high(where.bootstrap, topic) == 1  # ... and no reader can see it yet
        t0 = time.monotonic()
        respool = subprocess.Popen(
            [*PRODUCER, "respool", str(spool.path)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert respool.stderr is not None
        began = next((line for line in iter(respool.stderr.readline, "") if "reading back what it holds" in line), "")
        assert began, "respool ended without beginning its read-back"
        for pid in pids:
            os.kill(int(pid or 0), signal.SIGCONT)
        paused = False
        out, err = respool.communicate(timeout=240)
        took = time.monotonic() - t0
    finally:
        if paused:
            for pid in pids:
                os.kill(int(pid or 0), signal.SIGCONT)
    assert respool.returncode == 0, err
    done = re.search(r"republished (\d+) records .*skipped (\d+) the topics already held", out)
    assert done and (int(done.group(1)), int(done.group(2))) == (0, 1), out
    values = [m.value() for m in read_topic(where.bootstrap, topic)]
    assert values == [first, quote]  # once
    figure(f"respool with followers catching up: the quote committed after it began found, 0 written, {took:.1f} s")
    admin.delete_topics([topic])
