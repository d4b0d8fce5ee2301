"""Is the feed stale? A session is open and nothing has arrived for longer than the market can be quiet.

A consumer whose brokers came back but which has not resumed yet, or whose producer died, reads
nothing and would still say "FEED OK": loss and duplicates are judged only on what arrives. So the
library also judges the silence, the way the producer's stall detector and the arbiter's hole judge
do (txf_kit.calendar): the market's time is the newest exchange time read, run on by the wall clock
since it was read (a silent consumer is caught up by definition), and the feed is *stale* when that
time is inside a session and the silence is longer than the calendar's plausible quiet there (the
activity model: a fraction of a second in the opening burst, minutes on a quiet night; at least
`floor_s`). Outside sessions and before the first record it never is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from txf_kit.calendar import TradingCalendar

NS = 1_000_000_000


class Staleness:
    """Fed every record's exchange time; `stale_s()` is the silence so far when it is implausible, else 0."""

    def __init__(
        self,
        calendar: TradingCalendar | None = None,
        floor_s: float = 10.0,
        wall_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.calendar = calendar or TradingCalendar()
        self.floor_s = floor_s
        self._wall_ns = wall_ns
        self._newest_ns = 0  # newest exchange time read
        self._last_wall_ns = 0  # when the last record was read

    def observe(self, exchange_ns: int) -> None:
        self._last_wall_ns = self._wall_ns()
        self._newest_ns = max(self._newest_ns, exchange_ns)

    def stale_s(self) -> float:
        """Seconds of silence when the feed is stale (a session open, the silence implausible), else 0.0."""
        if not self._newest_ns:
            return 0.0
        silent_ns = self._wall_ns() - self._last_wall_ns
        market_now = self._newest_ns + silent_ns
        if self.calendar.session_at(market_now) is None:
            return 0.0
        silent_s = silent_ns / NS
        return silent_s if silent_s > self.calendar.plausible_silence_s(market_now, self.floor_s) else 0.0
