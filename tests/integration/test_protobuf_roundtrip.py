"""(a) ProtobufSerializer -> Kafka -> ProtobufDeserializer for the contract messages, schema ids from the registry."""

from __future__ import annotations

import importlib
import struct

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.common.serde import SubjectNameStrategyType
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from itkit import decode_b64_fdp, expected_references, file_descriptor_proto, read_all, sample, unique

# Since confluent-kafka 2.14 the default strategy is ASSOCIATED (it asks /associations first): pin TOPIC.
SERIALIZER_CONF = {
    "auto.register.schemas": True,
    "use.deprecated.format": False,
    "subject.name.strategy.type": SubjectNameStrategyType.TOPIC,
}
N = 5

CONTRACT = [("txf.v1.tick_pb2", "Tick"), ("txf.v1.bidask_pb2", "BidAsk")]


@pytest.mark.parametrize("module,name", CONTRACT, ids=[n for _m, n in CONTRACT])
def test_protobuf_round_trip_through_kafka(stack, new_topic, module, name):
    cls = getattr(importlib.import_module(module), name)
    topic = new_topic(name.lower())
    subject = f"{topic}-value"
    ctx = SerializationContext(topic, MessageField.VALUE)
    serializer = ProtobufSerializer(cls, SchemaRegistryClient({"url": stack.registry_url}), SERIALIZER_CONF)

    sent = [sample(cls, seed) for seed in range(1, N + 1)]
    assert len({m.SerializeToString() for m in sent}) == N  # distinct payloads, so order and identity are checked
    delivered: list = []
    producer = Producer(
        {"bootstrap.servers": stack.bootstrap_servers, "enable.idempotence": True, "acks": "all", "linger.ms": 0}
    )
    for i, msg in enumerate(sent):
        producer.produce(
            topic,
            key=f"k{i}".encode(),
            value=serializer(msg, ctx),
            on_delivery=lambda err, m: delivered.append((err, m.offset() if m else None)),
        )
    assert producer.flush(30) == 0
    assert delivered == [(None, i) for i in range(N)]

    records = read_all(stack, topic, N)
    assert [r.key() for r in records] == [f"k{i}".encode() for i in range(N)]

    # decode with the generated class (no registry call on the consume path; see stack/README.md)
    deserializer = ProtobufDeserializer(cls, {"use.deprecated.format": False})
    assert [deserializer(r.value(), ctx) for r in records] == sent

    # wire format: magic 0, 4-byte big-endian schema id, message index [0] as one 0x00, then the bare message
    registry = SchemaRegistryClient({"url": stack.registry_url})  # fresh client: no cache from registration
    latest = registry.get_latest_version(subject)
    assert latest.version == 1
    for record, msg in zip(records, sent, strict=True):
        value = record.value()
        assert value[0] == 0
        assert struct.unpack(">I", value[1:5])[0] == latest.schema_id
        assert value[5:6] == b"\x00"
        assert value[6:] == msg.SerializeToString()

    # the registered schema is the generated file descriptor, its imports registered as reference subjects
    assert latest.schema.schema_type == "PROTOBUF"
    assert decode_b64_fdp(latest.schema.schema_str) == file_descriptor_proto(cls)
    refs = expected_references(cls)
    assert [(r.name, r.subject) for r in latest.schema.references] == [(r, r) for r in refs]
    # asked per subject: a long-lived registry lists at most 1,000 subjects (Apicurio's page size)
    assert registry.get_versions(subject) == [1]
    for ref in latest.schema.references:
        assert registry.get_versions(ref.subject)
        dep = next(d for d in cls.DESCRIPTOR.file.dependencies if d.name == ref.name)
        registered = registry.get_version(ref.subject, ref.version)
        assert decode_b64_fdp(registered.schema.schema_str) == file_descriptor_proto(dep)


def test_tick_registers_common_proto_reference(stack):
    """The contract's Tick imports txf/v1/common.proto; that import must become a reference subject."""
    tick = importlib.import_module("txf.v1.tick_pb2").Tick
    assert "txf/v1/common.proto" in expected_references(tick)
    topic = unique("ref")
    serializer = ProtobufSerializer(tick, SchemaRegistryClient({"url": stack.registry_url}), SERIALIZER_CONF)
    serializer(sample(tick, 1), SerializationContext(topic, MessageField.VALUE))
    registry = SchemaRegistryClient({"url": stack.registry_url})
    assert registry.get_versions("txf/v1/common.proto")
    refs = registry.get_latest_version(f"{topic}-value").schema.references
    assert ("txf/v1/common.proto", "txf/v1/common.proto") in [(r.name, r.subject) for r in refs]
