"""Capture holes are judged by the session calendar and the intraday activity model, not by silence alone.

A whole simulated night and a holiday week end go through the arbitration core with the real
detector: their natural quiet is never a hole; a silence no leg covered inside a session is one.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest
from legkit import core, leg_record, market

from txf_arbiter.gaps import GapDetector
from txf_kit import calendar as S
from txf_kit.calendar import TAIPEI


def _ns(*a: int) -> int:
    return S.to_ns(datetime(*a, tzinfo=TAIPEI))


def _feed(quotes: list[tuple[str, object]]) -> int:
    c = core()
    for i, (k, q) in enumerate(quotes):
        c.take(f"leg-a.txf-{k}", leg_record(k, q, run_id=1, sequence=i + 1))
    return c.stats.holes


def test_a_quiet_night_session_has_no_hole() -> None:
    start = datetime(2026, 11, 24, 15, 0, tzinfo=TAIPEI)
    quotes = list(itertools.takewhile(lambda q: q[1].datetime < datetime(2026, 11, 25, 5, 0), market(start, seed=3)))
    assert len(quotes) > 50_000  # the whole night, down to its ~2.6 msgs/s floor
    assert _feed(quotes) == 0


def test_a_holiday_and_the_week_end_are_no_holes() -> None:
    holidays = frozenset({date(2026, 11, 27)})  # Friday: no day session, no night session from it
    start = datetime(2026, 11, 26, 13, 40, tzinfo=TAIPEI)  # Thursday's day close, then its night
    quotes = list(
        itertools.takewhile(
            lambda q: q[1].datetime < datetime(2026, 11, 30, 9, 0), market(start, seed=5, holidays=holidays)
        )
    )
    days = {q.datetime.date() for _k, q in quotes}
    assert date(2026, 11, 27) in days and date(2026, 11, 30) in days  # Thursday night ran into Friday 05:00
    c = core(holidays=holidays)
    for i, (k, q) in enumerate(quotes):
        c.take(f"leg-a.txf-{k}", leg_record(k, q, run_id=1, sequence=i + 1))
    assert c.stats.holes == 0


@pytest.mark.parametrize(
    "when, silent_s, hole",
    [
        ((2026, 11, 24, 8, 45, 5), 2.5, True),  # the opening burst: seconds of nothing are implausible
        ((2026, 11, 24, 11, 0), 1.5, False),  # midday, below the 2 s floor (transport jitter is not a hole)
        ((2026, 11, 24, 11, 0), 10.0, True),
        ((2026, 11, 25, 2, 0), 7.0, False),  # night floor ~2.6 msgs/s: 8 s are still plausible
        ((2026, 11, 25, 2, 0), 20.0, True),
        ((2026, 11, 24, 13, 44, 58), 4_000.0, False),  # across the close into the night session
        ((2026, 11, 28, 4, 59, 59), 200_000.0, False),  # Saturday 05:00 close to Monday's pre-open
    ],
)
def test_silence_judged_second_by_second(when: tuple[int, ...], silent_s: float, hole: bool) -> None:
    d = GapDetector(floor_s=2.0)
    t = _ns(*when)
    assert d.observe(t) is None
    assert (d.observe(t + int(silent_s * 1e9)) is not None) is hole


def test_a_feed_dead_until_the_close_is_a_hole_to_the_close_reported_once() -> None:
    d = GapDetector()
    d.observe(_ns(2026, 11, 24, 13, 0))
    assert d.check(_ns(2026, 11, 24, 13, 40)) is None  # still inside the session: not over yet
    hole = d.check(_ns(2026, 11, 24, 13, 46))
    assert hole is not None and hole.at_session_end and hole.end_ns == _ns(2026, 11, 24, 13, 45)
    assert d.observe(_ns(2026, 11, 24, 15, 0, 1)) is None  # the night's first quote: the same hole, not again


def test_silence_in_the_pre_open_counts_from_the_open() -> None:
    d = GapDetector()
    d.observe(_ns(2026, 11, 24, 8, 44, 50))
    assert d.observe(_ns(2026, 11, 24, 8, 45, 1)) is None  # 10 s, but 1 s of it in trading
    d = GapDetector()
    d.observe(_ns(2026, 11, 24, 8, 35))
    hole = d.observe(_ns(2026, 11, 24, 9, 0))
    assert hole is not None and hole.start_ns == _ns(2026, 11, 24, 8, 35)
