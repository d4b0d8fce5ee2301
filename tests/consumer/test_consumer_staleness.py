"""STALE: a session is open (in the feed's own time) and nothing arrived for longer than the market is quiet."""

from __future__ import annotations

from datetime import datetime

from txf_consumer.staleness import Staleness
from txf_kit.calendar import TAIPEI, TradingCalendar, to_ns

S = 1_000_000_000


class Wall:
    def __init__(self) -> None:
        self.t = 5_000 * S

    def __call__(self) -> int:
        return self.t


def test_silence_in_the_opening_burst_is_stale_within_seconds_and_a_quiet_night_allows_more() -> None:
    wall = Wall()
    s = Staleness(wall_ns=wall, floor_s=10.0)
    assert s.stale_s() == 0.0  # nothing read yet: nothing to judge
    s.observe(to_ns(datetime(2026, 11, 24, 8, 46, 0, tzinfo=TAIPEI)))
    wall.t += 9 * S
    assert s.stale_s() == 0.0  # under the floor
    wall.t += 3 * S
    assert s.stale_s() == 12.0  # the opening minutes are never 12 s silent
    # with a 2 s floor the activity model decides: 3 s is implausible in the opening burst, not at 03:00
    opening = Staleness(wall_ns=wall, floor_s=2.0)
    night = Staleness(wall_ns=wall, floor_s=2.0)
    opening.observe(to_ns(datetime(2026, 11, 24, 8, 46, 0, tzinfo=TAIPEI)))
    night.observe(to_ns(datetime(2026, 11, 25, 3, 0, 0, tzinfo=TAIPEI)))  # the small hours: ~2.6 msgs/s
    wall.t += 3 * S
    assert opening.stale_s() == 3.0 and night.stale_s() == 0.0
    bound = TradingCalendar().plausible_silence_s(to_ns(datetime(2026, 11, 25, 3, 0, 3, tzinfo=TAIPEI)), 2.0)
    assert bound > 3.0
    wall.t += int((bound - 3 + 1) * S)
    assert night.stale_s() > bound


def test_no_session_no_staleness_and_a_record_ends_it() -> None:
    wall = Wall()
    s = Staleness(wall_ns=wall)
    s.observe(to_ns(datetime(2026, 11, 28, 10, 0, 0, tzinfo=TAIPEI)))  # a Saturday
    wall.t += 3600 * S
    assert s.stale_s() == 0.0
    s.observe(to_ns(datetime(2026, 11, 24, 13, 44, 50, tzinfo=TAIPEI)))  # ten seconds before the day close
    wall.t += 30 * S
    assert s.stale_s() == 0.0  # the market's time passed the close: silence is normal there
    s = Staleness(wall_ns=wall)
    s.observe(to_ns(datetime(2026, 11, 24, 9, 0, 0, tzinfo=TAIPEI)))
    wall.t += 60 * S
    assert s.stale_s() > 0
    s.observe(to_ns(datetime(2026, 11, 24, 9, 1, 0, tzinfo=TAIPEI)))
    assert s.stale_s() == 0.0
