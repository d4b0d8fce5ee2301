"""Stall detection through a simulated trading day: flow, stall, quiet stretch, holiday.

The detector is driven second by second on a synthetic clock with the arrival
times of the seeded simulator (the real intraday shape), so each verdict and
its timing is asserted exactly, without waiting.
"""

from __future__ import annotations

import datetime as dt

from txf_kit import calendar
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteType
from txf_producer.sources.simulated import SimConfig
from txf_producer.stall import Action, FeedState, StallDetector

TAIPEI = dt.timezone(dt.timedelta(hours=8))
S = 1_000_000_000


def t(*args: int) -> int:
    return calendar.to_ns(dt.datetime(*args, tzinfo=TAIPEI))


def arrivals(start_ns: int, seconds: int) -> list[int]:
    """Simulated quote arrival times (UTC ns) for `seconds` after start (real shape, seeded)."""
    market = SimMarket(
        SimConfig(seed=4, streams=(("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK)), simulate_preopen=False),
        start_ns,
    )
    out = []
    for _kind, t_us, _arr in market:
        ns = t_us * 1000
        if ns >= start_ns + seconds * S:
            return out
        out.append(ns)
    return out


def drive(det: StallDetector, start_ns: int, end_ns: int, quotes: list[int]) -> list[tuple[int, Action]]:
    """Check once a second from start to end; returns the non-OK actions with their times."""
    actions, last, i = [], 0, 0
    for now in range(start_ns, end_ns, S):
        while i < len(quotes) and quotes[i] <= now:
            last = quotes[i]
            i += 1
        a = det.check(now, last)
        if a is not Action.OK:
            actions.append((now, a))
    return actions


def test_normal_flow_never_fires() -> None:
    open_ = t(2026, 11, 24, 8, 45)
    det = StallDetector(timeout_s=60)
    assert drive(det, open_, open_ + 1800 * S, arrivals(open_, 1800)) == []
    assert det.state is FeedState.FLOWING


def test_a_stall_resubscribes_at_the_bound_then_is_fatal() -> None:
    open_ = t(2026, 11, 24, 9, 0)
    quotes = arrivals(open_, 600)
    last = quotes[-1]
    det = StallDetector(timeout_s=60)
    actions = drive(det, quotes[0], open_ + 900 * S, quotes)
    (t1, a1), (t2, a2) = actions[:2]
    assert a1 is Action.RESUBSCRIBE and 60 * S <= t1 - last < 61 * S
    assert a2 is Action.FATAL and 60 * S <= t2 - t1 < 61 * S
    assert det.state is FeedState.STALLED


def test_quiet_night_stretch_is_not_a_stall() -> None:
    """At 03:00 the real feed runs at its night floor (~3 msgs/s); 59 s of silence is quiet, not dead."""
    start = t(2026, 11, 25, 3, 0)
    det = StallDetector(timeout_s=60)
    quotes = arrivals(start - 300 * S, 300)  # flowing until 03:00, then silence
    assert drive(det, quotes[0], start + 59 * S, quotes) == []
    assert det.state is FeedState.FLOWING


def test_slow_expected_rate_widens_the_bound() -> None:
    det = StallDetector(timeout_s=5)
    busy, quiet = t(2026, 11, 24, 8, 45, 10), t(2026, 11, 25, 3, 0)
    assert det.bound_s(busy) == 5  # hundreds of msgs/s expected: the timeout decides
    assert det.bound_s(quiet) > 5  # a few msgs/s: silence must be implausible, not merely long


def test_listed_holiday_never_fires() -> None:
    holiday = dt.date(2027, 1, 1)  # a Friday
    det = StallDetector(timeout_s=60, holidays={holiday})
    start = t(2027, 1, 1, 8, 0)
    assert drive(det, start, start + 8 * 3600 * S, []) == []
    assert det.state is FeedState.CLOSED


def test_unlisted_holiday_resubscribes_once_and_never_restarts() -> None:
    """No quote at all after the open: one re-subscribe and an alert, never an exit (no login hammering)."""
    open_ = t(2026, 11, 24, 8, 45)
    det = StallDetector(timeout_s=60, no_data_after_open_s=300)
    actions = drive(det, open_ - 600 * S, open_ + 5 * 3600 * S, [])
    assert actions == [(open_ + 300 * S, Action.RESUBSCRIBE)]
    assert det.state is FeedState.NO_DATA_SINCE_OPEN


def test_weekend_and_between_sessions_never_fire() -> None:
    det = StallDetector(timeout_s=60)
    saturday = t(2026, 11, 28, 6, 0)
    assert drive(det, saturday, saturday + 24 * 3600 * S, []) == []
    gap = t(2026, 11, 24, 13, 45)
    assert drive(det, gap, gap + 75 * 60 * S, []) == []  # 13:45-15:00 between day and night


def test_recovery_after_resubscribe_clears_the_stall() -> None:
    open_ = t(2026, 11, 24, 10, 0)
    det = StallDetector(timeout_s=60)
    last = open_
    assert det.check(open_ + 61 * S, last) is Action.RESUBSCRIBE
    assert det.check(open_ + 70 * S, open_ + 69 * S) is Action.OK  # quotes are back
    assert det.state is FeedState.FLOWING
    assert det.check(open_ + 131 * S, open_ + 69 * S) is Action.RESUBSCRIBE  # a new incident starts over
