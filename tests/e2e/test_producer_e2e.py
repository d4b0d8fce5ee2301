"""End to end: simulated TXF feed -> producer -> real registry + Kafka -> decode equals the input.

Nothing lost (every stream's sequence is 1..n without a gap), nothing changed
(each decoded field equals the quote's own values converted independently), and
every record byte-identical to what confluent-kafka's ProtobufSerializer emits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from txf.v1 import BidAsk, Tick
from txf_kit.framing import serializer_config
from txf_producer.app import EXIT_OK, ProducerApp, run_app
from txf_producer.quotes import BIDASK_FIELDS, TICK_FIELDS, bidask_array, tick_array
from txf_producer.settings import load_settings
from txf_producer.sources.base import QuoteType
from txf_producer.sources.simulated import SimConfig, SimulatedSource
from txf_registry import provision, topic_settings

N = 6000
TAIPEI = dt.timezone(dt.timedelta(hours=8))


class Capture:
    """Wraps the producer's sink: remembers every quote (as its raw arrays) in arrival order."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.ticks: list[list[Any]] = []
        self.bidasks: list[list[Any]] = []

    def on_tick(self, q: Any, receive_ns: int) -> None:
        self.ticks.append(tick_array(q))
        self.inner.on_tick(q, receive_ns)

    def on_bidask(self, q: Any, receive_ns: int) -> None:
        self.bidasks.append(bidask_array(q))
        self.inner.on_bidask(q, receive_ns)

    def on_event(self, e: Any) -> None:
        self.inner.on_event(e)


def _x(v: str) -> int:
    d = Decimal(v) * 10000
    assert d == d.to_integral_value()
    return int(d)


def _utc_us(date: str, time: str) -> int:
    t = dt.datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=TAIPEI)
    return int(t.timestamp()) * 1_000_000 + t.microsecond


def _expect_tick(a: list[Any]) -> dict[str, Any]:
    f = dict(zip(TICK_FIELDS, a, strict=False))
    us = _utc_us(f["date"], f["time"])
    return {
        "code": f["code"],
        "close": _x(f["close"]),
        "open": _x(f["open"]),
        "high": _x(f["high"]),
        "low": _x(f["low"]),
        "avg_price": _x(f["avg_price"]),
        "amount": _x(f["amount"]),
        "total_amount": _x(f["total_amount"]),
        "underlying_price": _x(f["underlying_price"]),
        "price_chg": _x(f["price_chg"]),
        "pct_chg": _x(f["pct_chg"]),
        "volume": f["volume"],
        "total_volume": f["total_volume"],
        "bid_side_total_vol": f["bid_side_total_vol"],
        "ask_side_total_vol": f["ask_side_total_vol"],
        "tick_type": f["tick_type"],
        "chg_type": f["chg_type"],
        "exchange_time_us": us,
        "timestamp_ms": us // 1000,
        "simtrade": f["simtrade"],
    }


def _expect_bidask(a: list[Any]) -> dict[str, Any]:
    f = dict(zip(BIDASK_FIELDS, a, strict=False))
    us = _utc_us(f["date"], f["time"])
    return {
        "code": f["code"],
        "bid_price": [_x(p) for p in f["bid_price"]],
        "ask_price": [_x(p) for p in f["ask_price"]],
        "bid_volume": f["bid_volume"],
        "ask_volume": f["ask_volume"],
        "diff_bid_vol": f["diff_bid_vol"],
        "diff_ask_vol": f["diff_ask_vol"],
        "bid_total_vol": f["bid_total_vol"],
        "ask_total_vol": f["ask_total_vol"],
        "underlying_price": _x(f["underlying_price"]),
        "first_derived_bid_price": _x(f["first_derived_bid_price"]),
        "first_derived_ask_price": _x(f["first_derived_ask_price"]),
        "first_derived_bid_vol": f["first_derived_bid_vol"],
        "first_derived_ask_vol": f["first_derived_ask_vol"],
        "exchange_time_us": us,
        "timestamp_ms": us // 1000,
        "simtrade": f["simtrade"],
    }


def _fields(msg: Any, names: list[str]) -> dict[str, Any]:
    return {
        n: (
            list(getattr(msg, n))
            if n.endswith(("_price", "_volume", "_vol")) and hasattr(getattr(msg, n), "__len__")
            else getattr(msg, n)
        )
        for n in names
    }


def _read_all(bootstrap: str, topic: str, count: int) -> list[Any]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"e2e-{uuid.uuid4().hex}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    out: list[Any] = []
    try:
        while len(out) < count:  # consume() returns as soon as it has what was asked for
            batch = c.consume(min(1000, count - len(out)), timeout=10.0)
            assert batch, f"{topic}: got {len(out)} of {count} records"
            for m in batch:
                assert m.error() is None, m.error()
                out.append(m)
        _low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10.0)
        assert high == count, f"{topic}: {high} records on the broker, {count} expected"
    finally:
        c.close()
    return out


@pytest.mark.integration
def test_sim_to_kafka_decodes_to_the_input_with_nothing_lost(stack: Any, tmp_path: Path) -> None:
    prefix = f"e2e{uuid.uuid4().hex[:8]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    client = SchemaRegistryClient({"url": stack.registry_url, "timeout": 10})
    settings = load_settings(
        kafka_bootstrap=stack.bootstrap_servers,
        registry_url=stack.registry_url,
        **topic_settings(prefix),
        state_dir=tmp_path / "state",
        stats_interval_s=3600,
    )
    streams = tuple((a, q) for q, a, _t in settings.routes())
    source = SimulatedSource(
        SimConfig(seed=7, start=dt.datetime(2026, 11, 24, 8, 45, tzinfo=TAIPEI), streams=streams, max_messages=N)
    )
    captured: list[Capture] = []

    def wrap(sink: Any) -> Capture:
        captured.append(Capture(sink))
        return captured[0]

    result = run_app(lambda: ProducerApp(settings, source, wrap_sink=wrap))
    assert result.exit_code == EXIT_OK, result.reason
    cap = captured[0]
    assert len(cap.ticks) + len(cap.bidasks) == N
    assert 0.80 < len(cap.bidasks) / N < 0.92  # the real mix, ~86% BidAsk
    assert result.stats["dead_lettered"] == 0 and result.stats["spooled_total"] == 0

    for topic, cls, arrays, expect, _qt in (
        (settings.tick_topic, Tick, cap.ticks, _expect_tick, QuoteType.TICK),
        (settings.bidask_topic, BidAsk, cap.bidasks, _expect_bidask, QuoteType.BIDASK),
    ):
        records = _read_all(stack.bootstrap_servers, topic, len(arrays))
        serializer = ProtobufSerializer(cls, client, serializer_config(auto_register=False))
        ctx = SerializationContext(topic, MessageField.VALUE)
        for i, (record, raw) in enumerate(zip(records, arrays, strict=False)):
            msg = cls.FromString(record.value()[6:])
            assert record.value() == serializer(msg, ctx), f"{topic}[{i}] not byte-identical to ProtobufSerializer"
            want = expect(raw)
            assert _fields(msg, list(want)) == want, f"{topic}[{i}]"
            assert msg.sequence == i + 1, f"{topic}: sequence gap or repeat at {i}"
            assert msg.producer_run_id == result.run_id
            assert record.key() == msg.code.encode()
            assert 0 < msg.receive_time_ns
        assert result.stats["delivered"][topic] == len(arrays)
