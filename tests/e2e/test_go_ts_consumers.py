"""End to end: confluent-kafka's ProtobufSerializer -> real Kafka + Apicurio -> the Go and TypeScript consumers.

Every JSON line a consumer prints must equal, message for message, the Python reference
`{"topic","partition","offset","schemaId","type","message": MessageToDict(ProtobufDeserializer(T, {})(value))}`
(compared as parsed JSON). Also: malformed values are reported on stderr (topic/partition/offset) and skipped,
a schema id naming another type is skipped (checked against the real registry), offsets are committed to the
group, and the consumers stop by themselves (--max-messages) and on SIGINT / SIGTERM.

Builds: `go build` into a temporary directory (module scope); `npm ci` when consumers/ts/node_modules is missing or
older than its lock file or gen/ts/dist, `npm run build` when dist/ is missing or older than src/. Every subprocess
has a timeout; the only waiting is on process output and exit, never a sleep.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
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
GO_DIR = REPO / "consumers" / "go"
TS_DIR = REPO / "consumers" / "ts"
VECTORS = REPO / "tests" / "vectors" / "txf_v1.json"
BUILD_TIMEOUT_S = 600  # cold: module downloads + cgo build of librdkafka's Go binding (~1-2 min); warm: seconds
RUN_TIMEOUT_S = 90
TYPES: dict[str, type[Message]] = {"txf.v1.Tick": Tick, "txf.v1.BidAsk": BidAsk}
STACK_TRACE = re.compile(r"Traceback|^panic:|^goroutine \d+|^\s+at .+:\d+:\d+\)?$", re.M)


# --- build ------------------------------------------------------------------------------------------------------
def _run_build(cmd: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(cmd)} (in {cwd}) did not finish within {BUILD_TIMEOUT_S} s", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} (in {cwd}) failed ({done.returncode}):\n{done.stdout}\n{done.stderr}", pytrace=False
        )


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not on PATH (needed to build the consumers)", pytrace=False)
    return path


@pytest.fixture(scope="module")
def go_consumer(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    binary = tmp_path_factory.mktemp("go-consumer") / "txf-consume"
    _run_build([_need("go"), "build", "-o", str(binary), "./cmd/txf-consume"], GO_DIR)
    return [str(binary)]


@pytest.fixture(scope="module")
def ts_consumer() -> list[str]:
    npm = _need("npm")
    installed = TS_DIR / "node_modules" / ".package-lock.json"
    # node_modules holds a copy of gen/ts (install-links): reinstall when the lock or the generated package changed
    inputs = [TS_DIR / "package-lock.json"] + [p for p in (REPO / "gen" / "ts" / "dist").rglob("*") if p.is_file()]
    if not installed.exists() or installed.stat().st_mtime < max(p.stat().st_mtime for p in inputs):
        _run_build([npm, "ci", "--no-audit", "--no-fund"], TS_DIR)
    main = TS_DIR / "dist" / "main.js"
    sources = [p for p in (TS_DIR / "src").rglob("*.ts")] + [TS_DIR / "tsconfig.json", TS_DIR / "package-lock.json"]
    if not main.exists() or main.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        _run_build([npm, "run", "build"], TS_DIR)
    return [_need("node"), str(main)]


@pytest.fixture(params=["go", "ts"])
def consumer_cmd(request: pytest.FixtureRequest) -> list[str]:
    return request.getfixturevalue(f"{request.param}_consumer")


# --- data set ---------------------------------------------------------------------------------------------------
def _vectors() -> list[tuple[str, Message]]:
    out = []
    for v in json.loads(VECTORS.read_text("utf-8"))["vectors"]:
        if v["type"] not in TYPES:
            continue  # the ledger's Gap: decoded by every consumer in test_all_consumers.py
        msg = TYPES[v["type"]]()
        msg.ParseFromString(bytes.fromhex(v["hex"]))
        out.append((v["name"], msg))
    return out


def _ticks(n: int) -> list[Tick]:
    return [
        Tick(
            code="TXFK6" if i % 3 else "TXFL6",
            timestamp_ms=1763947800000 + i,
            close=234_560_000 + i * 10_000,
            volume=i % 7,
            tick_type=(TickType.TICK_TYPE_BUY, TickType.TICK_TYPE_SELL)[i % 2],
            total_volume=40_000 + i,
            sequence=i + 1,
            producer_run_id=(1 << 64) - 1 - i,
            chg_type=ChgType.CHG_TYPE_DOWN,
            price_chg=-1_250_000 - i,
            pct_chg=-(i * 7),
            simtrade=i == 3,
        )
        for i in range(n)
    ]


def _bidasks(n: int) -> list[BidAsk]:
    return [
        BidAsk(
            code="TXFK6",
            timestamp_ms=1763947800000 + i,
            bid_total_vol=100 + i,
            ask_total_vol=90,
            bid_price=[234_550_000 - k * 10_000 for k in range(5)],
            bid_volume=[i + k for k in range(5)],
            diff_bid_vol=[-i, 0, i, -1, 1],
            ask_price=[234_560_000 + k * 10_000 for k in range(5)],
            ask_volume=[5, 4, 3, 2, 1],
            diff_ask_vol=[0] * 5,
            sequence=i + 1,
            producer_run_id=i,
        )
        for i in range(n)
    ]


@dataclass
class DataSet:
    tick: str  # 2 partitions
    bidask: str
    bad: str  # Ticks and malformed values
    other: str  # BidAsks, read as Tick: the registry check must skip them
    types: dict[str, str]
    reference: list[dict[str, Any]] = field(default_factory=list)  # what every consumer must print
    skipped: list[tuple[str, int, int]] = field(default_factory=list)  # (topic, partition, offset) to report
    end_offsets: dict[tuple[str, int], int] = field(default_factory=dict)


def _create_topics(admin: AdminClient, partitions: dict[str, int]) -> None:
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=n, replication_factor=1) for t, n in partitions.items()],
        operation_timeout=30,
        request_timeout=30,
    )
    for f in futures.values():
        f.result(timeout=30)


@pytest.fixture(scope="module")
def dataset(stack) -> Iterator[DataSet]:
    run = uuid.uuid4().hex[:10]
    ds = DataSet(
        tick=f"e2e-gots-tick-{run}",
        bidask=f"e2e-gots-bidask-{run}",
        bad=f"e2e-gots-bad-{run}",
        other=f"e2e-gots-other-{run}",
        types={},
    )
    ds.types = {ds.tick: "txf.v1.Tick", ds.bidask: "txf.v1.BidAsk", ds.bad: "txf.v1.Tick", ds.other: "txf.v1.Tick"}
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    _create_topics(admin, {ds.tick: 2, ds.bidask: 1, ds.bad: 1, ds.other: 1})

    registry = SchemaRegistryClient({"url": stack.registry_url})
    serializers = {cls: ProtobufSerializer(cls, registry, serializer_config(True)) for cls in (Tick, BidAsk)}
    vectors = _vectors()
    plan: list[tuple[str, int, Message | bytes | str | None]] = []  # (topic, partition, message or raw value)
    ticks = [m for _n, m in vectors if isinstance(m, Tick)] + _ticks(25)
    plan += [(ds.tick, i % 2, m) for i, m in enumerate(ticks)]
    plan += [(ds.bidask, 0, m) for m in [m for _n, m in vectors if isinstance(m, BidAsk)] + _bidasks(15)]
    good = Tick(code="TXFK6", close=1, sequence=1)
    plan += [
        (ds.bad, 0, v)
        for v in (
            good,
            b'{"code":"TXFK6"}',  # JSON, bad magic byte
            b"\x00\x00\x00",  # truncated schema id
            None,  # tombstone
            "header+garbage",  # valid header, invalid protobuf (placeholder, built below)
            Tick(code="TXFL6", close=2, sequence=2),
        )
    ]
    plan += [(ds.other, 0, m) for m in _bidasks(3)]

    producer = Producer(
        {"bootstrap.servers": stack.bootstrap_servers, "acks": "all", "linger.ms": 0, "enable.idempotence": True}
    )
    delivered: list[tuple[Any, str, int, int]] = []
    values: list[bytes | None] = []
    tick_header: bytes | None = None
    for topic, partition, item in plan:
        if isinstance(item, Message):
            value = serializers[type(item)](item, SerializationContext(topic, MessageField.VALUE))
            key = item.code.encode()
            if topic == ds.bad:
                tick_header = value[:6]
        elif item == "header+garbage":
            assert tick_header is not None
            value, key = tick_header + b"\x0a\x05TX", b"TXFK6"  # string field 1, length 5, only 2 bytes
        else:
            value, key = item, b"TXFK6"
        values.append(value)
        producer.produce(
            topic,
            key=key,
            value=value,
            partition=partition,
            on_delivery=lambda err, m: delivered.append((err, m.topic(), m.partition(), m.offset())),
        )
        producer.flush(30)  # one at a time: delivery order == plan order, offsets are known
    assert producer.flush(30) == 0
    assert len(delivered) == len(plan) and all(err is None for err, *_ in delivered), delivered

    schema_ids = {
        t: registry.get_latest_version(f"{t}-value").schema_id for t in (ds.tick, ds.bidask, ds.bad, ds.other)
    }
    deserializers = {name: ProtobufDeserializer(cls, {}) for name, cls in TYPES.items()}
    for (_err, topic, partition, offset), value in zip(delivered, values, strict=False):
        ds.end_offsets[(topic, partition)] = max(ds.end_offsets.get((topic, partition), 0), offset + 1)
        if topic == ds.other:  # a BidAsk schema id on a topic read as Tick
            ds.skipped.append((topic, partition, offset))
            continue
        type_name = ds.types[topic]
        try:
            msg = deserializers[type_name](value, SerializationContext(topic, MessageField.VALUE))
        except Exception:  # noqa: BLE001 - the reference cannot decode it either: malformed
            msg = None
        if msg is None:
            ds.skipped.append((topic, partition, offset))
            continue
        ds.reference.append(
            {
                "topic": topic,
                "partition": partition,
                "offset": offset,
                "schemaId": schema_ids[topic],
                "type": type_name,
                "message": MessageToDict(msg),
            }
        )
    assert len(ds.skipped) == 4 + 3 and len(ds.reference) == len(plan) - 7
    assert schema_ids[ds.tick] == schema_ids[ds.bad] != schema_ids[ds.bidask] == schema_ids[ds.other]
    yield ds
    for f in admin.delete_topics([ds.tick, ds.bidask, ds.bad, ds.other], operation_timeout=30).values():
        f.result(timeout=30)


# --- running a consumer -----------------------------------------------------------------------------------------
def _args(stack, ds: DataSet, group: str, topics: list[str]) -> list[str]:
    args = [
        "--bootstrap",
        stack.bootstrap_servers,
        "--registry",
        stack.registry_url,
        "--group",
        group,
        "--topics",
        ",".join(topics),
        "--from-beginning",
    ]
    for t in topics:
        args += ["--type", f"{t}={ds.types[t]}"]
    return args


def _lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _key(line: dict[str, Any]) -> tuple[str, int, int]:
    return line["topic"], line["partition"], line["offset"]


def _assert_partition_order(lines: list[dict[str, Any]]) -> None:
    last: dict[tuple[str, int], int] = {}
    for line in lines:
        tp = (line["topic"], line["partition"])
        assert line["offset"] > last.get(tp, -1), f"out of order in {tp}: {line['offset']} after {last[tp]}"
        last[tp] = line["offset"]


def _committed(stack, group: str, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    c = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": group, "enable.auto.commit": False})
    try:
        got = c.committed([TopicPartition(t, p) for t, p in partitions], timeout=30)
    finally:
        c.close()
    return {(tp.topic, tp.partition): tp.offset for tp in got}


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{cmd[0]} did not exit within {RUN_TIMEOUT_S} s; stderr:\n{e.stderr}", pytrace=False)


# --- tests ------------------------------------------------------------------------------------------------------
def test_lines_equal_the_python_reference(stack, dataset: DataSet, consumer_cmd: list[str]) -> None:
    ds = dataset
    topics = [ds.tick, ds.bidask, ds.bad]
    count = sum(n for (t, _p), n in ds.end_offsets.items() if t in topics)
    group = f"e2e-gots-{uuid.uuid4().hex[:10]}"
    done = _run(
        consumer_cmd + _args(stack, ds, group, topics) + ["--max-messages", str(count), "--idle-exit-ms", "20000"]
    )
    assert done.returncode == 0, done.stderr
    assert not STACK_TRACE.search(done.stderr), done.stderr

    lines = _lines(done.stdout)
    _assert_partition_order(lines)
    assert sorted(lines, key=_key) == sorted(ds.reference, key=_key)
    for line in lines:  # the documented key order, not only the same object
        assert list(line) == ["topic", "partition", "offset", "schemaId", "type", "message"]

    for topic, partition, offset in ds.skipped:
        if topic in topics:
            assert f"skip topic={topic} partition={partition} offset={offset}:" in done.stderr, done.stderr
    partitions = [tp for tp in ds.end_offsets if tp[0] in topics]
    assert _committed(stack, group, partitions) == {tp: ds.end_offsets[tp] for tp in partitions}


def test_schema_id_of_another_type_is_skipped(stack, dataset: DataSet, consumer_cmd: list[str]) -> None:
    """Also the idle exit: no --max-messages, so the consumer stops 1.5 s after the last record."""
    ds = dataset
    group = f"e2e-gots-{uuid.uuid4().hex[:10]}"
    n = ds.end_offsets[(ds.other, 0)]
    done = _run(consumer_cmd + _args(stack, ds, group, [ds.other]) + ["--idle-exit-ms", "1500"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    for offset in range(n):
        assert re.search(
            rf"skip topic={ds.other} partition=0 offset={offset}: .*txf\.v1\.BidAsk, not txf\.v1\.Tick", done.stderr
        ), done.stderr
    assert _committed(stack, group, [(ds.other, 0)]) == {(ds.other, 0): n}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stops_on_signal_and_commits(
    stack, dataset: DataSet, consumer_cmd: list[str], sig: signal.Signals, tmp_path: Path
) -> None:
    ds = dataset
    expected = sorted((r for r in ds.reference if r["topic"] == ds.tick), key=_key)
    group = f"e2e-gots-{uuid.uuid4().hex[:10]}"
    err_path = tmp_path / "stderr.txt"
    with err_path.open("w") as err_file:
        proc = subprocess.Popen(
            consumer_cmd + _args(stack, ds, group, [ds.tick]), stdout=subprocess.PIPE, stderr=err_file, text=True
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    got: list[dict[str, Any]] = []
    try:
        while len(got) < len(expected):  # no limit given: it runs until the signal
            try:
                line = lines.get(timeout=RUN_TIMEOUT_S)
            except queue.Empty:
                pytest.fail(
                    f"{len(got)} of {len(expected)} lines after {RUN_TIMEOUT_S} s:\n{err_path.read_text()}",
                    pytrace=False,
                )
            if line is None:
                pytest.fail(f"exited early ({proc.wait(timeout=5)}):\n{err_path.read_text()}", pytrace=False)
            got.append(json.loads(line))
        proc.send_signal(sig)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    reader.join(timeout=10)
    stderr = err_path.read_text()
    assert rc == 0, stderr
    assert not STACK_TRACE.search(stderr), stderr
    assert sorted(got, key=_key) == expected
    parts = [(ds.tick, 0), (ds.tick, 1)]
    assert _committed(stack, group, parts) == {tp: ds.end_offsets[tp] for tp in parts}
