"""End to end: confluent-kafka's ProtobufSerializer -> real Kafka + Apicurio -> the Java consumer (consumers/java).

Every JSON line the Java consumer prints must equal, message for message, the Python reference
`{"topic","partition","offset","schemaId","type","message": MessageToDict(ProtobufDeserializer(T, {})(value))}`
(compared as parsed JSON). Also: malformed values are reported on stderr and skipped, offsets are committed to
the group, the consumer stops by itself (--max-messages, --idle-exit-ms) and on SIGTERM/SIGINT.

The jar is built (consumers/java/build.sh -DskipTests: installs gen/java's txf-contracts into the local Maven
repository, then packages) when it is missing or older than its sources. Every subprocess has a timeout.
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from txf.v1 import BidAsk, ChgType, Tick, TickType
from txf_kit.framing import serializer_config

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
JAVA_DIR = REPO / "consumers" / "java"
JAR = JAVA_DIR / "target" / "txf-consumer.jar"
VECTORS = REPO / "tests" / "vectors" / "txf_v1.json"
BUILD_TIMEOUT_S = 600  # a cold build downloads the Maven plugins and dependencies; warm: ~15 s
RUN_TIMEOUT_S = 90
JVM_FLAGS = ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k"]
TYPES: dict[str, type[Message]] = {"txf.v1.Tick": Tick, "txf.v1.BidAsk": BidAsk}


# --- build ------------------------------------------------------------------------------------------------------
def _newest_source_mtime() -> float:
    sources = [JAVA_DIR / "pom.xml", JAVA_DIR / "build.sh", REPO / "gen" / "java" / "pom.xml"]
    for root in (JAVA_DIR / "src", REPO / "gen" / "java" / "src" / "main"):
        sources += [p for p in root.rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in sources)


@pytest.fixture(scope="module")
def java_consumer() -> list[str]:
    """The command line prefix that runs the consumer; builds the jar when missing or stale."""
    java, mvn = shutil.which("java"), shutil.which("mvn")
    if java is None:
        pytest.fail("java (17+) is not on PATH", pytrace=False)
    if not JAR.exists() or JAR.stat().st_mtime < _newest_source_mtime():
        if mvn is None:
            pytest.fail(
                "mvn is not on PATH and consumers/java/target/txf-consumer.jar is missing or stale", pytrace=False
            )
        t0 = time.monotonic()
        try:
            r = subprocess.run(
                [str(JAVA_DIR / "build.sh"), "-DskipTests"],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"consumers/java/build.sh took more than {BUILD_TIMEOUT_S} s", pytrace=False)
        if r.returncode != 0 or not JAR.exists():
            pytest.fail(
                f"consumers/java/build.sh failed ({r.returncode}):\n{(r.stdout + r.stderr)[-4000:]}", pytrace=False
            )
        print(f"[java] built {JAR.relative_to(REPO)} in {time.monotonic() - t0:.1f} s")
    return [java, *JVM_FLAGS, "-jar", str(JAR)]


# --- topics and records -----------------------------------------------------------------------------------------
def _create_topics(bootstrap: str, partitions: dict[str, int]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=n, replication_factor=1) for t, n in partitions.items()],
        operation_timeout=30,
        request_timeout=30,
    )
    for f in futures.values():
        f.result(timeout=30)
    deadline = time.monotonic() + 30
    pending = dict(partitions)
    while pending and time.monotonic() < deadline:  # until the broker's metadata has every leader
        md = admin.list_topics(timeout=5).topics
        for t, n in list(pending.items()):
            m = md.get(t)
            if (
                m is not None
                and m.error is None
                and len(m.partitions) == n
                and all(p.leader >= 0 for p in m.partitions.values())
            ):
                del pending[t]
        if pending:
            time.sleep(0.05)
    assert not pending, f"no leader after 30 s for {sorted(pending)}"


def _golden(type_name: str) -> list[Message]:
    vectors = json.loads(VECTORS.read_text("utf-8"))["vectors"]
    return [TYPES[type_name].FromString(bytes.fromhex(v["hex"])) for v in vectors if v["type"] == type_name]


def _ticks(n: int) -> list[Message]:
    out: list[Message] = _golden("txf.v1.Tick")
    for i in range(n):
        out.append(
            Tick(
                code="TXFK6" if i % 2 else "TXFL6",
                timestamp_ms=1763947800000 + i,
                close=234_560_000 + i,
                volume=1 + i % 5,
                tick_type=TickType.TICK_TYPE_SELL if i % 3 else TickType.TICK_TYPE_BUY,
                total_volume=40_000 + i,
                sequence=i + 1,
                producer_run_id=2**64 - 1 - i,
                chg_type=ChgType.CHG_TYPE_DOWN,
                price_chg=-(i * 10_000),
                simtrade=i == 7,
            )
        )
    return out


def _bidasks(n: int) -> list[Message]:
    out: list[Message] = _golden("txf.v1.BidAsk")
    for i in range(n):
        out.append(
            BidAsk(
                code="TXFK6",
                timestamp_ms=1763947800000 + i,
                sequence=i + 1,
                bid_price=[234_550_000 - 10_000 * k for k in range(5)],
                bid_volume=[1 + k + i for k in range(5)],
                ask_price=[234_560_000 + 10_000 * k for k in range(5)],
                ask_volume=[2 + k for k in range(5)],
                diff_bid_vol=[-1, 0, 2, 0, -3],
                diff_ask_vol=[i, -i, 0, 0, 1],
            )
        )
    return out


class Produced:
    """What was produced, from the delivery reports: (topic, partition, offset) -> (value, type name or None)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, int, int], tuple[bytes, str | None]] = {}
        self.errors: list[str] = []

    def reference(self) -> dict[tuple[str, int, int], dict[str, Any]]:
        """The Python reference line of every well-formed record (ProtobufDeserializer without a registry)."""
        out = {}
        for (topic, partition, offset), (value, type_name) in self.records.items():
            if type_name is None:
                continue
            msg = ProtobufDeserializer(TYPES[type_name], {})(value, SerializationContext(topic, MessageField.VALUE))
            out[(topic, partition, offset)] = {
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "schemaId": int.from_bytes(value[1:5], "big"),
                "type": type_name,
                "message": MessageToDict(msg),
            }
        return out

    def high_watermarks(self) -> dict[tuple[str, int], int]:
        out: dict[tuple[str, int], int] = {}
        for topic, partition, offset in self.records:
            out[(topic, partition)] = max(out.get((topic, partition), 0), offset + 1)
        return out


def _produce(stack: Any, plan: list[tuple[str, int, Message | bytes]]) -> Produced:
    """Produce (topic, partition, message or raw value) in order; messages through ProtobufSerializer."""
    registry = SchemaRegistryClient({"url": stack.registry_url, "timeout": 10})
    serializers = {
        t: ProtobufSerializer(cls, registry, serializer_config(auto_register=True)) for t, cls in TYPES.items()
    }
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "enable.idempotence": True, "linger.ms": 5})
    produced = Produced()
    for topic, partition, item in plan:
        if isinstance(item, Message):
            type_name = item.DESCRIPTOR.full_name
            value = serializers[type_name](item, SerializationContext(topic, MessageField.VALUE))
            key = item.code.encode("utf-8")  # type: ignore[attr-defined]
        else:
            type_name, value, key = None, item, b"bad"

        def report(err: Any, msg: Any, value: bytes = value, type_name: str | None = type_name) -> None:
            if err is not None:
                produced.errors.append(str(err))
            else:
                produced.records[(msg.topic(), msg.partition(), msg.offset())] = (value, type_name)

        producer.produce(topic, value=value, key=key, partition=partition, on_delivery=report)
    assert producer.flush(30) == 0, "records still undelivered after 30 s"
    assert not produced.errors, produced.errors
    assert len(produced.records) == len(plan)
    return produced


def _committed(bootstrap: str, group: str, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = c.committed([TopicPartition(t, p) for t, p in partitions], timeout=15)
        return {(tp.topic, tp.partition): tp.offset for tp in got}
    finally:
        c.close()


def _lines(stdout: str) -> dict[tuple[str, int, int], dict[str, Any]]:
    out: dict[tuple[str, int, int], dict[str, Any]] = {}
    for line in stdout.splitlines():
        obj = json.loads(line)
        key = (obj["topic"], obj["partition"], obj["offset"])
        assert key not in out, f"printed twice: {key}"
        out[key] = obj
    return out


def _assert_no_stack_trace(stderr: str) -> None:
    assert "\tat " not in stderr and "Exception in thread" not in stderr, stderr[-3000:]


@pytest.fixture
def topics(stack: Any) -> Iterator[dict[str, str]]:
    run = uuid.uuid4().hex[:10]
    names = {
        "tick": f"e2e-java-{run}-txf-tick",  # type by name (prefix-txf-tick)
        "bidask": f"e2e-java-{run}-txf-bidask",
        "other": f"e2e-java-{run}-quotes",
    }  # type by --type
    _create_topics(stack.bootstrap_servers, {names["tick"]: 1, names["bidask"]: 2, names["other"]: 1})
    yield names
    AdminClient({"bootstrap.servers": stack.bootstrap_servers}).delete_topics(
        list(names.values()), operation_timeout=10
    )


# --- tests ------------------------------------------------------------------------------------------------------
def test_java_lines_equal_the_python_reference(stack: Any, topics: dict[str, str], java_consumer: list[str]) -> None:
    tick_t, bidask_t, other_t = topics["tick"], topics["bidask"], topics["other"]
    ticks, bidasks = _ticks(40), _bidasks(30)
    registry = SchemaRegistryClient({"url": stack.registry_url, "timeout": 10})
    tick_header = ProtobufSerializer(Tick, registry, serializer_config(auto_register=True))(
        Tick(code="X"), SerializationContext(tick_t, MessageField.VALUE)
    )[:6]
    assert tick_header[0] == 0 and tick_header[5] == 0
    malformed = [
        b"\x01\x00\x00\x00\x01\x00\x0a\x00",  # bad magic byte
        b"\x00\x00",  # truncated schema id
        tick_header + b"\x0a\xff",  # right header, truncated string field
        b"\x00\x7f\xff\xff\xf0\x00" + ticks[0].SerializeToString(),
    ]  # schema id unknown to the registry
    plan: list[tuple[str, int, Message | bytes]] = [(tick_t, 0, m) for m in ticks[:10]]
    plan += [(tick_t, 0, v) for v in malformed]  # in the middle: every partition ends with a good record
    plan += [(tick_t, 0, m) for m in ticks[10:]]
    plan += [(bidask_t, i % 2, m) for i, m in enumerate(bidasks)]
    plan += [(other_t, 0, m) for m in ticks[:5]]
    produced = _produce(stack, plan)
    want = produced.reference()
    n = len(want)
    assert n == len(ticks) + len(bidasks) + 5 and len(produced.records) == n + len(malformed)

    group = f"e2e-java-{uuid.uuid4().hex[:10]}"
    cmd = [
        *java_consumer,
        "--bootstrap",
        stack.bootstrap_servers,
        "--registry",
        stack.registry_url,
        "--group",
        group,
        "--topics",
        f"{tick_t},{bidask_t},{other_t}",
        "--type",
        f"{other_t}=txf.v1.Tick",
        "--from-beginning",
        "--max-messages",
        str(n),
        "--idle-exit-ms",
        "30000",
    ]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, timeout=RUN_TIMEOUT_S, encoding="utf-8")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    _assert_no_stack_trace(r.stderr)

    got = _lines(r.stdout)
    assert sorted(got) == sorted(want)
    for key in want:
        assert got[key] == want[key], key
    # offsets rise within each partition, in the order printed
    last: dict[tuple[str, int], int] = {}
    for line in r.stdout.splitlines():
        o = json.loads(line)
        assert o["offset"] > last.get((o["topic"], o["partition"]), -1)
        last[(o["topic"], o["partition"])] = o["offset"]

    # the malformed values: reported with topic/partition/offset, skipped
    for (topic, partition, offset), (_value, type_name) in produced.records.items():
        if type_name is None:
            assert f"skipped record topic={topic} partition={partition} offset={offset}:" in r.stderr, r.stderr
    assert "bad magic byte 0x01" in r.stderr and "truncated schema id" in r.stderr
    assert "payload is not a valid txf.v1.Tick" in r.stderr
    assert (
        f"registry check failed: unknown to the registry (GET {stack.registry_url}/schemas/ids/2147483632 -> 404)"
        in r.stderr
    ), r.stderr
    # the registry check ran once per (topic, id) and passed for every good record
    ids = {v["schemaId"] for v in want.values()}
    assert len(ids) == 2  # Tick's and BidAsk's schema: ids are content ids in Apicurio
    for topic, type_name in ((tick_t, "txf.v1.Tick"), (bidask_t, "txf.v1.BidAsk"), (other_t, "txf.v1.Tick")):
        sid = next(v["schemaId"] for v in want.values() if v["topic"] == topic)
        assert r.stderr.count(f"verified schema id {sid} [0] is {type_name} on topic {topic}") == 1, r.stderr
    assert r.stderr.count("registry check failed") == 1 and "unavailable" not in r.stderr

    # offsets committed up to the end of every partition
    hw = produced.high_watermarks()
    assert _committed(stack.bootstrap_servers, group, sorted(hw)) == hw

    # the same group again: nothing left to print, it stops after the idle time
    t1 = time.monotonic()
    r2 = subprocess.run(
        [
            *java_consumer,
            "--bootstrap",
            stack.bootstrap_servers,
            "--group",
            group,
            "--topics",
            f"{tick_t},{bidask_t},{other_t}",
            "--type",
            f"{other_t}=txf.v1.Tick",
            "--from-beginning",
            "--idle-exit-ms",
            "1500",
        ],
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        encoding="utf-8",
    )
    took2 = time.monotonic() - t1
    assert r2.returncode == 0, r2.stderr[-3000:]
    _assert_no_stack_trace(r2.stderr)
    assert r2.stdout == ""
    assert "idle for" in r2.stderr and "0 messages printed" in r2.stderr, r2.stderr
    print(f"[java] {n} messages in {took:.2f} s (JVM start, group join, registry checks); idle re-run {took2:.2f} s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_java_consumer_stops_on_signal_and_commits(
    stack: Any, topics: dict[str, str], java_consumer: list[str], sig: signal.Signals
) -> None:
    tick_t = topics["tick"]
    produced = _produce(stack, [(tick_t, 0, m) for m in _ticks(20)])
    want = produced.reference()
    group = f"e2e-java-{uuid.uuid4().hex[:10]}"
    proc = subprocess.Popen(
        [
            *java_consumer,
            "--bootstrap",
            stack.bootstrap_servers,
            "--group",
            group,
            "--topics",
            tick_t,
            "--from-beginning",
            "--idle-exit-ms",
            "60000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
    )
    lines: queue.Queue[str | None] = queue.Queue()
    stderr: list[str] = []

    def pump_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_stderr() -> None:
        assert proc.stderr is not None
        stderr.extend(proc.stderr)

    threads = [threading.Thread(target=pump_stdout, daemon=True), threading.Thread(target=pump_stderr, daemon=True)]
    for t in threads:
        t.start()
    try:
        out: list[str] = []
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while len(out) < len(want):
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"consumer ended early: {''.join(stderr)[-3000:]}"
            out.append(line)
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        for t in threads:
            t.join(timeout=10)
    err = "".join(stderr)
    assert code == 128 + sig, err[-3000:]  # the JVM's exit status after its shutdown hooks ran
    _assert_no_stack_trace(err)
    assert "signal: stopping" in err and f"stopped: {len(want)} messages printed" in err, err
    assert _lines("".join(out)) == want
    assert _committed(stack.bootstrap_servers, group, [(tick_t, 0)]) == produced.high_watermarks()


def test_java_consumer_usage_error(java_consumer: list[str]) -> None:
    r = subprocess.run(
        [*java_consumer, "--topics", "mystery-topic"], capture_output=True, timeout=RUN_TIMEOUT_S, encoding="utf-8"
    )
    assert r.returncode == 2
    assert r.stdout == ""
    assert "no message type for topic(s) mystery-topic" in r.stderr and "usage:" in r.stderr
