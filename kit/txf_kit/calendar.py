"""The TXF trading calendar (Asia/Taipei, fixed UTC+8): sessions, trading days, the expected activity.

One module answers every question of market time the project asks: is a session open at an
instant, which trading day an instant belongs to, how busy the feed should be at a session second
and so how long a silence is still plausible. The stall detector, the arbiter's hole judge, the
archive's day split, the bar builder and the simulator all ask it, so they cannot disagree.

Taiwan has used UTC+8 without daylight saving since 1979, so every computation
here is integer arithmetic on UTC epoch nanoseconds plus a fixed 8-hour
offset. The host time zone is never consulted: results are identical under
any `TZ`.

Rules (all times Taipei local, intervals half-open ``[start, end)``):

- Day session 08:45-13:45, night session 15:00-05:00 the next calendar day.
  Both start only on trading days: Monday-Friday that are not in `holidays`.
  Friday's night session therefore ends Saturday 05:00; nothing opens on
  Saturday or Sunday; Monday 00:00-05:00 is closed.
- Pre-open auction (trial matching, Shioaji ``simtrade=True``): 08:30-08:45
  before a day session and 14:50-15:00 before a night session.
- Holidays: a set of Taipei dates. On a holiday there is no day session and no
  night session starting that date. The night session that started on the
  previous trading day still runs until 05:00 on the holiday.
- Trading day: every instant belongs to one trading day, as TAIFEX and Shioaji
  count it: a night session belongs to the NEXT trading day (Friday's night
  session to Monday, or to the first trading day after a holiday). Trading day
  D runs from the pre-open (14:50) of the night session before it to the
  pre-open of its own night session; see `trading_day_span`.
- Expiry: TXF expires on the third Wednesday of the contract month (moved to
  the next trading day when that is a holiday). On that day the expiring
  (near-month) contract stops at 13:30; the market's day session still ends at
  13:45 (`Session.close_ns`), see `Session.expiry` / `Session.near_close_ns`.
  From that evening's night session on, the next month is the near month.

Times are accepted as UTC epoch nanoseconds (`int`) or aware `datetime`s. A
naive datetime raises `TypeError`; Shioaji's naive Taipei `quote.datetime`
converts with `taipei_naive_to_ns`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

__all__ = [
    "TAIPEI",
    "SessionKind",
    "Phase",
    "Session",
    "TimeLike",
    "to_ns",
    "from_ns",
    "taipei",
    "taipei_naive_to_ns",
    "taipei_local_to_ns",
    "is_trading_day",
    "day_session",
    "night_session",
    "sessions_on",
    "session_at",
    "in_session",
    "phase_at",
    "next_session",
    "iter_sessions",
    "session_minute",
    "trading_day",
    "trading_day_span",
    "third_wednesday",
    "last_trading_day",
    "month_code",
    "contract_months",
    "contract_codes",
    "day_rate",
    "night_rate",
    "expected_rate",
    "plausible_silence_s",
    "TradingCalendar",
]

TAIPEI = timezone(timedelta(hours=8), "Asia/Taipei")
"""Asia/Taipei as a fixed offset (no DST since 1979)."""

TimeLike = int | datetime
Holidays = Collection[date]

NS_PER_S = 1_000_000_000
NS_PER_MIN = 60 * NS_PER_S
NS_PER_HOUR = 3600 * NS_PER_S
NS_PER_DAY = 24 * NS_PER_HOUR
_OFFSET_NS = 8 * NS_PER_HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

# Session times as nanoseconds after local midnight.
DAY_PREOPEN = time(8, 30)
DAY_OPEN = time(8, 45)
DAY_CLOSE = time(13, 45)
EXPIRY_CLOSE = time(13, 30)
NIGHT_PREOPEN = time(14, 50)
NIGHT_OPEN = time(15, 0)
NIGHT_CLOSE = time(5, 0)  # next calendar day


def _tod_ns(t: time) -> int:
    return (t.hour * 3600 + t.minute * 60 + t.second) * NS_PER_S + t.microsecond * 1000


_DAY_PREOPEN_NS = _tod_ns(DAY_PREOPEN)
_DAY_OPEN_NS = _tod_ns(DAY_OPEN)
_DAY_CLOSE_NS = _tod_ns(DAY_CLOSE)
_EXPIRY_CLOSE_NS = _tod_ns(EXPIRY_CLOSE)
_NIGHT_PREOPEN_NS = _tod_ns(NIGHT_PREOPEN)
_NIGHT_OPEN_NS = _tod_ns(NIGHT_OPEN)
_NIGHT_CLOSE_NS = NS_PER_DAY + _tod_ns(NIGHT_CLOSE)

_SEARCH_DAYS = 400  # next_session gives up after this many days without a session


class SessionKind(enum.StrEnum):
    DAY = "day"
    NIGHT = "night"


class Phase(enum.StrEnum):
    """Market phase at an instant."""

    CLOSED = "closed"
    PREOPEN = "preopen"  # trial matching before the open (simtrade quotes)
    OPEN = "open"


# --------------------------------------------------------------------- time conversions
def to_ns(t: TimeLike) -> int:
    """UTC epoch ns of `t` (int ns passes through; aware datetime converted; naive -> TypeError)."""
    if isinstance(t, bool):
        raise TypeError("time must be UTC epoch ns (int) or an aware datetime, not bool")
    if isinstance(t, int):
        return t
    if isinstance(t, datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            raise TypeError(
                f"naive datetime {t!r}: pass an aware datetime or UTC epoch ns "
                "(Shioaji's naive Taipei times: use taipei_naive_to_ns)"
            )
        delta = t - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1000
    raise TypeError(f"time must be UTC epoch ns (int) or an aware datetime, not {type(t).__name__}")


def from_ns(ns: int) -> datetime:
    """UTC epoch ns -> aware UTC datetime (truncated to microseconds)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def taipei(t: TimeLike) -> datetime:
    """`t` as an aware datetime in Taipei time."""
    return from_ns(to_ns(t)).astimezone(TAIPEI)


def taipei_local_to_ns(d: date, tod_ns: int = 0) -> int:
    """UTC epoch ns of Taipei local date `d` plus `tod_ns` nanoseconds after local midnight."""
    return (d.toordinal() - _EPOCH_ORDINAL) * NS_PER_DAY + tod_ns - _OFFSET_NS


def taipei_naive_to_ns(dt: datetime) -> int:
    """UTC epoch ns of a naive Taipei local datetime (Shioaji's `quote.datetime`)."""
    if dt.tzinfo is not None:
        return to_ns(dt)
    tod = ((dt.hour * 60 + dt.minute) * 60 + dt.second) * NS_PER_S + dt.microsecond * 1000
    return taipei_local_to_ns(dt.date(), tod)


def _local_split(ns: int) -> tuple[date, int]:
    """UTC ns -> (Taipei local date, ns after local midnight)."""
    days, tod = divmod(ns + _OFFSET_NS, NS_PER_DAY)
    return date.fromordinal(_EPOCH_ORDINAL + days), tod


# --------------------------------------------------------------------- sessions
@dataclass(frozen=True)
class Session:
    """One trading session. Times are UTC epoch ns; the session is ``[open_ns, close_ns)``.

    `date` is the Taipei date the session opens on (a night session opened on
    Friday has date Friday and closes Saturday 05:00). `preopen_ns` starts the
    pre-open auction before `open_ns`. `expiry` is True for the day session on
    the near-month contract's last trading day, where that contract stops at
    `near_close_ns` (13:30) while the session runs to 13:45.
    """

    kind: SessionKind
    date: date
    preopen_ns: int
    open_ns: int
    close_ns: int
    expiry: bool = False

    @property
    def near_close_ns(self) -> int:
        """When the near-month contract stops trading (13:30 on expiry days, else `close_ns`)."""
        if self.expiry:
            return taipei_local_to_ns(self.date, _EXPIRY_CLOSE_NS)
        return self.close_ns

    @property
    def open(self) -> datetime:
        return from_ns(self.open_ns)

    @property
    def close(self) -> datetime:
        return from_ns(self.close_ns)

    @property
    def preopen(self) -> datetime:
        return from_ns(self.preopen_ns)

    @property
    def duration_ns(self) -> int:
        return self.close_ns - self.open_ns

    def contains(self, t: TimeLike) -> bool:
        """True while the session is open: ``open <= t < close``."""
        return self.open_ns <= to_ns(t) < self.close_ns

    def in_preopen(self, t: TimeLike) -> bool:
        """True in this session's pre-open auction: ``preopen <= t < open``."""
        return self.preopen_ns <= to_ns(t) < self.open_ns

    def minute(self, t: TimeLike) -> int:
        """Trading minute of `t` in this session: 0 for [open, open+1min), ...; ValueError outside."""
        ns = to_ns(t)
        if not self.open_ns <= ns < self.close_ns:
            raise ValueError(f"{taipei(ns).isoformat()} is outside {self}")
        return (ns - self.open_ns) // NS_PER_MIN

    def __str__(self) -> str:
        o, c = taipei(self.open_ns), taipei(self.close_ns)
        return f"{self.kind.value} session {o:%Y-%m-%d %H:%M}-{c:%m-%d %H:%M} Taipei"


def is_trading_day(d: date, holidays: Holidays = ()) -> bool:
    """Monday-Friday and not a holiday."""
    return d.weekday() < 5 and d not in holidays


def day_session(d: date, holidays: Holidays = ()) -> Session | None:
    """The day session opening on Taipei date `d`, or None."""
    if not is_trading_day(d, holidays):
        return None
    return Session(
        SessionKind.DAY,
        d,
        taipei_local_to_ns(d, _DAY_PREOPEN_NS),
        taipei_local_to_ns(d, _DAY_OPEN_NS),
        taipei_local_to_ns(d, _DAY_CLOSE_NS),
        expiry=(d == last_trading_day(d.year, d.month, holidays)),
    )


def night_session(d: date, holidays: Holidays = ()) -> Session | None:
    """The night session opening on Taipei date `d` (15:00) and closing next day 05:00, or None."""
    if not is_trading_day(d, holidays):
        return None
    return Session(
        SessionKind.NIGHT,
        d,
        taipei_local_to_ns(d, _NIGHT_PREOPEN_NS),
        taipei_local_to_ns(d, _NIGHT_OPEN_NS),
        taipei_local_to_ns(d, _NIGHT_CLOSE_NS),
    )


def sessions_on(d: date, holidays: Holidays = ()) -> list[Session]:
    """Sessions opening on Taipei date `d`, in order (day, night); empty on non-trading days."""
    return [s for s in (day_session(d, holidays), night_session(d, holidays)) if s is not None]


def session_at(t: TimeLike, holidays: Holidays = (), *, include_preopen: bool = False) -> Session | None:
    """The session open at `t` (or whose pre-open auction runs at `t` if `include_preopen`), else None."""
    ns = to_ns(t)
    d, tod = _local_split(ns)
    if tod < _NIGHT_CLOSE_NS - NS_PER_DAY:  # 00:00-05:00: previous date's night session
        return night_session(d - timedelta(days=1), holidays)
    lo_day = _DAY_PREOPEN_NS if include_preopen else _DAY_OPEN_NS
    if lo_day <= tod < _DAY_CLOSE_NS:
        return day_session(d, holidays)
    lo_night = _NIGHT_PREOPEN_NS if include_preopen else _NIGHT_OPEN_NS
    if tod >= lo_night:
        return night_session(d, holidays)
    return None


def in_session(t: TimeLike, holidays: Holidays = ()) -> bool:
    """True while a TXF session is open at `t` (pre-open excluded)."""
    return session_at(t, holidays) is not None


def phase_at(t: TimeLike, holidays: Holidays = ()) -> Phase:
    """CLOSED, PREOPEN (auction before an open) or OPEN at `t`."""
    s = session_at(t, holidays, include_preopen=True)
    if s is None:
        return Phase.CLOSED
    return Phase.OPEN if s.contains(t) else Phase.PREOPEN


def iter_sessions(start: TimeLike, holidays: Holidays = ()) -> Iterator[Session]:
    """Sessions with ``close > start`` in time order: the one open at `start` (if any) first.

    Infinite; raises ValueError after 400 consecutive days without a session.
    """
    ns = to_ns(start)
    d, _ = _local_split(ns)
    d -= timedelta(days=1)
    empty = 0
    while True:
        found = False
        for s in sessions_on(d, holidays):
            found = True
            if s.close_ns > ns:
                yield s
        empty = 0 if found else empty + 1
        if empty > _SEARCH_DAYS:
            raise ValueError(f"no TXF session within {_SEARCH_DAYS} days after {d}: check the holiday set")
        d += timedelta(days=1)


def next_session(after: TimeLike, holidays: Holidays = (), *, kind: SessionKind | None = None) -> Session:
    """The first session opening strictly after `after` (optionally of one `kind`)."""
    ns = to_ns(after)
    for s in iter_sessions(ns, holidays):
        if s.open_ns > ns and (kind is None or s.kind == kind):
            return s
    raise AssertionError("unreachable")  # iter_sessions is infinite or raises


def session_minute(t: TimeLike, holidays: Holidays = ()) -> int | None:
    """Trading minute of the session open at `t` (0 = first minute), None outside sessions."""
    s = session_at(t, holidays)
    return None if s is None else s.minute(t)


def trading_day_span(t: TimeLike, holidays: Holidays = ()) -> tuple[date, int, int]:
    """(trading day, start_ns, end_ns): the trading day `t` belongs to and all instants ``[start, end)`` that do.

    A trading day D starts at the night pre-open (14:50) of the trading day before D (its night session
    is D's first session) and ends at D's own night pre-open. So the day session, the quiet hours after
    a close and the early morning before a day session all belong to the session that opened last.
    The span lets a caller classify a whole batch of times with two comparisons (txf-archive does).
    """
    ns = to_ns(t)
    d, tod = _local_split(ns)
    opened = d if tod >= _NIGHT_PREOPEN_NS else d - timedelta(days=1)  # date of the last night pre-open
    for _ in range(_SEARCH_DAYS):
        if is_trading_day(opened, holidays):
            break
        opened -= timedelta(days=1)
    else:
        raise ValueError(f"no TXF trading day within {_SEARCH_DAYS} days before {d}: check the holiday set")
    day = opened + timedelta(days=1)
    for _ in range(_SEARCH_DAYS):
        if is_trading_day(day, holidays):
            break
        day += timedelta(days=1)
    else:
        raise ValueError(f"no TXF trading day within {_SEARCH_DAYS} days after {opened}: check the holiday set")
    return day, taipei_local_to_ns(opened, _NIGHT_PREOPEN_NS), taipei_local_to_ns(day, _NIGHT_PREOPEN_NS)


def trading_day(t: TimeLike, holidays: Holidays = ()) -> date:
    """The trading day `t` belongs to: a night session (and its pre-open) counts for the next trading day."""
    return trading_day_span(t, holidays)[0]


# --------------------------------------------------------------------- contract months
MONTH_LETTERS = "ABCDEFGHIJKL"


def third_wednesday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(2 - first.weekday()) % 7 + 14)


def last_trading_day(year: int, month: int, holidays: Holidays = ()) -> date:
    """Last trading day of the TXF contract for (year, month): the third Wednesday, or the next trading day."""
    d = third_wednesday(year, month)
    while not is_trading_day(d, holidays):
        d += timedelta(days=1)
    return d


def month_code(year: int, month: int, product: str = "TXF") -> str:
    """`TXF` + month letter (A=Jan .. L=Dec) + last digit of the year: (2026, 11) -> 'TXFK6'."""
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} not in 1..12")
    return f"{product}{MONTH_LETTERS[month - 1]}{year % 10}"


def _add_month(ym: tuple[int, int]) -> tuple[int, int]:
    y, m = ym
    return (y + 1, 1) if m == 12 else (y, m + 1)


def contract_months(session: Session, holidays: Holidays = ()) -> tuple[tuple[int, int], tuple[int, int]]:
    """(near, next) contract months, as (year, month), trading in `session`.

    The near month trades through its last trading day's day session; the night
    session of that day already has the next month as near month.
    """
    d = session.date
    ym = (d.year, d.month)
    ltd = last_trading_day(*ym, holidays)
    if d > ltd or (d == ltd and session.kind is SessionKind.NIGHT):
        ym = _add_month(ym)
    return ym, _add_month(ym)


def contract_codes(session: Session, holidays: Holidays = (), product: str = "TXF") -> tuple[str, str]:
    """Real codes of TXFR1 and TXFR2 in `session`, e.g. ('TXFK6', 'TXFL6')."""
    near, nxt = contract_months(session, holidays)
    return month_code(*near, product), month_code(*nxt, product)


# --------------------------------------------------------------------- expected activity
# The intraday shape of the TXF feed: expected messages per second at any session second, fitted to
# the original service's figures (REFERENCE §2: ~410,000 messages a day, a 353 msgs/s peak in the
# opening burst, a quiet midday, a night floor of a few messages a second with a bump at the US open).
# The simulator draws its arrivals from it; the stall detector and the hole judge use it to tell a
# quiet stretch from a silent feed.


def day_rate(s: float) -> float:
    """Day-session message rate (msgs/s at intensity 1) `s` seconds after 08:45."""
    return 300.0 * math.exp(-s / 40.0) + 40.0 * math.exp(-s / 600.0) + 11.0 + 8.0 * math.exp((s - 18_000.0) / 600.0)


def night_rate(s: float) -> float:
    """Night-session message rate (msgs/s at intensity 1) `s` seconds after 15:00 (US open bump at 21:30)."""
    z = (s - 23_400.0) / 1_800.0
    return 80.0 * math.exp(-s / 60.0) + 2.6 + 6.0 * math.exp(-0.5 * z * z)


def expected_rate(session: Session | None, t_ns: int) -> float:
    """Expected feed rate at `t_ns` (UTC epoch ns) inside `session`; 0 outside any session."""
    if session is None:
        return 0.0
    s = max(0.0, (t_ns - session.open_ns) / 1e9)
    return day_rate(s) if session.kind is SessionKind.DAY else night_rate(s)


# -ln(1e-9): a silence of this many expected inter-arrival times is implausible for a live feed
IMPLAUSIBLE = -math.log(1e-9)


def plausible_silence_s(session: Session | None, t_ns: int, floor_s: float) -> float:
    """Longest silence still plausible at `t_ns`: `floor_s`, or more when the feed is slow.

    The bound where P(no message) < 1e-9 for a Poisson feed at the expected rate: a quiet night
    allows longer silences than the opening burst. Used by the stall detector (is the feed dead?)
    and the arbiter's gap detector (was nothing captured?).
    """
    rate = expected_rate(session, t_ns)
    return floor_s if rate <= 0 else max(floor_s, IMPLAUSIBLE / rate)


# --------------------------------------------------------------------- one calendar, its holidays bound
@dataclass(frozen=True)
class TradingCalendar:
    """The calendar with one venue's holidays bound: what every service holds instead of a holiday set.

    The stall detector, the arbiter's hole judge, the archive's day split and the bar builder take
    one of these, so a holiday added to the settings changes all their answers at once.
    """

    holidays: frozenset[date] = frozenset()

    def session_at(self, t: TimeLike, *, include_preopen: bool = False) -> Session | None:
        return session_at(t, self.holidays, include_preopen=include_preopen)

    def sessions_on(self, d: date) -> list[Session]:
        return sessions_on(d, self.holidays)

    def iter_sessions(self, start: TimeLike) -> Iterator[Session]:
        return iter_sessions(start, self.holidays)

    def next_session(self, after: TimeLike, *, kind: SessionKind | None = None) -> Session:
        return next_session(after, self.holidays, kind=kind)

    def trading_day_span(self, t: TimeLike) -> tuple[date, int, int]:
        return trading_day_span(t, self.holidays)

    def trading_day(self, t: TimeLike) -> date:
        return trading_day_span(t, self.holidays)[0]

    def plausible_silence_s(self, t_ns: int, floor_s: float) -> float:
        """Longest silence still plausible at `t_ns` (0 outside sessions is never asked: callers
        check `session_at` first)."""
        return plausible_silence_s(self.session_at(t_ns), t_ns, floor_s)

    def close_between(self, start_ns: int, end_ns: int) -> Session | None:
        """The first session that closes in ``(start_ns, end_ns]``, else None: a hole or an open bar
        that reaches it ends there, whatever comes after."""
        for s in iter_sessions(start_ns, self.holidays):
            if s.close_ns > end_ns:
                return None
            if s.close_ns > start_ns:
                return s
        return None
