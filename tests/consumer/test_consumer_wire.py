"""txf_consumer.wire: Confluent frame decoding equals ProtobufDeserializer's; malformed input is a WireFormatError."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from consumerkit import REPO, bidask, serializer_conf, tick
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from txf.v1 import BidAsk, Tick
from txf_consumer.consumer import MESSAGE_TYPES
from txf_consumer.wire import FrameDecoder, WireFormatError, encode_header, parse_header

VECTORS = json.loads((REPO / "tests" / "vectors" / "txf_v1.json").read_text(encoding="utf-8"))["vectors"]
CLASSES = MESSAGE_TYPES  # every message of the contract, as the consumer knows them
I64 = st.integers(-(2**63), 2**63 - 1)
U64 = st.integers(0, 2**64 - 1)


def same(a, b) -> bool:
    return (
        type(a) is type(b)
        and a == b
        and a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_golden_vectors_framed(vector):
    cls = CLASSES[vector["type"]]
    payload = bytes.fromhex(vector["hex"])
    for schema_id in (1, 7, 2**31 + 5):
        value = encode_header(schema_id) + payload
        got_id, msg = FrameDecoder(cls).decode(value)
        assert got_id == schema_id
        assert type(msg) is cls
        assert json_format.MessageToDict(msg) == vector["json"]
        assert msg.SerializeToString() == payload
        assert same(msg, ProtobufDeserializer(cls, {})(value))


def test_header_bytes_equal_protobuf_serializer():
    registry = SchemaRegistryClient.new_client({"url": "mock://consumer-wire"})
    for cls, msg in ((Tick, tick(3)), (BidAsk, bidask(4))):
        serializer = ProtobufSerializer(cls, registry, serializer_conf())
        framed = serializer(msg, SerializationContext("t", MessageField.VALUE))
        header = parse_header(framed)
        assert header.message_indexes == (0,) and header.payload_offset == 6
        assert encode_header(header.schema_id) == framed[:6]
        assert FrameDecoder(cls).decode(framed) == (header.schema_id, msg)


@given(st.integers(0, 2**32 - 1), st.lists(st.integers(0, 10**6), min_size=1, max_size=6))
def test_header_roundtrip_and_confluent_index_encoding(schema_id, indexes):
    import io

    header = encode_header(schema_id, indexes)
    if indexes != [0]:  # confluent's writer (count, then the indexes, zig-zag)
        buf = io.BytesIO()
        SchemaId._encode_varints(buf, indexes, zigzag=True)
        assert header[5:] == buf.getvalue()
    parsed = parse_header(header + b"\x08\x01")
    assert parsed.schema_id == schema_id and list(parsed.message_indexes) == indexes
    assert parsed.payload_offset == len(header)
    # confluent's reader agrees
    sid = SchemaId("PROTOBUF")
    rest = sid.from_bytes(io.BytesIO(header + b"\x08\x01"))
    assert sid.id == schema_id and sid.message_indexes == indexes and rest.read() == b"\x08\x01"


def test_long_form_of_index_zero_is_accepted():
    # count 1, index 0 ("02 00") means [0] too; it takes the slow path but decodes the same
    value = encode_header(9)[:5] + b"\x02\x00" + tick(1).SerializeToString()
    assert parse_header(value).message_indexes == (0,)
    assert FrameDecoder(Tick).decode(value) == (9, tick(1))


def _ticks():
    return st.builds(
        Tick,
        code=st.text(max_size=12),
        timestamp_ms=I64,
        close=I64,
        volume=I64,
        tick_type=st.integers(0, 5),
        total_volume=I64,
        underlying_price=I64,
        exchange_time_us=I64,
        receive_time_ns=I64,
        sequence=U64,
        producer_run_id=U64,
        open=I64,
        high=I64,
        low=I64,
        avg_price=I64,
        amount=I64,
        total_amount=I64,
        bid_side_total_vol=I64,
        ask_side_total_vol=I64,
        chg_type=st.integers(0, 9),
        price_chg=I64,
        pct_chg=I64,
        simtrade=st.booleans(),
    )


def _bidasks():
    five = st.lists(I64, min_size=0, max_size=5)
    return st.builds(
        BidAsk,
        code=st.text(max_size=12),
        timestamp_ms=I64,
        bid_total_vol=I64,
        ask_total_vol=I64,
        bid_price=five,
        bid_volume=five,
        diff_bid_vol=five,
        ask_price=five,
        ask_volume=five,
        diff_ask_vol=five,
        exchange_time_us=I64,
        receive_time_ns=I64,
        sequence=U64,
        producer_run_id=U64,
        underlying_price=I64,
        first_derived_bid_price=I64,
        first_derived_ask_price=I64,
        first_derived_bid_vol=I64,
        first_derived_ask_vol=I64,
        simtrade=st.booleans(),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ticks(), _bidasks()), min_size=1, max_size=30), st.integers(0, 2**32 - 1))
def test_equal_to_protobuf_deserializer_over_many_messages(msgs, schema_id):
    decoders = {Tick: FrameDecoder(Tick), BidAsk: FrameDecoder(BidAsk)}
    deserializers = {Tick: ProtobufDeserializer(Tick, {}), BidAsk: ProtobufDeserializer(BidAsk, {})}
    ctx = SerializationContext("topic", MessageField.VALUE)
    for m in msgs:
        value = encode_header(schema_id) + m.SerializeToString()
        got_id, ours = decoders[type(m)].decode(value)
        assert got_id == schema_id
        assert same(ours, deserializers[type(m)](value, ctx))
        assert same(ours, m)


def test_equal_to_protobuf_deserializer_on_the_benchmark_mix():
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    from bench_decode import TOPICS, frame, make_messages

    decoders = {t: FrameDecoder(c) for t, c in TOPICS.items()}
    deserializers = {t: ProtobufDeserializer(c, {}) for t, c in TOPICS.items()}
    messages = make_messages(3000, seed=11)
    for (topic, value), (_t, sent) in zip(frame(messages), messages, strict=True):
        _sid, ours = decoders[topic].decode(value)
        assert same(ours, deserializers[topic](value)) and same(ours, sent)


@pytest.mark.parametrize(
    "value,fragment",
    [
        (None, "null value"),
        (b"", "empty value"),
        (b"\x01" + b"\x00" * 20, "bad magic byte 0x01"),
        (b'\x7b{"json": 1}', "bad magic byte 0x7b"),
        (b"\x00\x00\x00", "truncated schema id"),
        (b"\x00\x00\x00\x00\x07", "truncated message-index array"),
        (b"\x00\x00\x00\x00\x07\x80", "truncated message-index count"),
        (b"\x00\x00\x00\x00\x07\x04\x02\x80", "truncated message index 1"),
        (b"\x00\x00\x00\x00\x07\x7e", "invalid message-index count"),  # count 63, 0 bytes left
        (b"\x00\x00\x00\x00\x07\x01\x00", "invalid message-index count -1"),
        (b"\x00\x00\x00\x00\x07\x02\x01", "negative message index -1"),
        (b"\x00\x00\x00\x00\x07" + b"\xff" * 11, "varint longer than 10 bytes"),
        (b"\x00\x00\x00\x00\x07\x02\x02\x08\x01", "unknown message index [1]"),
        (b"\x00\x00\x00\x00\x07\x00\x0a\x05TX", "payload is not a valid txf.v1.Tick"),  # string cut short
        (b"\x00\x00\x00\x00\x07\x00\xff\xff\xff", "payload is not a valid txf.v1.Tick"),
    ],
)
def test_malformed_values_raise_wire_format_error(value, fragment):
    decoder = FrameDecoder(Tick)
    with pytest.raises(WireFormatError) as exc:
        decoder.decode(value)
    assert fragment in str(exc.value)
    # the same again once the header is cached (fast path) must fail the same way
    with pytest.raises(WireFormatError):
        decoder.decode(value)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40) | st.binary(max_size=30).map(lambda b: b"\x00\x00\x00\x00\x03" + b))
def test_arbitrary_bytes_decode_or_raise_wire_format_error_only(value):
    decoder = FrameDecoder(BidAsk)
    try:
        sid, msg = decoder.decode(value)
    except WireFormatError:
        return
    assert type(msg) is BidAsk and sid == int.from_bytes(value[1:5], "big")


def test_resolver_runs_once_per_schema_id_and_its_refusal_is_raised():
    calls = []

    class Refused(Exception):
        pass

    def resolve(schema_id, indexes):
        calls.append((schema_id, indexes))
        if schema_id == 66:
            raise Refused(f"id {schema_id}")
        return Tick

    decoder = FrameDecoder(Tick, resolve)
    for _ in range(3):
        assert decoder.decode(encode_header(5) + tick(1).SerializeToString()) == (5, tick(1))
        assert decoder.decode(encode_header(5, [0, 1]) + tick(2).SerializeToString()) == (5, tick(2))
        with pytest.raises(Refused):
            decoder.decode(encode_header(66) + tick(1).SerializeToString())
    # refusals are cached by the resolver (schemas.SchemaChecker), not by the decoder: asked each time
    assert calls.count((5, (0,))) == 1 and calls.count((5, (0, 1))) == 1
    assert decoder.known_schema_ids() == {5}
