"""The ground truth of a seeded simulated market: every quote it made, and which capture leg got which.

The legs of a redundant capture run the same seeded market (txf_producer.simulation) and differ only
in their drops, which are a pure function of (leg seed, quote index) (simulation/legs.py). So the
truth of a run is recomputed here without running anything: each quote's identity (what the
exchange said, as a leg publishes it), its exchange time, its topic, and the legs that received it.
A leg that was down for a while received nothing then: the caller says when each leg was down (in
the market's time), from its own record of the faults it made.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from tools.checker.protocol import Contract
from txf_producer.convert import build_bidask, build_tick
from txf_producer.quotes import TICK, bidask_from_array, tick_from_array
from txf_producer.simulation import legs as leglogic
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteType
from txf_producer.sources.simulated import SimConfig

#: the streams a producer subscribes by default (TXFR1 Tick and BidAsk) and their canonical topics
STREAMS = (("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))
TOPIC_OF = {"txf.v1.Tick": "txf-tick", "txf.v1.BidAsk": "txf-bidask"}


@dataclass(frozen=True)
class Leg:
    """A capture leg as the run configured it, and when (market time, ns) it was down."""

    name: str
    seed: int
    drop: float
    down: tuple[tuple[int, int], ...] = ()  # [from, to) in the market's time

    def received(self, index: int, t_ns: int) -> bool:
        if leglogic.dropped(self.seed, self.drop, index):
            return False
        return not any(a <= t_ns < b for a, b in self.down)


@dataclass(frozen=True)
class Quote:
    index: int
    message: str  # txf.v1 full name
    exchange_ns: int
    identity: bytes
    legs: frozenset[str]  # the legs that received it


@dataclass
class Truth:
    quotes: list[Quote] = field(default_factory=list)

    def captured(self) -> list[Quote]:
        return [q for q in self.quotes if q.legs]

    def missed(self) -> list[Quote]:
        return [q for q in self.quotes if not q.legs]


def market(
    seed: int, start_ns: int, end_ns: int, intensity: float = 1.0, publish_simtrade: bool = False
) -> Iterator[tuple[int, str, int, object]]:
    """(index, message, exchange ns, the txf.v1 message a leg publishes) of the market in [start, end)."""
    m = SimMarket(SimConfig(seed=seed, streams=STREAMS, intensity=intensity), start_ns)
    for index, (kind, t_us, arr) in enumerate(m):
        t_ns = t_us * 1000
        if t_ns >= end_ns:
            return
        if kind == TICK:
            q = tick_from_array(arr)
            if q.simtrade and not publish_simtrade:
                continue
            yield index, "txf.v1.Tick", t_ns, build_tick(q, 1, 1)
        else:
            q = bidask_from_array(arr)
            if q.simtrade and not publish_simtrade:
                continue
            yield index, "txf.v1.BidAsk", t_ns, build_bidask(q, 1, 1)


def truth(
    contract: Contract, seed: int, start_ns: int, end_ns: int, legs: Sequence[Leg], intensity: float = 1.0
) -> Truth:
    """Every quote of the market in [start, end) with the legs that received it."""
    out = Truth()
    for index, name, t_ns, msg in market(seed, start_ns, end_ns, intensity):
        mine = contract.classes[name].FromString(msg.SerializeToString())  # type: ignore[attr-defined]
        got = frozenset(leg.name for leg in legs if leg.received(index, t_ns))
        out.quotes.append(Quote(index, name, t_ns, contract.identity(mine), got))
    return out
