"""Silent-feed detection: is the quiet now a stall, a quiet stretch, or no session at all?

Shioaji can stop delivering after a network drop while its heartbeat looks fine
(issues #215, #221): no error, no event, just silence. Only the clock and the
session calendar can tell that apart from a quiet market:

- outside a session (weekends, nights after 05:00, listed holidays): never a stall;
- quotes were flowing and the silence now exceeds `bound(t)`: a stall. `bound`
  is the configured timeout, or longer when the intraday shape expects so few
  messages that the silence is still plausible (P(no message) < 1e-9 for a
  Poisson feed at the expected rate);
- no quote at all since the session opened, `no_data_after_open_s` into it: an
  exchange holiday missing from the calendar, or a subscription that never took.
  Worth one re-subscribe and an alert, never a restart: restarting cannot make
  a holiday trade, and each restart costs a login (the broker bans hammering).

`check()` returns what to do: OK, RESUBSCRIBE (once per incident), or FATAL
(still silent a further bound after re-subscribing: exit 1, systemd restarts).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from txf_kit import calendar
from txf_kit.calendar import plausible_silence_s

NS = 1_000_000_000


class FeedState(enum.StrEnum):
    """What the detector believes; exported on /readyz and as a metric."""

    CLOSED = "closed"  # no session now
    FLOWING = "flowing"  # quotes within the bound
    NO_DATA_SINCE_OPEN = "no_data_since_open"  # holiday or subscription that never took
    STALLED = "stalled"  # was flowing, now silent past the bound


class Action(enum.StrEnum):
    OK = "ok"
    RESUBSCRIBE = "resubscribe"
    FATAL = "fatal"


@dataclass
class StallDetector:
    """Judges silence against the session calendar and the expected intraday rate."""

    timeout_s: float = 60.0
    no_data_after_open_s: float = 300.0
    holidays: calendar.Holidays = ()
    # which session is open at a time; the TAIFEX calendar unless a test or a venue says otherwise
    session_at: Callable[[int], calendar.Session | None] | None = field(default=None, repr=False)
    state: FeedState = FeedState.CLOSED
    _session_open_ns: int = 0
    _resubscribed_ns: int = 0
    _stalled_since_ns: int = 0

    def _session(self, now_ns: int) -> calendar.Session | None:
        if self.session_at is not None:
            return self.session_at(now_ns)
        return calendar.session_at(now_ns, self.holidays)

    def bound_s(self, now_ns: int) -> float:
        """Longest silence still plausible at `now_ns`: the timeout, or more when the feed is slow."""
        return plausible_silence_s(self._session(now_ns), now_ns, self.timeout_s)

    def check(self, now_ns: int, last_quote_ns: int) -> Action:
        """The action for the silence as of `now_ns`, given the last quote's local time (0: none)."""
        session = self._session(now_ns)
        if session is None:
            self._reset(FeedState.CLOSED)
            return Action.OK
        if session.open_ns != self._session_open_ns:  # a new session: judge it afresh
            self._session_open_ns = session.open_ns
            self._reset(FeedState.FLOWING)
        if last_quote_ns < session.open_ns:  # nothing yet in this session
            if (now_ns - session.open_ns) / NS < self.no_data_after_open_s:
                return Action.OK
            if self.state is not FeedState.NO_DATA_SINCE_OPEN:
                self.state = FeedState.NO_DATA_SINCE_OPEN
                self._resubscribed_ns = now_ns
                return Action.RESUBSCRIBE
            return Action.OK
        silent_s = (now_ns - last_quote_ns) / NS
        if silent_s < self.bound_s(now_ns):
            self._reset(FeedState.FLOWING)
            return Action.OK
        if self.state is not FeedState.STALLED:
            self.state = FeedState.STALLED
            self._stalled_since_ns = now_ns
            self._resubscribed_ns = now_ns
            return Action.RESUBSCRIBE
        if (now_ns - self._resubscribed_ns) / NS >= self.bound_s(now_ns):
            return Action.FATAL
        return Action.OK

    @property
    def stalled_since_ns(self) -> int:
        return self._stalled_since_ns if self.state is FeedState.STALLED else 0

    def _reset(self, state: FeedState) -> None:
        self.state = state
        self._resubscribed_ns = 0
        self._stalled_since_ns = 0
