"""Decode record values in the Confluent Schema Registry protobuf wire format.

Layout (what confluent-kafka's `ProtobufSerializer` writes, see REFERENCE.md §3):

    byte 0      magic byte 0x00
    bytes 1..4  schema id, 32-bit big-endian
    then        message-index array: zig-zag varint count, then that many zig-zag
                varints (the path of the message inside the schema's file); the
                common "first message of the file", [0], is the single byte 0x00
    rest        exactly `message.SerializeToString()` (may be empty)

Why not `ProtobufDeserializer(Tick, {})`: without a registry client it ignores the
schema id and the message index (it cannot tell a BidAsk record on a Tick topic
from a Tick), and it reads the header through `io.BytesIO` one byte at a time.
`FrameDecoder` looks up the whole 6-byte header `00 <id> 00` in a dict that was
filled once per schema id (after the id was checked, see schemas.py), so the
common case costs one slice, one dict lookup and `FromString` on the payload.
The decoded message is the same object `ProtobufDeserializer` returns (same
class, same parse): tests/consumer/test_wire.py checks byte-for-byte equality.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import DecodeError, Message

MAGIC = 0
#: Magic byte of the newer GUID-prefixed form (confluent-kafka >= 2.11 `schema.id.serializer`).
MAGIC_GUID = 1
#: Upper bound for the index-array length, as in confluent-kafka's reader.
MAX_INDEXES = 100_000
#: The index path of the first top-level message of a file: the common case.
FIRST_MESSAGE: tuple[int, ...] = (0,)

M = TypeVar("M", bound=Message)


class WireFormatError(ValueError):
    """A record value that is not a readable Confluent protobuf frame; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The parsed header of one framed value.

    `payload_offset` is where the protobuf bytes start in the value.
    """

    schema_id: int
    message_indexes: tuple[int, ...]
    payload_offset: int


def _read_zigzag_varint(value: bytes | bytearray | memoryview, pos: int, what: str) -> tuple[int, int]:
    """One zig-zag varint at `pos`: (decoded value, next position)."""
    result = 0
    shift = 0
    end = len(value)
    while True:
        if pos >= end:
            raise WireFormatError(f"truncated {what}: value ends inside a varint ({end} bytes)")
        b = value[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise WireFormatError(f"invalid {what}: varint longer than 10 bytes")


def parse_header(value: bytes | bytearray | memoryview | None) -> FrameHeader:
    """Parse the magic byte, schema id and message-index array of `value`.

    Raises WireFormatError naming the problem: null value (tombstone), empty
    value, bad magic byte, truncated schema id or index array, invalid count or
    negative index.
    """
    if value is None:
        raise WireFormatError("null value (tombstone): no Confluent frame")
    n = len(value)
    if n == 0:
        raise WireFormatError("empty value: no Confluent frame")
    magic = value[0]
    if magic != MAGIC:
        hint = ": GUID-prefixed schema ids (magic 1) are not supported" if magic == MAGIC_GUID else ""
        raise WireFormatError(f"bad magic byte 0x{magic:02x} (expected 0x00){hint}")
    if n < 5:
        raise WireFormatError(f"truncated schema id: value has {n} bytes, a frame needs at least 6")
    schema_id = int.from_bytes(value[1:5], "big")
    if n < 6:
        raise WireFormatError(f"truncated message-index array: value ends after the schema id ({n} bytes)")
    count, pos = _read_zigzag_varint(value, 5, "message-index count")
    if count == 0:
        return FrameHeader(schema_id, FIRST_MESSAGE, pos)
    # every index takes at least one byte, so a larger count cannot be genuine
    if count < 0 or count > MAX_INDEXES or count > n - pos:
        raise WireFormatError(f"invalid message-index count {count} ({n - pos} bytes left)")
    indexes = []
    for i in range(count):
        idx, pos = _read_zigzag_varint(value, pos, f"message index {i}")
        if idx < 0:
            raise WireFormatError(f"negative message index {idx} at position {i}")
        indexes.append(idx)
    return FrameHeader(schema_id, tuple(indexes), pos)


def encode_header(schema_id: int, message_indexes: tuple[int, ...] | list[int] = FIRST_MESSAGE) -> bytes:
    """The header bytes `ProtobufSerializer` writes for `schema_id` and `message_indexes`.

    Used by tests and the benchmark to frame payloads; [0] becomes the single byte 0x00.
    """
    if not 0 <= schema_id < 2**32:
        raise ValueError(f"schema id {schema_id} does not fit 4 bytes")
    out = bytearray([MAGIC]) + schema_id.to_bytes(4, "big")
    indexes = list(message_indexes)
    if indexes == [0]:
        out.append(0)
        return bytes(out)
    for v in [len(indexes), *indexes]:
        z = (v << 1) ^ (v >> 63)
        while z & ~0x7F:
            out.append((z & 0x7F) | 0x80)
            z >>= 7
        out.append(z)
    return bytes(out)


#: Called for a (schema id, index path) the decoder has not seen: return the class to
#: decode it with, or raise (e.g. schemas.SchemaMismatchError, WireFormatError).
Resolver = Callable[[int, tuple[int, ...]], type[M]]


class FrameDecoder(Generic[M]):
    """Decode framed values of one topic into its expected message class.

    Each (schema id, message-index path) is resolved once through `resolve`
    (e.g. a registry check, see schemas.py) and then remembered; the common
    `[0]` path is kept under its full 6-byte header for a one-lookup fast path.
    Without `resolve`, every schema id is trusted (as `ProtobufDeserializer`
    without a registry does) but only the index path [0] is accepted: our
    generated files hold one message each.
    """

    __slots__ = ("message_class", "_resolve", "_fast", "_slow")

    def __init__(self, message_class: type[M], resolve: Resolver[M] | None = None) -> None:
        self.message_class = message_class
        self._resolve = resolve
        # header bytes 00 <id> 00 -> (schema id, FromString of the class)
        self._fast: dict[bytes, tuple[int, Callable[[bytes], M]]] = {}
        self._slow: dict[tuple[int, tuple[int, ...]], type[M]] = {}

    def decode(self, value: bytes | None) -> tuple[int, M]:
        """(schema id, decoded message) of a framed value; WireFormatError if unreadable."""
        try:
            schema_id, from_string = self._fast[value[:6]]  # type: ignore[index]
        except (KeyError, TypeError):  # new header, or None / an unhashable buffer
            return self._decode_slow(value)
        try:
            return schema_id, from_string(value[6:])  # type: ignore[index]
        except DecodeError as exc:
            raise WireFormatError(f"payload is not a valid {self.message_class.DESCRIPTOR.full_name}: {exc}") from None

    def known_schema_ids(self) -> set[int]:
        """Schema ids resolved so far."""
        return {sid for sid, _ in self._slow}

    def _decode_slow(self, value: bytes | None) -> tuple[int, M]:
        header = parse_header(value)
        assert value is not None
        key = (header.schema_id, header.message_indexes)
        cls = self._slow.get(key)
        if cls is None:
            cls = self._lookup(*key)
            self._slow[key] = cls
            if header.message_indexes == FIRST_MESSAGE and header.payload_offset == 6:
                self._fast[bytes(value[:6])] = (header.schema_id, cls.FromString)
        try:
            return header.schema_id, cls.FromString(value[header.payload_offset :])
        except DecodeError as exc:
            raise WireFormatError(f"payload is not a valid {cls.DESCRIPTOR.full_name}: {exc}") from None

    def _lookup(self, schema_id: int, indexes: tuple[int, ...]) -> type[M]:
        if self._resolve is not None:
            return self._resolve(schema_id, indexes)
        if indexes != FIRST_MESSAGE:
            raise WireFormatError(
                f"unknown message index {list(indexes)} for schema id {schema_id}: "
                f"{self.message_class.DESCRIPTOR.full_name} is message [0] of its file"
            )
        return self.message_class
