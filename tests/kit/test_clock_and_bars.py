"""Market time decides: the feed's clock runs on the wall only while caught up, and bars close by it.

A replay of an earlier day, a backlog read at full speed and the same day read live must give the
same bars; an empty fetch in the middle of a backlog must close nothing; a trade out of order within
the grace is kept, and one past it is late (left out, counted), so every bar is published once.
"""

from __future__ import annotations

import random
from datetime import datetime

from txf.v1 import Tick
from txf_kit.bars import BarBuilder, OpenBar
from txf_kit.calendar import TAIPEI
from txf_kit.clock import FeedClock

S = 1_000_000_000


def ns(*args: int) -> int:
    return int(datetime(*args, tzinfo=TAIPEI).timestamp()) * S


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.t = 1_000 * S

    def __call__(self) -> int:
        return self.t


def test_the_clock_keeps_to_event_time_until_caught_up_then_runs_with_the_wall() -> None:
    wall = Wall()
    clock = FeedClock(wall)
    assert clock.now_ns() == 0  # an empty feed tells no time
    t0 = ns(2026, 5, 28, 9, 0, 0)
    clock.observe(t0)
    wall.t += 3600 * S  # an hour of wall time reading a backlog: the market has not moved
    assert clock.now_ns() == t0
    clock.observe(t0 - 5 * S)  # older records never move it back
    assert clock.now_ns() == t0
    clock.set_caught_up(True)
    wall.t += 7 * S
    assert clock.now_ns() == t0 + 7 * S  # idle and caught up: the market's time runs on
    clock.set_caught_up(False)  # more to read (a producer came back): event time again, never backwards
    wall.t += 100 * S
    assert clock.now_ns() == t0 + 7 * S
    clock.observe(t0 + 10 * S)
    assert clock.now_ns() == t0 + 10 * S


def test_a_new_record_while_caught_up_restarts_the_idle_count_from_it() -> None:
    wall = Wall()
    clock = FeedClock(wall)
    t0 = ns(2026, 5, 28, 9, 0, 0)
    clock.observe(t0)
    clock.set_caught_up(True)
    wall.t += 2 * S
    clock.observe(t0 + 1 * S)  # a record 1 s of market time later, seen 2 s of wall time later
    assert clock.now_ns() == t0 + 2 * S  # never back
    wall.t += 3 * S
    assert clock.now_ns() == t0 + 5 * S  # on from where it was when the record came (2 s), 3 s idle since


def tick(t_ns: int, price: int, volume: int = 1, code: str = "TXFF6") -> Tick:
    return Tick(code=code, exchange_time_us=t_ns // 1000, close=price, volume=volume)


def bars_of(
    ticks: list[Tick], grace_ns: int, idle_closes: list[tuple[int, int]] | None = None
) -> list[tuple[int, ...]]:
    """Run a builder over `ticks` in order; `idle_closes` = (after tick i, watermark) closes from the clock."""
    b = BarBuilder(grace_ns=grace_ns)
    out: list[OpenBar] = []
    closes = dict(idle_closes or [])
    for i, t in enumerate(ticks):
        out += b.add(t, ("t", 0), i).closed
        if i in closes:
            out += b.close_due(closes[i])
    out += b.close_due(2**62)
    return [(x.end_ns, x.open, x.high, x.low, x.close, x.volume, x.count) for x in out]


def test_a_trade_out_of_order_within_the_grace_is_in_its_bar_and_one_past_it_is_late() -> None:
    t0 = ns(2026, 5, 28, 9, 0, 10)
    in_order = [tick(t0, 100), tick(t0 + 20 * S, 101), tick(t0 + 45 * S, 102), tick(t0 + 61 * S, 103)]
    # the 09:00:55 trade arrives after the 09:01:11 one (a slower leg's), 16 s older: inside a 20 s grace
    shuffled = [in_order[0], in_order[1], in_order[3], in_order[2]]
    assert bars_of(shuffled, 20 * S) == bars_of(in_order, 20 * S)
    assert bars_of(shuffled, 5 * S) != bars_of(in_order, 5 * S)  # past a 5 s grace it is late
    b = BarBuilder(grace_ns=5 * S)
    for i, t in enumerate([in_order[0], in_order[1], tick(t0 + 70 * S, 104)]):
        b.add(t, ("t", 0), i)  # 09:01:20: the 09:01 bar is final (09:01:00 + 5 s < 09:01:20)
    assert b.add(in_order[2], ("t", 0), 3).late  # its trade now comes too late: left out, counted


def test_bars_do_not_depend_on_how_fast_the_day_is_read() -> None:
    """The same ticks read as a backlog (no idle) and live (idle closes between them) give equal bars."""
    rng = random.Random(4)
    t, ticks = ns(2026, 5, 28, 9, 0, 0), []
    for _ in range(2000):
        t += int(rng.expovariate(1 / 2.0) * S)
        ticks.append(tick(t, 280_000_000 + rng.randrange(-50, 50) * 10_000, rng.randrange(1, 5)))
    # live: after each tick the market's clock may have run on by the wall (at most to the next tick)
    idle = [(i, ticks[i + 1].exchange_time_us * 1000) for i in range(len(ticks) - 1)]
    assert bars_of(ticks, 5 * S) == bars_of(ticks, 5 * S, idle)
    assert len(bars_of(ticks, 5 * S)) > 50


def test_an_empty_moment_closes_nothing_the_clock_does_not_pass() -> None:
    b = BarBuilder(grace_ns=5 * S)
    t0 = ns(2026, 5, 28, 9, 0, 10)
    b.add(tick(t0, 100), ("t", 0), 0)
    assert b.close_due(t0) == []  # the clock at the last trade: the 09:01 bar is open
    assert [x.end_ns for x in b.close_due(ns(2026, 5, 28, 9, 1, 0))] == [ns(2026, 5, 28, 9, 1, 0)]
