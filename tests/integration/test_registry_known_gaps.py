"""Canaries for the gaps measured in Apicurio Registry 3.3.3's Confluent API (see stack/README.md).

Each test asserts the gap as it is today. If one fails after the Apicurio pin in stack/pom.xml
changes, the gap is gone: update stack/README.md and drop the workaround and this canary.
"""

from __future__ import annotations

import base64
import importlib
import struct

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.common.serde import SubjectNameStrategyType
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from itkit import expected_references, file_descriptor_proto, http, sample, unique

Tick = importlib.import_module("txf.v1.tick_pb2").Tick
TOPIC_STRATEGY = {"subject.name.strategy.type": SubjectNameStrategyType.TOPIC}
NO_RETRY = {"max.retries": 0}  # the client retries HTTP 5xx with back-off; these calls are expected to fail


@pytest.fixture
def registered_tick(stack):
    topic = unique("gap")
    serializer = ProtobufSerializer(
        Tick,
        SchemaRegistryClient({"url": stack.registry_url}),
        {"auto.register.schemas": True, "use.deprecated.format": False, **TOPIC_STRATEGY},
    )
    msg = sample(Tick, 3)
    framed = serializer(msg, SerializationContext(topic, MessageField.VALUE))
    return topic, msg, framed, struct.unpack(">I", framed[1:5])[0]


def test_gap_format_serialized_is_http_500(stack, registered_tick):
    _topic, _msg, _framed, schema_id = registered_tick
    status, body = http("GET", f"{stack.registry_url}/schemas/ids/{schema_id}?format=serialized")
    assert status == 500, f"format=serialized works now ({status}): update stack/README.md"
    status, body = http("GET", f"{stack.registry_url}/schemas/ids/{schema_id}")
    assert status == 200 and base64.b64decode(body["schema"])  # workaround: the default form is the stored base64


def test_gap_deserializer_with_registry_client_fails_and_without_works(stack, registered_tick):
    topic, msg, framed, _id = registered_tick
    ctx = SerializationContext(topic, MessageField.VALUE)
    fresh = SchemaRegistryClient({"url": stack.registry_url, **NO_RETRY})  # nothing cached: must ask the registry
    with pytest.raises(SchemaRegistryError):
        ProtobufDeserializer(Tick, {"use.deprecated.format": False, **TOPIC_STRATEGY}, fresh)(framed, ctx)
    assert ProtobufDeserializer(Tick, {"use.deprecated.format": False})(framed, ctx) == msg


def test_gap_use_latest_version_fails(stack, registered_tick):
    topic, msg, framed, _id = registered_tick
    serializer = ProtobufSerializer(
        Tick,
        SchemaRegistryClient({"url": stack.registry_url, **NO_RETRY}),
        {"auto.register.schemas": False, "use.latest.version": True, "use.deprecated.format": False, **TOPIC_STRATEGY},
    )
    with pytest.raises(SchemaRegistryError):
        serializer(msg, SerializationContext(topic, MessageField.VALUE))
    # workaround: plain lookup (POST /subjects/{s}) with auto.register.schemas=False works
    lookup = ProtobufSerializer(
        Tick,
        SchemaRegistryClient({"url": stack.registry_url}),
        {"auto.register.schemas": False, "use.deprecated.format": False, **TOPIC_STRATEGY},
    )
    assert lookup(msg, SerializationContext(topic, MessageField.VALUE))[:6] == framed[:6]


def test_gap_compatibility_endpoint_rejects_schemas_with_references(stack, registered_tick):
    topic, _msg, _framed, _id = registered_tick
    subject = f"{topic}-value"
    assert http("PUT", f"{stack.registry_url}/config/{subject}", {"compatibility": "BACKWARD"})[0] == 200
    refs = [{"name": r, "subject": r, "version": 1} for r in expected_references(Tick)]
    assert refs, "Tick no longer imports anything: this canary needs a schema with references"
    same = {
        "schemaType": "PROTOBUF",
        "references": refs,
        "schema": base64.b64encode(file_descriptor_proto(Tick).SerializeToString()).decode(),
    }
    status, body = http("POST", f"{stack.registry_url}/compatibility/subjects/{subject}/versions/latest", same)
    assert status == 422, f"compatibility check with references works now ({status} {body}): update stack/README.md"
