"""Publisher (the hot path) with a stand-in for librdkafka: routing, sequence, dead letters, back-pressure."""

from __future__ import annotations

import json
import types
from decimal import Decimal
from pathlib import Path
from typing import Any

from test_convert import BIDASK, TICK  # the same real quotes as the conversion tests

from txf.v1 import BidAsk, Tick
from txf_producer.publisher import Publisher, Stream
from txf_producer.quotes import make_bidask, make_tick
from txf_producer.sources.base import QuoteType, Subscription
from txf_producer.sources.events import Subscribed
from txf_producer.spool import Spool, read_spool

RECEIVE_NS = 1_763_947_800_211_000_123  # when the (fake) source says each quote arrived
HEADER_T = b"\x00\x00\x00\x00\x07\x00"
HEADER_B = b"\x00\x00\x00\x00\x09\x00"


class FakeProducer:
    """Records produce() calls; can refuse with BufferError like a full librdkafka queue."""

    def __init__(self, full_for: int = 0) -> None:
        self.records: list[tuple[str, bytes, bytes, Any]] = []
        self.full_for = full_for
        self.polls = 0

    def produce(self, topic: str, value: bytes, key: bytes, partition: int = -1, on_delivery: Any = None) -> None:
        if self.full_for:
            self.full_for -= 1
            raise BufferError("Local: Queue full")
        self.records.append((topic, value, key, on_delivery))

    def poll(self, timeout: float = 0) -> int:
        self.polls += 1
        return 0


def _publisher(tmp_path: Path, producer: FakeProducer | None = None, **kw: Any) -> tuple[Publisher, FakeProducer]:
    producer = producer or FakeProducer()
    pub = Publisher(
        producer,
        run_id=42,
        dead_letter_topic="dlq",
        spool=Spool(tmp_path / "spool.msgpack"),
        queue_full_wait_s=kw.pop("queue_full_wait_s", 0.2),
        **kw,
    )  # type: ignore[arg-type]
    return pub, producer


def _streams() -> list[Stream]:
    return [
        Stream(QuoteType.TICK, "TXFK6", "TXFR1", "tick", HEADER_T),
        Stream(QuoteType.BIDASK, "TXFK6", "TXFR1", "bidask", HEADER_B),
    ]


def _decode(value: bytes, header: bytes, cls: Any) -> Any:
    assert value.startswith(header)
    return cls.FromString(value[len(header) :])


def test_each_stream_numbers_its_messages_from_one(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path)
    pub.install(_streams())
    for _ in range(3):
        pub.on_tick(make_tick(**TICK), RECEIVE_NS)
        pub.on_bidask(make_bidask(**BIDASK), RECEIVE_NS)
    ticks = [_decode(v, HEADER_T, Tick) for t, v, k, _ in prod.records if t == "tick"]
    books = [_decode(v, HEADER_B, BidAsk) for t, v, k, _ in prod.records if t == "bidask"]
    assert [t.sequence for t in ticks] == [1, 2, 3] and [b.sequence for b in books] == [1, 2, 3]
    assert {k for _t, _v, k, _ in prod.records} == {b"TXFK6"}
    assert all(t.producer_run_id == 42 and t.close == 234560000 for t in ticks)
    assert pub.published() == {"tick": 3, "bidask": 3}


def test_quotes_before_routes_are_published_in_order_once_installed(tmp_path: Path) -> None:
    """A source may deliver before start() returns its subscriptions: nothing is lost or reordered."""
    pub, prod = _publisher(tmp_path)
    for i in range(5):
        pub.on_tick(make_tick(**dict(TICK, volume=i + 1)), RECEIVE_NS)
    assert prod.records == []
    pub.install(_streams())
    pub.on_tick(make_tick(**dict(TICK, volume=6)), RECEIVE_NS)
    ticks = [_decode(v, HEADER_T, Tick) for _t, v, _k, _ in prod.records]
    assert [(t.sequence, t.volume) for t in ticks] == [(i, i) for i in range(1, 7)]


def test_bad_quote_goes_to_the_dead_letter_topic_with_its_reason(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path)
    pub.install(_streams())
    bad = types.SimpleNamespace(**{**make_tick(**TICK).to_dict(), "avg_price": Decimal("1.23456")})
    pub.on_tick(bad, RECEIVE_NS)
    pub.on_tick(make_tick(**TICK), RECEIVE_NS)
    (dlq_topic, value, key, _), (topic, good, _k, _) = prod.records
    record = json.loads(value)
    assert dlq_topic == "dlq" and key == b"TXFK6" and topic == "tick"
    assert record["error"]["field"] == "avg_price" and "4 decimals" in record["error"]["reason"]
    assert record["quote"]["avg_price"] == "1.23456" and record["producer_run_id"] == 42
    assert _decode(good, HEADER_T, Tick).sequence == 1  # a dead letter takes no sequence number
    assert pub.counters.dead_lettered == 1


def test_unsubscribed_code_is_dead_lettered(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path)
    pub.install(_streams())
    pub.on_bidask(make_bidask(**dict(BIDASK, code="MXFK6")), RECEIVE_NS)
    ((topic, value, _k, _),) = prod.records
    assert topic == "dlq" and json.loads(value)["error"]["field"] == "code"


def test_simtrade_is_skipped_by_default_and_published_flagged_on_request(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path)
    pub.install(_streams())
    pub.on_tick(make_tick(**dict(TICK, simtrade=True)), RECEIVE_NS)
    assert prod.records == [] and pub.counters.skipped_simtrade == 1
    pub2, prod2 = _publisher(tmp_path, publish_simtrade=True)
    pub2.install(_streams())
    pub2.on_tick(make_tick(**dict(TICK, simtrade=True)), RECEIVE_NS)
    assert _decode(prod2.records[0][1], HEADER_T, Tick).simtrade is True


def test_full_queue_waits_a_bounded_time_then_publishes(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path, FakeProducer(full_for=3))
    pub.install(_streams())
    pub.on_tick(make_tick(**TICK), RECEIVE_NS)
    assert len(prod.records) == 1 and pub.counters.queue_full_waits == 1 and prod.polls >= 3


def test_queue_full_past_the_bound_spools_the_record_instead_of_dropping_it(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path, FakeProducer(full_for=10**9), queue_full_wait_s=0.05)
    pub.install(_streams())
    pub.on_tick(make_tick(**TICK), RECEIVE_NS)
    pub._spool.close()
    ((topic, key, value, reason, _t),) = list(read_spool(tmp_path / "spool.msgpack"))
    assert (topic, key, reason) == ("tick", b"TXFK6", "local queue full")
    assert _decode(value, HEADER_T, Tick).sequence == 1
    assert pub.counters.spooled == 1


def test_failed_delivery_is_spooled(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path)
    pub.install(_streams())
    pub.on_tick(make_tick(**TICK), RECEIVE_NS)
    _topic, value, key, on_delivery = prod.records[0]
    err = types.SimpleNamespace(str=lambda: "Broker: Topic authorization failed")
    msg = types.SimpleNamespace(topic=lambda: "tick", key=lambda: key, value=lambda: value)
    on_delivery(err, msg)
    pub._spool.close()
    ((topic, _key, spooled, reason, _t),) = list(read_spool(tmp_path / "spool.msgpack"))
    assert spooled == value and "authorization" in reason and pub.counters.delivery_errors == 1


def test_month_roll_routes_the_new_code_to_the_same_topic(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path)
    pub.install(_streams())
    pub.on_tick(make_tick(**TICK), RECEIVE_NS)
    pub.on_event(Subscribed(0, (Subscription("TXFR1", "TXFL6", QuoteType.TICK),), roll=True))
    pub.on_tick(make_tick(**dict(TICK, code="TXFL6")), RECEIVE_NS)
    (_t1, v1, k1, _), (t2, v2, k2, _) = prod.records
    assert (t2, k2) == ("tick", b"TXFL6")
    assert _decode(v2, HEADER_T, Tick).sequence == 1  # a new stream (type + code) starts at 1


def test_a_broken_quote_object_never_raises_into_the_source(tmp_path: Path) -> None:
    class Exploding:
        code = "TXFK6"

        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("library bug")

    pub, prod = _publisher(tmp_path)
    pub.install(_streams())
    pub.on_tick(Exploding(), RECEIVE_NS)
    pub.on_bidask(Exploding(), RECEIVE_NS)
    assert pub.counters.dead_lettered == 2 and [r[0] for r in prod.records] == ["dlq", "dlq"]


def test_a_quote_whose_fields_panic_in_rust_is_dead_lettered_naming_the_field(tmp_path: Path) -> None:
    """Shioaji raises pyo3's PanicException (a BaseException) reading a value its Rust type cannot hold."""
    pub, prod = _publisher(tmp_path)
    pub.install(_streams())
    quote = make_tick(**dict(TICK, total_volume=-33873))  # msgpack int16: accepted, then unreadable as u64
    pub.on_tick(quote, RECEIVE_NS)
    pub.on_tick(make_tick(**TICK), RECEIVE_NS)
    assert pub.counters.dead_lettered == 1 and [r[0] for r in prod.records] == ["dlq", "tick"]
    record = json.loads(prod.records[0][1])
    assert record["error"]["field"] == "total_volume" and "PanicException" in record["error"]["reason"]
    assert record["quote"]["close"] == "23456" and "unreadable" in record["quote"]["total_volume"]


def test_sequence_numbers_stay_canonical_across_varint_widths(tmp_path: Path) -> None:
    pub, prod = _publisher(tmp_path)
    streams = _streams()
    pub.install(streams)
    for start in (16_382, 2**28 - 2, 2**63):
        streams[1].sequence = start
        for _ in range(3):
            pub.on_bidask(make_bidask(**BIDASK), RECEIVE_NS)
    books = [v[len(HEADER_B) :] for t, v, _k, _ in prod.records if t == "bidask"]
    assert [BidAsk.FromString(b).sequence for b in books] == [
        s + i for s in (16_382, 2**28 - 2, 2**63) for i in (1, 2, 3)
    ]
    assert all(BidAsk.FromString(b).SerializeToString() == b for b in books)  # what upb itself writes


def test_once_a_wait_ran_out_later_records_spool_at_once_until_kafka_acknowledges_again(tmp_path: Path) -> None:
    """Kafka away: one bounded wait, then the feed is not held one wait per quote; an ack re-arms the wait."""
    pub, prod = _publisher(tmp_path, FakeProducer(full_for=10**9), queue_full_wait_s=0.2)
    pub.install(_streams())
    for _ in range(50):
        pub.on_tick(make_tick(**TICK), RECEIVE_NS)
    assert pub.counters.spooled == 50 and pub.counters.queue_full_waits == 1  # one wait, not fifty
    pub._delivered(None, _Acked("tick"))  # Kafka acknowledges again: the next full queue is waited for
    prod.full_for = 2
    pub.on_tick(make_tick(**TICK), RECEIVE_NS)
    assert pub.counters.queue_full_waits == 2 and pub.counters.spooled == 50 and len(prod.records) == 1
    pub._spool.close()
    spooled = [_decode(v, HEADER_T, Tick).sequence for _t, _k, v, _r, _n in read_spool(tmp_path / "spool.msgpack")]
    assert spooled == list(range(1, 51))


class _Acked:
    """A delivery report's message, as the poll thread gets it for an acknowledged record."""

    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic

    def latency(self) -> float:
        return 0.001
