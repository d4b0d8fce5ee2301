"""Helpers shared by the integration tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor

REFERENCE_PREFIX_SKIPPED = "google/protobuf/"  # the serializer never registers well-known types


def unique(prefix: str) -> str:
    return f"it-{prefix}-{uuid.uuid4().hex[:10]}"


def consume(consumer: Consumer, count: int, timeout: float = 30.0) -> list[Message]:
    """Poll until `count` messages arrived (or fail at the deadline); errors fail the test."""
    out: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(out) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"got {len(out)} of {count} messages within {timeout} s")
        msg = consumer.poll(min(left, 1.0))
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        out.append(msg)
    return out


def read_all(stack, topic: str, count: int, partition: int = 0) -> list[Message]:
    """Read `count` messages from the start of one partition, without a consumer group."""
    c = Consumer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "group.id": unique("reader"),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        c.assign([TopicPartition(topic, partition, 0)])
        return consume(c, count)
    finally:
        c.close()


def file_descriptor_proto(obj) -> descriptor_pb2.FileDescriptorProto:
    """FileDescriptorProto of a generated message class, or of a FileDescriptor."""
    file_descriptor = obj.DESCRIPTOR.file if hasattr(obj, "DESCRIPTOR") else obj
    fdp = descriptor_pb2.FileDescriptorProto()
    file_descriptor.CopyToProto(fdp)
    return fdp


def expected_references(message_cls) -> list[str]:
    return [d.name for d in message_cls.DESCRIPTOR.file.dependencies if not d.name.startswith(REFERENCE_PREFIX_SKIPPED)]


def decode_b64_fdp(text: str) -> descriptor_pb2.FileDescriptorProto | None:
    try:
        return descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(text, validate=True))
    except Exception:  # not base64, or not a FileDescriptorProto
        return None


def sample(message_cls, seed: int):
    """A message with every field set to a distinct non-default value (independent of field names)."""
    msg = message_cls()
    _fill(msg, seed)
    return msg


def _fill(msg, seed: int) -> None:
    for i, f in enumerate(msg.DESCRIPTOR.fields, start=1):
        base = seed * 1000 + i * 7 + 1
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            if f.is_repeated:
                _fill(getattr(msg, f.name).add(), seed + i)
            else:
                _fill(getattr(msg, f.name), seed + i)
            continue
        values = [_scalar(f, base + k) for k in range(5 if f.is_repeated else 1)]
        if f.is_repeated:
            getattr(msg, f.name).extend(values)
        else:
            setattr(msg, f.name, values[0])


_SIGNED = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_SFIXED64,
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SFIXED32,
}
_UNSIGNED = {
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_FIXED32,
}


def _scalar(f: FieldDescriptor, n: int):
    t = f.type
    if t == FieldDescriptor.TYPE_STRING:
        return f"TXF{n}"
    if t == FieldDescriptor.TYPE_BYTES:
        return n.to_bytes(4, "big")
    if t == FieldDescriptor.TYPE_BOOL:
        return True
    if t == FieldDescriptor.TYPE_ENUM:
        nonzero = [v.number for v in f.enum_type.values if v.number != 0] or [0]
        return nonzero[n % len(nonzero)]
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return n + 0.5
    if t in _SIGNED:
        big = (
            n * 10_000
            if t in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64)
            else n
        )
        return -big if n % 3 == 0 else big
    if t in _UNSIGNED:
        return n * 1_000_003 if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64) else n
    raise AssertionError(f"unhandled field type {t} of {f.full_name}")


def http(method: str, url: str, body=None, timeout: float = 10.0) -> tuple[int, object]:
    """Plain urllib call to the registry's Confluent API: (status, parsed JSON or text)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={
            "Content-Type": "application/vnd.schemaregistry.v1+json",
            "Accept": "application/vnd.schemaregistry.v1+json, application/json",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def subject_path(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")
