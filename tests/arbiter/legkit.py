"""Leg records as a leg producer writes them, and an arbiter core to feed them to (no Kafka)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from txf.v1 import BidAsk, Tick
from txf_arbiter.core import ArbiterCore, LegRoute
from txf_arbiter.gaps import GapDetector
from txf_kit import calendar
from txf_producer.convert import build_bidask, build_tick
from txf_producer.quotes import TICK, bidask_from_array, tick_from_array
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteType
from txf_producer.sources.simulated import SimConfig

SCHEMA_IDS = {"tick": 7, "bidask": 9}
HEADERS = {
    "txf-tick": b"\x00\x00\x00\x00\x07\x00",
    "txf-bidask": b"\x00\x00\x00\x00\x09\x00",
    "txf-gaps": b"\x00\x00\x00\x00\x0b\x00",
}
LEG_TOPICS = {f"leg-{leg}.txf-{kind}": (leg, kind) for leg in ("a", "b") for kind in ("tick", "bidask")}
STREAMS = (("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))


def core(window_s: float = 300.0, floor_s: float = 2.0, holidays: Any = ()) -> ArbiterCore:
    routes = {
        topic: LegRoute(leg, Tick if kind == "tick" else BidAsk, f"txf-{kind}")
        for topic, (leg, kind) in LEG_TOPICS.items()
    }
    ids = {topic: {SCHEMA_IDS[kind]} for topic, (_leg, kind) in LEG_TOPICS.items()}
    return ArbiterCore(
        routes,
        HEADERS,
        ids,
        run_id=0xA1B1_7E5,
        window_s=window_s,
        gaps=GapDetector(floor_s, holidays),
        ledger_topic="txf-gaps",
        dead_letter_topic="txf-dlq",
        clock=lambda: 1_800_000_000_000_000_000,
    )


def market(start: datetime, seed: int = 7, holidays: frozenset[Any] = frozenset()) -> Iterator[tuple[str, Any]]:
    """The simulated market's quotes as ("tick" | "bidask", real quote object), in order."""
    m = SimMarket(SimConfig(seed=seed, streams=STREAMS, holidays=holidays), calendar.to_ns(start))
    for kind, _t, arr in m:
        yield ("tick", tick_from_array(arr)) if kind == TICK else ("bidask", bidask_from_array(arr))


def leg_record(kind: str, quote: Any, *, run_id: int, sequence: int, receive_ns: int | None = None) -> bytes:
    """What a leg producer writes for `quote` (frame + txf.v1 bytes)."""
    build = build_tick if kind == "tick" else build_bidask
    recv = receive_ns if receive_ns is not None else calendar.taipei_naive_to_ns(quote.datetime) + 20_000_000
    msg = build(quote, recv, run_id)
    msg.sequence = sequence
    return HEADERS[f"txf-{kind}"] + msg.SerializeToString()


def decode(topic: str, value: bytes) -> Any:
    return (Tick if topic == "txf-tick" else BidAsk).FromString(value[6:])
