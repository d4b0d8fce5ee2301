"""What the cluster fault tests share: the cluster's nodes, the shipped producer as a process watched
through its own /metrics, the consumer-group members, and the read-back that judges every record.

Nothing here stands in for a shipped part: brokers are the stack's KRaft nodes (stack/cluster.py),
the producer is `python -m txf_producer.cli run --source sim` exactly as a user starts it, the
consumers are tests/cluster/group_member.py processes on the txf_consumer library. Every process is
stopped by its PID (SIGTERM, then SIGKILL past a bound), also when a test fails.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client.parser import text_string_to_metric_families

from stack import cluster
from stack.config import StackConfig

HERE = Path(__file__).resolve().parent
PRODUCER = [sys.executable, "-m", "txf_producer.cli"]
#: A day session's open: at 2,500 msgs/s the simulated clock stays inside it for the whole run.
OPEN = dt.datetime(2026, 11, 24, 8, 45, tzinfo=dt.timezone(dt.timedelta(hours=8)))
HEADER = 6  # Confluent frame of a first message: magic 0, 4-byte schema id, index array [0]
#: librdkafka's own lines of the test's clients (a broker that is down on purpose) stay out of the output.
QUIET = logging.getLogger("txf.tests.cluster.librdkafka")
QUIET.addHandler(logging.NullHandler())
QUIET.propagate = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(condition: Callable[[], Any], what: str, timeout: float, every: float = 0.05) -> Any:
    """Poll `condition` until it returns something true; AssertionError naming `what` past the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def figure(line: str) -> None:
    """A measured figure, printed by the test itself (pytest -s, or the captured output of a failure)."""
    print(f"\n[cluster] {line}", flush=True)


# --------------------------------------------------------------------------- the cluster


@dataclass
class ClusterUnderTest:
    """A three-node cluster of the stack and the registry beside it."""

    cfg: StackConfig
    bootstrap: str
    registry_url: str

    def heal(self, topics: Sequence[str] = ()) -> None:
        """Every node running and listed, every partition of `topics` fully in sync."""
        cluster.ensure_cluster(self.cfg, 3, log=lambda m: None)
        if topics:
            cluster.wait_in_sync(self.cfg, list(topics), timeout=90)

    def kill(self, *node_ids: int) -> float:
        """SIGKILL these nodes by PID, back to back; returns the monotonic time of the first kill."""
        t = time.monotonic()
        for node_id in node_ids:
            cluster.kill_node(self.cfg, node_id)
        return t

    def start(self, *node_ids: int) -> float:
        """Start these nodes again on their data, side by side; returns when all are listed (seconds)."""
        t0 = time.monotonic()
        errors: list[BaseException] = []

        def one(node_id: int) -> None:
            try:
                cluster.start_node(self.cfg, node_id)
            except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(n,)) for n in node_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return time.monotonic() - t0

    def leader(self, topic: str) -> int:
        return cluster.partition_state(self.cfg, topic)[0]

    def controller(self) -> int | None:
        """The active controller, None while the voters elect one."""
        return cluster.active_controller(self.cfg)


def coordinator_partition(group: str, partitions: int = 3) -> int:
    """The __consumer_offsets partition whose leader coordinates `group`: Kafka's
    `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions` (3 in the stack), with Java's
    String.hashCode ("hello" -> 99162322)."""
    h = 0
    for ch in group:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return (h & 0x7FFFFFFF) % partitions


def writable(cfg: StackConfig, topic: str, partition: int, min_isr: int = 2) -> bool:
    """The partition has a leader and at least min.insync.replicas in sync: acks=all writes succeed."""
    try:
        leader, _replicas, isr = cluster.partition_state(cfg, topic, partition)
    except Exception:  # noqa: BLE001 - metadata not answered while nodes start: not writable yet
        return False
    return leader >= 0 and len(isr) >= min_isr


# --------------------------------------------------------------------------- the producer


@dataclass(frozen=True)
class Sample:
    """One scrape of the producer's /metrics."""

    t: float  # monotonic
    delivered: dict[str, float]
    published: dict[str, float]
    queue: float
    spooled: float
    start_time: float  # process_start_time_seconds: the same process throughout


def parse_metrics(text: str, t: float) -> Sample:
    values: dict[str, Any] = {"delivered": {}, "published": {}}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "txf_messages_delivered_total":
                values["delivered"][s.labels["topic"]] = s.value
            elif s.name == "txf_messages_published_total":
                values["published"][s.labels["topic"]] = s.value
            elif s.name in ("txf_queue_depth", "txf_spooled_total", "process_start_time_seconds"):
                values[s.name] = s.value
    return Sample(
        t,
        values["delivered"],
        values["published"],
        values.get("txf_queue_depth", 0.0),
        values.get("txf_spooled_total", 0.0),
        values.get("process_start_time_seconds", 0.0),
    )


class ProducerProcess:
    """`txf-producer run --source sim --rate R` on the cluster, scraped every 50 ms until stopped."""

    def __init__(self, tmp: Path, where: ClusterUnderTest, prefix: str, rate: int, seed: int, **env: str) -> None:
        self.port = free_port()
        self.state = tmp / "producer-state"
        self.log_path = tmp / "producer.log"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_", "TICK_", "BIDASK_"))
        }
        self.env.update(
            TXF_KAFKA_BOOTSTRAP=where.bootstrap,
            TXF_REGISTRY_URL=where.registry_url,
            TXF_TOPIC_PREFIX=prefix,
            TXF_STATE_DIR=str(self.state),
            TXF_METRICS_PORT=str(self.port),
            TXF_LOG_LEVEL="INFO",
            TXF_STATS_INTERVAL_S="3600",
            PYTHONUNBUFFERED="1",
            **env,
        )
        args = ["run", "--source", "sim", "--rate", str(rate), "--seed", str(seed), "--sim-start", OPEN.isoformat()]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*PRODUCER, *args], env=self.env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT
            )
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        url = f"http://127.0.0.1:{self.port}/metrics"
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    self.samples.append(parse_metrics(resp.read().decode(), time.monotonic()))
            except OSError:
                pass  # not serving yet, or gone
            self._stop.wait(0.05)

    @property
    def last(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def now(self) -> Sample:
        """The latest scrape (there is one once anything was waited for)."""
        assert self.samples, f"the producer's /metrics never answered ({self.log_tail()})"
        return self.samples[-1]

    def delivered(self, topic: str) -> float:
        last = self.last
        return last.delivered.get(topic, 0.0) if last else 0.0

    def wait_delivered(self, topic: str, at_least: float, timeout: float = 60) -> None:
        wait_until(
            lambda: self.proc.poll() is None and self.delivered(topic) >= at_least,
            f"producer delivering {at_least:.0f} records to {topic} ({self.log_tail()})",
            timeout,
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 5) -> str:
        return " | ".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 60) -> tuple[int, dict[str, Any]]:
        """SIGTERM (a user's stop: flush, then exit 0); the exit code and the final stats it logged."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        finally:
            self.close()
        stats = [line.split("final stats ", 1)[1] for line in self.log_text().splitlines() if "final stats " in line]
        assert stats, f"no final stats line in the producer's log: {self.log_tail()}"
        return code, json.loads(stats[-1])

    def close(self) -> None:
        """Stop sampling; SIGKILL the process by its PID if it still runs (a failed test)."""
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._sampler.join(5)

    def respool(self) -> subprocess.CompletedProcess[str]:
        """`txf-producer respool <state>/spool.msgpack`, as the runbook says, with the same settings."""
        return subprocess.run(
            [*PRODUCER, "respool", str(self.state / "spool.msgpack")],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )


@dataclass(frozen=True)
class Stall:
    """The longest time a producer's acknowledged count did not grow: `seconds`, from `start` to `end`."""

    seconds: float
    start: float
    end: float
    queued: float  # the most records in the producer's local queue meanwhile


def longest_stall(samples: list[Sample], topic: str, t_from: float, t_to: float) -> Stall:
    """Longest interval between two consecutive scrapes that saw txf_messages_delivered_total{topic} grow,
    among scrapes in [t_from, t_to] (scrape period 50 ms: the figure is within ~0.1 s)."""
    window = [s for s in samples if t_from <= s.t <= t_to]
    grew = [
        b.t for a, b in zip(window, window[1:], strict=False) if b.delivered.get(topic, 0) > a.delivered.get(topic, 0)
    ]
    assert len(grew) >= 2, f"deliveries to {topic} grew fewer than twice between the scrapes"
    start, end = max(zip(grew, grew[1:], strict=False), key=lambda ab: ab[1] - ab[0])
    queued = max((s.queue for s in window if start <= s.t <= end), default=0.0)
    return Stall(end - start, start, end, queued)


# --------------------------------------------------------------------------- read-back


def read_topic(bootstrap: str, topic: str) -> list[Message]:
    """Every record of every partition of `topic`, up to the high watermarks, in partition order."""
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"chk-{uuid.uuid4().hex}", "enable.auto.commit": False},
        logger=QUIET,
    )
    try:
        partitions = c.list_topics(topic, timeout=10).topics[topic].partitions
        out: list[Message] = []
        for p in sorted(partitions):
            high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            c.assign([TopicPartition(topic, p, 0)])
            got: list[Message] = []
            while len(got) < high:
                batch = c.consume(min(5000, high - len(got)), timeout=10)
                assert batch, f"{topic}[{p}]: read {len(got)} of {high}"
                got += [m for m in batch if m.error() is None]
            out += got
        return out
    finally:
        c.close()


@dataclass
class StreamCheck:
    """A stream's records as read back, judged against the producer's count."""

    records: int
    duplicates: int
    missing: int
    in_order: bool
    runs: int


def check_stream(messages: list[Message], cls: Any, published: int) -> StreamCheck:
    """Sequences 1..published each exactly once, one producer run (no restart), and whether in order."""
    decoded = [cls.FromString((m.value() or b"")[HEADER:]) for m in messages]
    seqs = [d.sequence for d in decoded]
    counts = Counter(seqs)
    return StreamCheck(
        records=len(seqs),
        duplicates=sum(n - 1 for n in counts.values() if n > 1),
        missing=len(set(range(1, published + 1)) - set(counts)),
        in_order=seqs == sorted(seqs),
        runs=len({d.producer_run_id for d in decoded}),
    )


# --------------------------------------------------------------------------- consumer group


@dataclass
class Member:
    """One group_member.py process and the lines it wrote."""

    index: int
    out: Path
    proc: subprocess.Popen[str]

    def places(self) -> list[tuple[int, int, int, int, float]]:
        """(partition, offset, sequence, run id, monotonic time) of every record handed to the strategy."""
        try:
            text = self.out.read_text()
        except FileNotFoundError:
            return []
        rows = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 5:  # a line cut by SIGKILL mid-write is not a record handed over
                rows.append((int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]) / 1e9))
        return rows


@dataclass
class Group:
    """A consumer group of `group_member.py` processes on one topic."""

    tmp: Path
    where: ClusterUnderTest
    topic: str
    name: str = field(default_factory=lambda: f"grp-{uuid.uuid4().hex[:10]}")
    members: list[Member] = field(default_factory=list)
    _admin: AdminClient | None = None

    def spawn(self, n: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TXF_")}
        env["PYTHONUNBUFFERED"] = "1"
        for i in range(len(self.members), len(self.members) + n):
            out = self.tmp / f"member-{i}.txt"
            with open(self.tmp / f"member-{i}.log", "w") as log:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        str(HERE / "group_member.py"),
                        self.where.bootstrap,
                        self.where.registry_url,
                        self.name,
                        self.topic,
                        str(out),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            self.members.append(Member(i, out, proc))

    def assignment(self) -> dict[str, list[int]] | None:
        """Member id -> partitions, while the group is stable; None while it rebalances (or its coordinator
        moves: NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS)."""
        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.where.bootstrap}, logger=QUIET)
        try:
            desc = self._admin.describe_consumer_groups([self.name])[self.name].result(10)
        except KafkaException:
            return None
        if str(desc.state).rsplit(".", 1)[-1] != "STABLE":
            return None
        return {m.member_id: sorted(tp.partition for tp in m.assignment.topic_partitions) for m in desc.members}

    def wait_stable(self, members: int, partitions: int, timeout: float) -> dict[str, list[int]]:
        def stable() -> dict[str, list[int]] | None:
            got = self.assignment()
            if got and len(got) == members and sorted(p for ps in got.values() for p in ps) == list(range(partitions)):
                return got
            return None

        result: dict[str, list[int]] = wait_until(
            stable, f"group {self.name} stable with {members} members", timeout, 0.2
        )
        return result

    def committed(self, partitions: int) -> dict[int, int]:
        """The group's committed offset per partition (0 where none), without joining the group."""
        c = Consumer(
            {"bootstrap.servers": self.where.bootstrap, "group.id": self.name, "enable.auto.commit": False},
            logger=QUIET,
        )
        try:
            got = c.committed([TopicPartition(self.topic, p) for p in range(partitions)], timeout=10)
            return {tp.partition: max(tp.offset, 0) for tp in got}
        finally:
            c.close()

    def stop(self, timeout: float = 30) -> list[int | None]:
        """SIGTERM every live member (clean close: commit, leave); SIGKILL past `timeout`. Exit codes."""
        for m in self.members:
            if m.proc.poll() is None:
                m.proc.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for m in self.members:
            try:
                codes.append(m.proc.wait(timeout))
            except subprocess.TimeoutExpired:
                m.proc.kill()
                m.proc.wait(10)
                codes.append(None)
        return codes

    def kill_all(self) -> None:
        for m in self.members:
            if m.proc.poll() is None:
                m.proc.kill()
                m.proc.wait(10)


def iter_places(members: list[Member]) -> Iterator[tuple[int, tuple[int, int, int, int, float]]]:
    for m in members:
        for place in m.places():
            yield m.index, place
