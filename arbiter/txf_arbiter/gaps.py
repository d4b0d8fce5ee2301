"""Is a silence of the captured feed a hole? The session calendar and the intraday activity model say.

A hole is a stretch inside a trading session in which no leg delivered any quote, longer than the
feed's own quiet can explain: the same bound the producer's stall detector uses (a silence a
Poisson feed at the expected intraday rate would show with probability below 1e-9, and at least
`floor_s`), so the opening burst tolerates a fraction of a second and a quiet night minutes,
while nights after the close, weekends and holidays are never holes.

Everything is judged in exchange time (the quotes' own clock): a hole starts at the last quote
captured before it and ends at the first one after it, or at the session's close when the feed
did not come back before it. The pre-open auction (simtrade quotes, a trickle) is never judged on
its own: a silence that starts there counts from the open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from txf_kit import calendar
from txf_kit.calendar import plausible_silence_s

NS = 1_000_000_000


@dataclass(frozen=True)
class Hole:
    """A stretch of a session with nothing captured, in exchange time (UTC epoch ns)."""

    start_ns: int  # the last quote captured before it
    end_ns: int  # the first quote captured after it, or the session close
    at_session_end: bool  # nothing came back before the close

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / NS


class GapDetector:
    """Fed every captured quote's exchange time (any stream), in arrival order; reports holes once."""

    def __init__(
        self,
        floor_s: float = 2.0,
        holidays: calendar.Holidays = (),
        session_at: Callable[[int], calendar.Session | None] | None = None,
    ) -> None:
        self.floor_s = floor_s
        self.holidays = holidays
        self._session_at = session_at or (lambda t: calendar.session_at(t, holidays, include_preopen=True))
        self.last_ns = 0  # newest exchange time captured
        self._reported_from = -1  # start of the last hole reported (a hole is reported once)

    def _hole(self, until_ns: int, returned: bool) -> Hole | None:
        last = self.last_ns
        if last == 0 or until_ns <= last or last == self._reported_from:
            return None
        session = self._session_at(last)
        if session is None:
            return None
        quiet_from = max(last, session.open_ns)  # silence in the pre-open auction is not judged
        end = min(until_ns, session.close_ns)
        if end <= quiet_from or (end - quiet_from) / NS <= plausible_silence_s(session, quiet_from, self.floor_s):
            return None
        self._reported_from = last
        return Hole(last, end, not returned or until_ns >= session.close_ns)

    def already_reported(self, start_ns: int) -> None:
        """A hole starting at `start_ns` is on the ledger already (a restarted arbiter read it back)."""
        self._reported_from = max(self._reported_from, start_ns)

    def observe(self, exchange_ns: int) -> Hole | None:
        """A quote was captured; the hole that ends here, if the silence before it was one."""
        hole = self._hole(exchange_ns, returned=True)
        self.last_ns = max(self.last_ns, exchange_ns)
        return hole

    def check(self, now_exchange_ns: int) -> Hole | None:
        """Nothing captured up to `now_exchange_ns` (the market's clock: txf_kit.clock.FeedClock, event
        time run on by the wall only while every leg is read to its end): a hole that ran to its
        session's close without the feed coming back, once that close has passed."""
        session = self._session_at(self.last_ns) if self.last_ns else None
        if session is None or now_exchange_ns < session.close_ns:
            return None
        return self._hole(session.close_ns, returned=False)
