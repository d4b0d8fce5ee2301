"""Fault injection against a private local stack: nothing accepted is lost or duplicated.

The tests here kill and restart servers, so they run on their own Kafka and
registry (other ports, other state dir), started for this module and stopped by
PID at the end. Loss and duplication are judged by the producer sequence: every
stream must read back exactly 1..n.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
import tempfile
import threading
import time
import types
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from stack import localstack
from txf.v1 import BidAsk, Tick
from txf_kit import calendar
from txf_producer.app import EXIT_OK, ProducerApp, run_app
from txf_producer.quotes import TICK, bidask_from_array, tick_from_array
from txf_producer.settings import load_settings
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteSink, QuoteType, Source, Subscription
from txf_producer.sources.events import EndOfFeed
from txf_producer.sources.simulated import SimConfig, SimulatedSource
from txf_registry import provision, topic_settings

pytestmark = pytest.mark.integration
TAIPEI = dt.timezone(dt.timedelta(hours=8))
OPEN = dt.datetime(2026, 11, 24, 8, 45, tzinfo=TAIPEI)
STREAMS = (("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


@pytest.fixture(scope="module")
def private_stack() -> Iterator[localstack.StackConfig]:
    k, c, r, m = _free_ports(4)
    base = localstack.StackConfig.from_env()
    cfg = dataclasses.replace(
        base,
        state_dir=Path(tempfile.mkdtemp(prefix="txf-faults-")),
        kafka_port=k,
        controller_port=c,
        registry_port=r,
        registry_mgmt_port=m,
    )
    localstack.ensure_up(cfg, log=lambda m: None)
    try:
        yield cfg
    finally:
        localstack.stop(cfg, log=lambda m: None)


def _setup(cfg: localstack.StackConfig, tmp: Path) -> Any:
    prefix = f"f{uuid.uuid4().hex[:8]}-"
    provision(cfg.bootstrap_servers, cfg.registry_url, prefix)
    return load_settings(
        kafka_bootstrap=cfg.bootstrap_servers,
        registry_url=cfg.registry_url,
        **topic_settings(prefix),
        state_dir=tmp / "state",
        metrics_port=0,
        stats_interval_s=3600,
        flush_timeout_s=30,
    )


def _read(bootstrap: str, topic: str) -> list[Any]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"chk-{uuid.uuid4().hex}"})
    try:
        high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
        c.assign([TopicPartition(topic, 0, 0)])
        out: list[Any] = []
        while len(out) < high:
            batch = c.consume(min(5000, high - len(out)), timeout=10)
            assert batch, f"{topic}: read {len(out)} of {high}"
            out += [m for m in batch if m.error() is None]
        return out
    finally:
        c.close()


def _assert_exactly_once(bootstrap: str, topic: str, cls: Any, expected: int) -> None:
    seqs = [cls.FromString(m.value()[6:]).sequence for m in _read(bootstrap, topic)]
    dups = len(seqs) - len(set(seqs))
    missing = set(range(1, expected + 1)) - set(seqs)
    assert dups == 0 and not missing and seqs == sorted(seqs) and len(seqs) == expected, (
        f"{topic}: {len(seqs)} records, {dups} duplicates, {len(missing)} missing of {expected}"
    )


def _run_in_thread(make: Any) -> tuple[threading.Thread, list[Any], list[ProducerApp]]:
    apps: list[ProducerApp] = []
    results: list[Any] = []

    def factory() -> ProducerApp:
        apps.append(make())
        return apps[0]

    thread = threading.Thread(target=lambda: results.append(run_app(factory)), daemon=True)
    thread.start()
    return thread, results, apps


def _wait_delivered(apps: list[ProducerApp], at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not apps or apps[0].publisher is None or sum(apps[0].publisher.counters.delivered.values()) < at_least:
        assert time.monotonic() < deadline, "the producer never got that far"
        time.sleep(0.02)


def test_broker_sigkill_mid_stream_and_restart_loses_and_duplicates_nothing(
    private_stack: localstack.StackConfig, tmp_path: Path
) -> None:
    settings = _setup(private_stack, tmp_path)
    n = 30_000
    source = SimulatedSource(SimConfig(seed=21, start=OPEN, streams=STREAMS, rate=2500, max_messages=n))
    thread, results, apps = _run_in_thread(lambda: ProducerApp(settings, source))
    _wait_delivered(apps, 5_000)
    t_kill = time.monotonic()
    localstack.kill_kafka(private_stack)
    queued_while_down = len(apps[0].producer)
    localstack.restart_kafka(private_stack, log=lambda m: None)
    down_s = time.monotonic() - t_kill
    thread.join(120)
    assert results and results[0].exit_code == EXIT_OK, results
    stats = results[0].stats
    assert stats["spooled_total"] == 0 and stats["delivery_errors"] == 0
    ticks, books = stats["published"][settings.tick_topic], stats["published"][settings.bidask_topic]
    assert ticks + books == n
    _assert_exactly_once(private_stack.bootstrap_servers, settings.tick_topic, Tick, ticks)
    _assert_exactly_once(private_stack.bootstrap_servers, settings.bidask_topic, BidAsk, books)
    print(
        f"\n[faults] broker down {down_s:.1f}s, {queued_while_down} records queued at the kill, {n} delivered "
        "exactly once"
    )


class WithMalformed(Source):
    """The simulated feed with `bad` malformed quotes mixed in (stand-ins: real objects cannot be malformed)."""

    name = "sim+malformed"

    def __init__(self, good: int, bad: int) -> None:
        self.good, self.bad = good, bad
        self.market = SimMarket(SimConfig(seed=8, streams=STREAMS), calendar.to_ns(OPEN))

    async def start(self, sink: QuoteSink) -> list[Subscription]:
        code = self.market.codes()["TXFR1"]
        breakers = {
            TICK: [
                ("close", None),
                ("high", Decimal("NaN")),
                ("avg_price", Decimal("1.23456")),
                ("volume", -5),
                ("tick_type", 9),
                ("total_amount", Decimal(2**80)),
                ("underlying_price", Decimal("Infinity")),
            ],
            "bidask": [
                ("bid_price", [Decimal(1)] * 4),
                ("ask_volume", [1, None, 1, 1, 1]),
                ("underlying_price", Decimal("Infinity")),
                ("diff_bid_vol", [0] * 6),
            ],
        }
        every = self.good // self.bad

        def feed() -> None:
            bad = 0
            for i, (kind, _t, arr) in enumerate(self.market):
                if i == self.good:
                    break
                q = tick_from_array(arr) if kind == TICK else bidask_from_array(arr)
                deliver = sink.on_tick if kind == TICK else sink.on_bidask
                deliver(q, time.time_ns())
                if i % every == 0 and bad < self.bad:
                    options = breakers[TICK if kind == TICK else "bidask"]
                    field, value = options[bad % len(options)]
                    deliver(types.SimpleNamespace(**{**q.to_dict(), field: value}), time.time_ns())
                    bad += 1
            self.sent_bad = bad
            sink.on_event(EndOfFeed(time.time_ns(), self.good + bad, detail=f"{bad} malformed"))

        threading.Thread(target=feed, daemon=True).start()
        return [Subscription("TXFR1", code, QuoteType.TICK), Subscription("TXFR1", code, QuoteType.BIDASK)]

    async def stop(self) -> None:
        pass


def test_ten_thousand_malformed_quotes_are_each_dead_lettered_and_counted(
    private_stack: localstack.StackConfig, tmp_path: Path
) -> None:
    settings = _setup(private_stack, tmp_path)
    source = WithMalformed(good=40_000, bad=10_000)
    result = run_app(lambda: ProducerApp(settings, source))
    assert result.exit_code == EXIT_OK, result.reason
    assert source.sent_bad == 10_000
    assert result.stats["dead_lettered"] == 10_000
    dead = _read(private_stack.bootstrap_servers, settings.dead_letter_topic)
    assert len(dead) == 10_000
    fields = {json.loads(m.value())["error"]["field"] for m in dead}
    assert fields == {
        "close",
        "high",
        "avg_price",
        "volume",
        "tick_type",
        "bid_price",
        "ask_volume[1]",
        "underlying_price",
        "total_amount",
        "diff_bid_vol",
    }
    ticks, books = result.stats["published"][settings.tick_topic], result.stats["published"][settings.bidask_topic]
    assert ticks + books == 40_000
    _assert_exactly_once(private_stack.bootstrap_servers, settings.tick_topic, Tick, ticks)
    _assert_exactly_once(private_stack.bootstrap_servers, settings.bidask_topic, BidAsk, books)


def test_registry_down_after_start_does_not_stop_production(
    private_stack: localstack.StackConfig, tmp_path: Path
) -> None:
    settings = _setup(private_stack, tmp_path)
    source = SimulatedSource(SimConfig(seed=5, start=OPEN, streams=STREAMS, rate=2000, max_messages=12_000))
    thread, results, apps = _run_in_thread(lambda: ProducerApp(settings, source))
    _wait_delivered(apps, 2_000)
    localstack.stop_registry(private_stack, log=lambda m: None)
    assert not localstack.registry_ready(private_stack)
    thread.join(60)
    assert results and results[0].exit_code == EXIT_OK, results
    assert sum(results[0].stats["delivered"].values()) == 12_000
    localstack.ensure_up(private_stack, log=lambda m: None)  # the registry back for the next test
