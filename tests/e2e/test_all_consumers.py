"""Issue 6's proof: the producer publishes the seeded simulated feed (its real settings: lz4, registry
frames) and every consumer, Python, Go, TypeScript and Java, reads all of it and prints, message for
message, exactly the Python reference decoding (confluent-kafka's ProtobufDeserializer + MessageToDict).

Beside the producer's records, every golden vector goes to the topic of its message, framed with the
schema id the registry gave that topic: records of contract 1.0.0 (no flags), of 1.1.0 (the arbiter's
flags, a flag bit no contract has yet) and the ledger's txf.v1.Gap on the gaps topic. The consumers
are given the prefixed topics only (no --type): each finds every topic's message in its generated
topic table (make gen, from the topic map), after the prefix.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from test_go_ts_consumers import go_consumer, ts_consumer  # noqa: F401 - build fixtures
from test_java_consumer import java_consumer  # noqa: F401 - build fixture

from txf_consumer.consumer import DEFAULT_TOPIC_TYPES, MESSAGE_TYPES
from txf_producer.app import EXIT_OK, ProducerApp, run_app
from txf_producer.settings import load_settings
from txf_producer.sources.simulated import SimConfig, SimulatedSource
from txf_registry import provision, topic_settings

pytestmark = pytest.mark.integration
PRODUCED = 1500  # by the producer; the golden vectors come on top
TAIPEI = dt.timezone(dt.timedelta(hours=8))
VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "txf_v1.json").read_text("utf-8"))["vectors"]
N = PRODUCED + len(VECTORS)


def _publish_vectors(stack: Any, prefix: str) -> None:
    """Each golden vector to the prefixed topic of its message, framed with that topic's registered schema id."""
    topic_of = {message: prefix + topic for topic, message in reversed(DEFAULT_TOPIC_TYPES.items())}
    registry = SchemaRegistryClient({"url": stack.registry_url})
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers, "enable.idempotence": True})
    for v in VECTORS:
        topic = topic_of[v["type"]]
        schema_id = registry.get_latest_version(f"{topic}-value").schema_id
        producer.produce(topic, b"\x00" + schema_id.to_bytes(4, "big") + b"\x00" + bytes.fromhex(v["hex"]))
    assert producer.flush(30) == 0


@pytest.fixture(scope="module")
def published(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The producer's own run into unique topics, and the reference lines of every record."""
    prefix = f"all{uuid.uuid4().hex[:8]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    topics = topic_settings(prefix)
    settings = load_settings(
        kafka_bootstrap=stack.bootstrap_servers,
        registry_url=stack.registry_url,
        **topics,
        state_dir=tmp_path_factory.mktemp("state"),
        metrics_port=0,
    )
    assert settings.compression == "lz4"  # what consumers meet in production
    streams = tuple((a, q) for q, a, _t in settings.routes())
    source = SimulatedSource(
        SimConfig(
            seed=17, start=dt.datetime(2026, 11, 24, 8, 45, tzinfo=TAIPEI), streams=streams, max_messages=PRODUCED
        )
    )
    result = run_app(lambda: ProducerApp(settings, source))
    assert result.exit_code == EXIT_OK and sum(result.stats["delivered"].values()) == PRODUCED, result
    _publish_vectors(stack, prefix)
    topics = sorted({prefix + t for t, m in DEFAULT_TOPIC_TYPES.items() if m in {v["type"] for v in VECTORS}})

    reference: dict[tuple[str, int, int], dict[str, Any]] = {}
    c = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": f"ref-{uuid.uuid4().hex}"})
    try:
        for topic in topics:
            cls: type[Message] = MESSAGE_TYPES[DEFAULT_TOPIC_TYPES[topic.removeprefix(prefix)]]
            deserialize = ProtobufDeserializer(cls, {})
            high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
            c.assign([TopicPartition(topic, 0, 0)])
            got = 0
            while got < high:
                batch = c.consume(min(1000, high - got), timeout=10)
                assert batch, f"{topic}: {got} of {high}"
                for m in batch:
                    msg = deserialize(m.value(), SerializationContext(topic, MessageField.VALUE))
                    reference[(topic, m.partition(), m.offset())] = {
                        "topic": topic,
                        "partition": m.partition(),
                        "offset": m.offset(),
                        "schemaId": int.from_bytes(m.value()[1:5], "big"),
                        "type": cls.DESCRIPTOR.full_name,
                        "message": MessageToDict(msg),
                    }
                got += len(batch)
    finally:
        c.close()
    assert len(reference) == N
    assert {r["type"] for r in reference.values()} >= {"txf.v1.Tick", "txf.v1.BidAsk", "txf.v1.Gap"}
    return {"topics": topics, "reference": reference}


def _consume(stack: Any, cmd: list[str], published: dict[str, Any], extra: list[str] = ()) -> dict:  # type: ignore[assignment]
    args = [
        "--bootstrap",
        stack.bootstrap_servers,
        "--registry",
        stack.registry_url,
        "--group",
        f"all-{uuid.uuid4().hex[:8]}",
        "--topics",
        ",".join(published["topics"]),
        "--from-beginning",
        "--max-messages",
        str(N),
        "--idle-exit-ms",
        "8000",
        *extra,
    ]
    run = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return {(x["topic"], x["partition"], x["offset"]): x for x in lines}


CONSUMERS = {
    "python": lambda request: [sys.executable, "-m", "txf_consumer"],
    "go": lambda request: request.getfixturevalue("go_consumer"),
    "ts": lambda request: request.getfixturevalue("ts_consumer"),
    "java": lambda request: request.getfixturevalue("java_consumer"),
}


@pytest.mark.parametrize("language", CONSUMERS)
def test_every_consumer_prints_the_reference_for_every_record(
    stack: Any, published: dict[str, Any], language: str, request: pytest.FixtureRequest
) -> None:
    extra = ["--output", "jsonl"] if language == "python" else []
    got = _consume(stack, CONSUMERS[language](request), published, extra)
    reference = published["reference"]
    missing = reference.keys() - got.keys()
    assert not missing, f"{language}: {len(missing)} of {N} records missing"
    assert got.keys() == reference.keys()
    for key, want in reference.items():
        assert got[key] == want, f"{language} differs at {key}"
