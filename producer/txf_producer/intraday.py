"""The intraday shape of the TXF feed: expected messages per second at any session second.

Fitted to the original service's figures (REFERENCE §2: ~410,000 messages a
day, a 353 msgs/s peak in the opening burst, a quiet midday, a night floor of
a few messages a second with a bump at the US open). The simulator draws its
arrivals from it, and the stall detector uses it to tell a quiet stretch from
a silent feed.
"""

from __future__ import annotations

import math

from txf_producer import sessions
from txf_producer.sessions import SessionKind


def day_rate(s: float) -> float:
    """Day-session message rate (msgs/s at intensity 1) `s` seconds after 08:45."""
    return 300.0 * math.exp(-s / 40.0) + 40.0 * math.exp(-s / 600.0) + 11.0 + 8.0 * math.exp((s - 18_000.0) / 600.0)


def night_rate(s: float) -> float:
    """Night-session message rate (msgs/s at intensity 1) `s` seconds after 15:00 (US open bump at 21:30)."""
    z = (s - 23_400.0) / 1_800.0
    return 80.0 * math.exp(-s / 60.0) + 2.6 + 6.0 * math.exp(-0.5 * z * z)


def expected_rate(session: sessions.Session | None, t_ns: int) -> float:
    """Expected feed rate at `t_ns` (UTC epoch ns) inside `session`; 0 outside any session."""
    if session is None:
        return 0.0
    s = max(0.0, (t_ns - session.open_ns) / 1e9)
    return day_rate(s) if session.kind is SessionKind.DAY else night_rate(s)


# -ln(1e-9): a silence of this many expected inter-arrival times is implausible for a live feed
IMPLAUSIBLE = -math.log(1e-9)


def plausible_silence_s(session: sessions.Session | None, t_ns: int, floor_s: float) -> float:
    """Longest silence still plausible at `t_ns`: `floor_s`, or more when the feed is slow.

    The bound where P(no message) < 1e-9 for a Poisson feed at the expected rate: a quiet night
    allows longer silences than the opening burst. Used by the stall detector (is the feed dead?)
    and the arbiter's gap detector (was nothing captured?).
    """
    rate = expected_rate(session, t_ns)
    return floor_s if rate <= 0 else max(floor_s, IMPLAUSIBLE / rate)
