"""What time it is in the market: the feed's own clock, from the exchange times it carries.

Everything the project decides about market time (a bar is final, a silence is a capture hole, a
session has closed under a hole) must follow the quotes' exchange time, never the wall clock: a
replay of an earlier day, a backlog caught up after an outage, a backfill or a paced simulation all
deliver exchange times far from "now". But exchange time alone stops when the feed is silent, and a
quiet feed is exactly when a hole or the session's last bar must still be decided.

`FeedClock` joins the two the way Flink's `WatermarksWithIdleness` does: market time is the newest
exchange time observed; only while every input is caught up (nothing more to read now, judged by
the caller from its positions and the high watermarks, never by one empty fetch) does it run on
with the wall clock, from the moment the inputs were caught up. So a backlog is judged by its own
times however fast it is read, a live feed's silence advances the market's clock as it should, and
the clock never runs backwards. The wall clock is injected (monotonic), so tests drive it.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class FeedClock:
    """The market's time (UTC epoch ns) as the feed tells it; see the module doc."""

    def __init__(self, wall_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self._wall_ns = wall_ns
        self._newest = 0  # newest exchange time observed
        self._idle_from_wall = 0  # wall time since which every input is caught up (0: not caught up)
        self._idle_from_market = 0  # the market time at that moment
        self._floor = 0  # the last time `now` said: it never goes back

    @property
    def newest_ns(self) -> int:
        """The newest exchange time observed (0: none yet)."""
        return self._newest

    @property
    def caught_up(self) -> bool:
        return self._idle_from_wall != 0

    def observe(self, exchange_ns: int) -> None:
        """A record with this exchange time was read."""
        if exchange_ns > self._newest:
            if self._idle_from_wall:  # live: idle time counts again from this record, never back
                current = self.now_ns() if self._newest else 0
                self._newest = exchange_ns
                self._idle_from_wall = self._wall_ns() or 1
                self._idle_from_market = max(exchange_ns, current)
            else:
                self._newest = exchange_ns

    def set_caught_up(self, caught_up: bool) -> None:
        """Whether every input is read to its end now (the caller asks its positions and high watermarks)."""
        if caught_up and not self._idle_from_wall:
            self._idle_from_wall = self._wall_ns() or 1
            self._idle_from_market = max(self._newest, self._floor)
        elif not caught_up and self._idle_from_wall:
            self._floor = self.now_ns()
            self._idle_from_wall = 0

    def now_ns(self) -> int:
        """The market's time: the newest exchange time, run on by the wall clock while caught up
        (0 until the first record: an empty feed tells no time)."""
        if not self._newest:
            return 0
        now = max(self._newest, self._floor)
        if self._idle_from_wall:
            now = max(now, self._idle_from_market + (self._wall_ns() - self._idle_from_wall))
        self._floor = now
        return now
