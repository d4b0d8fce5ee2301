"""The TAIFEX TXF session calendar: boundaries, weekends, holidays, pre-open, expiry, any host time zone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txf_kit import calendar as S
from txf_kit.calendar import TAIPEI, Phase, SessionKind

NS = 1_000_000_000


def tpe(*args: int) -> int:
    """UTC epoch ns of a Taipei local time."""
    return S.to_ns(datetime(*args, tzinfo=TAIPEI))


# 2026-11-16 is a Monday; 2026-11-20 a Friday; 2026-11-18 the third Wednesday of November.
MON, TUE, WED, THU, FRI, SAT, SUN = (date(2026, 11, d) for d in range(16, 23))


def test_day_session_boundaries_are_half_open() -> None:
    s = S.session_at(tpe(2026, 11, 16, 8, 45))
    assert s is not None and s.kind is SessionKind.DAY and s.date == MON
    assert s.open_ns == tpe(2026, 11, 16, 8, 45) and s.close_ns == tpe(2026, 11, 16, 13, 45)
    assert S.session_at(tpe(2026, 11, 16, 8, 45) - 1) is None
    assert S.in_session(tpe(2026, 11, 16, 13, 45) - 1)
    assert not S.in_session(tpe(2026, 11, 16, 13, 45))
    assert s.duration_ns == 5 * 3600 * NS
    assert s.open == datetime(2026, 11, 16, 0, 45, tzinfo=UTC)


def test_night_session_runs_past_midnight_to_five() -> None:
    s = S.session_at(tpe(2026, 11, 17, 4, 59, 59, 999999))
    assert s is not None and s.kind is SessionKind.NIGHT and s.date == MON
    assert s.open_ns == tpe(2026, 11, 16, 15, 0) and s.close_ns == tpe(2026, 11, 17, 5, 0)
    assert S.session_at(tpe(2026, 11, 16, 15, 0)) == s
    assert S.session_at(tpe(2026, 11, 16, 15, 0) - 1) is None
    assert S.session_at(tpe(2026, 11, 17, 5, 0)) is None
    assert s.duration_ns == 14 * 3600 * NS


def test_friday_night_ends_saturday_five_and_weekend_is_closed() -> None:
    fri_night = S.session_at(tpe(2026, 11, 21, 4, 59))
    assert fri_night is not None and fri_night.date == FRI and fri_night.kind is SessionKind.NIGHT
    assert fri_night.close_ns == tpe(2026, 11, 21, 5, 0)
    assert S.session_at(tpe(2026, 11, 21, 5, 0)) is None
    for t in (
        tpe(2026, 11, 21, 9, 0),
        tpe(2026, 11, 21, 16, 0),
        tpe(2026, 11, 22, 9, 0),
        tpe(2026, 11, 22, 23, 0),
        tpe(2026, 11, 23, 1, 0),
        tpe(2026, 11, 23, 8, 29),
    ):
        assert S.session_at(t) is None, S.taipei(t)
        assert S.phase_at(t) is Phase.CLOSED
    nxt = S.next_session(tpe(2026, 11, 21, 5, 0))
    assert nxt.kind is SessionKind.DAY and nxt.open_ns == tpe(2026, 11, 23, 8, 45)


def test_holiday_has_no_sessions_but_previous_night_runs_until_five() -> None:
    hol = frozenset({WED})
    tue_night = S.session_at(tpe(2026, 11, 18, 4, 0), hol)
    assert tue_night is not None and tue_night.date == TUE and tue_night.close_ns == tpe(2026, 11, 18, 5, 0)
    assert S.session_at(tpe(2026, 11, 18, 9, 0), hol) is None
    assert S.session_at(tpe(2026, 11, 18, 16, 0), hol) is None
    assert S.session_at(tpe(2026, 11, 19, 2, 0), hol) is None  # no night session started on the holiday
    assert S.phase_at(tpe(2026, 11, 18, 8, 35), hol) is Phase.CLOSED
    assert S.sessions_on(WED, hol) == []
    nxt = S.next_session(tpe(2026, 11, 18, 5, 0), hol)
    assert (nxt.kind, nxt.date) == (SessionKind.DAY, THU)
    # without the holiday the same instants are open
    assert S.in_session(tpe(2026, 11, 18, 9, 0)) and S.in_session(tpe(2026, 11, 19, 2, 0))


def test_preopen_windows() -> None:
    assert S.phase_at(tpe(2026, 11, 16, 8, 30) - 1) is Phase.CLOSED
    assert S.phase_at(tpe(2026, 11, 16, 8, 30)) is Phase.PREOPEN
    assert S.phase_at(tpe(2026, 11, 16, 8, 44, 59)) is Phase.PREOPEN
    assert S.phase_at(tpe(2026, 11, 16, 8, 45)) is Phase.OPEN
    assert S.phase_at(tpe(2026, 11, 16, 14, 50) - 1) is Phase.CLOSED
    assert S.phase_at(tpe(2026, 11, 16, 14, 50)) is Phase.PREOPEN
    assert S.phase_at(tpe(2026, 11, 16, 15, 0)) is Phase.OPEN
    assert S.session_at(tpe(2026, 11, 16, 8, 31)) is None
    pre = S.session_at(tpe(2026, 11, 16, 8, 31), include_preopen=True)
    assert pre is not None and pre.kind is SessionKind.DAY and pre.in_preopen(tpe(2026, 11, 16, 8, 31))
    assert S.phase_at(tpe(2026, 11, 21, 8, 35)) is Phase.CLOSED  # Saturday
    assert S.phase_at(tpe(2026, 11, 21, 14, 55)) is Phase.CLOSED


def test_next_session_is_strictly_after() -> None:
    fri_day_open = tpe(2026, 11, 20, 8, 45)
    assert S.next_session(fri_day_open - 1).open_ns == fri_day_open
    assert S.next_session(fri_day_open).open_ns == tpe(2026, 11, 20, 15, 0)
    assert S.next_session(tpe(2026, 11, 20, 15, 0)).open_ns == tpe(2026, 11, 23, 8, 45)
    assert S.next_session(tpe(2026, 11, 20, 14, 0), kind=SessionKind.DAY).date == date(2026, 11, 23)
    with pytest.raises(ValueError, match="no TXF session"):
        S.next_session(tpe(2026, 11, 20, 16, 0), frozenset(date(2026, 11, 21) + timedelta(d) for d in range(800)))


def test_session_minute() -> None:
    assert S.session_minute(tpe(2026, 11, 16, 8, 45, 59, 999999)) == 0
    assert S.session_minute(tpe(2026, 11, 16, 8, 46)) == 1
    assert S.session_minute(tpe(2026, 11, 16, 13, 44, 59)) == 299
    assert S.session_minute(tpe(2026, 11, 17, 4, 59)) == 14 * 60 - 1
    assert S.session_minute(tpe(2026, 11, 16, 14, 0)) is None
    s = S.day_session(MON)
    assert s is not None
    with pytest.raises(ValueError):
        s.minute(s.close_ns)


def test_time_inputs() -> None:
    t = tpe(2026, 11, 16, 9, 0)
    assert S.to_ns(datetime(2026, 11, 16, 1, 0, tzinfo=UTC)) == t
    assert S.to_ns(datetime(2026, 11, 15, 20, 0, tzinfo=timezone(timedelta(hours=-5)))) == t
    assert S.taipei_naive_to_ns(datetime(2026, 11, 16, 9, 0)) == t
    assert S.taipei(t) == datetime(2026, 11, 16, 9, 0, tzinfo=TAIPEI)
    with pytest.raises(TypeError, match="naive"):
        S.session_at(datetime(2026, 11, 16, 9, 0))
    with pytest.raises(TypeError):
        S.to_ns("2026-11-16")  # type: ignore[arg-type]


def test_month_codes_and_expiry() -> None:
    assert S.third_wednesday(2026, 11) == WED
    assert S.third_wednesday(2026, 4) == date(2026, 4, 15)  # April 1st is a Wednesday
    assert S.month_code(2026, 11) == "TXFK6" and S.month_code(2027, 1) == "TXFA7"
    day = S.day_session(WED)
    assert day is not None and day.expiry and day.near_close_ns == tpe(2026, 11, 18, 13, 30)
    assert day.close_ns == tpe(2026, 11, 18, 13, 45)
    assert S.contract_codes(day) == ("TXFK6", "TXFL6")
    night = S.night_session(WED)
    assert night is not None and not night.expiry and S.contract_codes(night) == ("TXFL6", "TXFA7")
    assert S.contract_codes(S.night_session(TUE)) == ("TXFK6", "TXFL6")  # type: ignore[arg-type]
    dec = S.night_session(date(2026, 12, 16))
    assert dec is not None and S.contract_codes(dec) == ("TXFA7", "TXFB7")
    # a holiday on the third Wednesday moves the last trading day to Thursday
    hol = frozenset({WED})
    assert S.last_trading_day(2026, 11, hol) == THU
    thu = S.day_session(THU, hol)
    assert thu is not None and thu.expiry and S.contract_codes(thu, hol) == ("TXFK6", "TXFL6")
    assert S.contract_codes(S.night_session(THU, hol), hol)[0] == "TXFL6"  # type: ignore[arg-type]


def test_taipei_offset_matches_tz_database() -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        tz = zoneinfo.ZoneInfo("Asia/Taipei")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database")
    for y in range(1980, 2040, 3):
        for m in (1, 7):
            assert datetime(y, m, 1, 12, tzinfo=tz).utcoffset() == timedelta(hours=8)


_CHILD = """
import json, sys, time
from txf_kit import calendar as S
out = []
for t in json.loads(sys.argv[1]):
    s = S.session_at(t, include_preopen=True)
    out.append([time.tzname[0], S.phase_at(t).value, None if s is None else [s.kind.value, str(s.date), s.open_ns],
                S.next_session(t).open_ns, S.taipei(t).isoformat()])
print(json.dumps(out))
"""


def test_results_do_not_depend_on_host_time_zone() -> None:
    """America/New_York (with DST) must give the same answers as here; run in a child with TZ set."""
    probes = [
        tpe(2026, 3, 8, 14, 55),
        tpe(2026, 11, 1, 15, 0),
        tpe(2026, 11, 21, 4, 59),
        tpe(2026, 11, 21, 5, 0),
        tpe(2026, 11, 16, 8, 30),
        tpe(2026, 11, 16, 0, 30),
        tpe(2026, 3, 9, 4, 0),
    ]
    env = dict(os.environ, TZ="America/New_York")
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(probes)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    child = json.loads(res.stdout)
    assert child[0][0] in ("EST", "EDT")  # the child really ran in New York time
    here = []
    for t in probes:
        s = S.session_at(t, include_preopen=True)
        here.append(
            [
                S.phase_at(t).value,
                None if s is None else [s.kind.value, str(s.date), s.open_ns],
                S.next_session(t).open_ns,
                S.taipei(t).isoformat(),
            ]
        )
    assert [c[1:] for c in child] == here


# ----------------------------------------------------------------------------- properties
TIMES = st.integers(min_value=tpe(2024, 1, 1, 0, 0), max_value=tpe(2032, 12, 31, 23, 59))


@st.composite
def time_and_holidays(draw: st.DrawFn) -> tuple[int, frozenset[date]]:
    """A time and holidays that matter: any subset of the dates within a week of it."""
    t = draw(TIMES)
    d = S.taipei(t).date()
    near = [d + timedelta(days=k) for k in range(-7, 8)]
    return t, frozenset(draw(st.lists(st.sampled_from(near), max_size=8)))


def _local(ns: int) -> datetime:
    return S.taipei(ns)


@settings(max_examples=400, deadline=None)
@given(time_and_holidays())
def test_session_at_agrees_with_the_rules(th: tuple[int, frozenset[date]]) -> None:
    t, hol = th
    s = S.session_at(t, hol)
    local = _local(t)
    hm = (local.hour, local.minute)
    if s is None:
        assert not S.in_session(t, hol)
        # closed: either outside all windows, or the opening date is no trading day
        if (8, 45) <= hm < (13, 45) or hm >= (15, 0):
            assert not S.is_trading_day(local.date(), hol)
        elif hm < (5, 0):
            assert not S.is_trading_day(local.date() - timedelta(days=1), hol)
        return
    assert s.open_ns <= t < s.close_ns and s.contains(t)
    assert S.is_trading_day(s.date, hol) and s.date not in hol and s.date.weekday() < 5
    o, c = _local(s.open_ns), _local(s.close_ns)
    if s.kind is SessionKind.DAY:
        assert (o.date(), o.time().isoformat(), c.date(), c.time().isoformat()) == (
            s.date,
            "08:45:00",
            s.date,
            "13:45:00",
        )
    else:
        assert (o.date(), o.time().isoformat()) == (s.date, "15:00:00")
        assert (c.date(), c.time().isoformat()) == (s.date + timedelta(days=1), "05:00:00")
    assert s.preopen_ns == s.open_ns - (15 if s.kind is SessionKind.DAY else 10) * 60 * NS
    assert 0 <= s.minute(t) < s.duration_ns // (60 * NS)


@settings(max_examples=300, deadline=None)
@given(time_and_holidays())
def test_next_session_is_the_first_open_after(th: tuple[int, frozenset[date]]) -> None:
    t, hol = th
    n = S.next_session(t, hol)
    assert n.open_ns > t
    assert S.session_at(n.open_ns, hol) == n
    # nothing opens in between: just before n opens we are closed or still in a session that opened by t
    before = S.session_at(n.open_ns - 1, hol)
    assert before is None or before.open_ns <= t
    # the session open at t (if any) comes first in iter_sessions
    cur = S.session_at(t, hol)
    first = next(S.iter_sessions(t, hol))
    assert first == (cur if cur is not None else n)


@settings(max_examples=300, deadline=None)
@given(time_and_holidays())
def test_phase_partitions_time(th: tuple[int, frozenset[date]]) -> None:
    t, hol = th
    ph = S.phase_at(t, hol)
    assert (ph is Phase.OPEN) == S.in_session(t, hol)
    s = S.session_at(t, hol, include_preopen=True)
    if ph is Phase.PREOPEN:
        assert s is not None and s.in_preopen(t) and S.session_at(t, hol) is None
    assert (ph is Phase.CLOSED) == (s is None)


@settings(max_examples=200, deadline=None)
@given(time_and_holidays())
def test_near_month_never_expired(th: tuple[int, frozenset[date]]) -> None:
    t, hol = th
    d = S.taipei(t).date()
    hol = hol | {S.third_wednesday(d.year, d.month)} if t % 3 == 0 else hol  # often move the expiry
    for s in S.sessions_on(d, hol):
        (y1, m1), (y2, m2) = S.contract_months(s, hol)
        assert (y2 * 12 + m2) - (y1 * 12 + m1) == 1
        ltd = S.last_trading_day(y1, m1, hol)
        assert d < ltd or (d == ltd and s.kind is SessionKind.DAY)
        assert s.expiry == (s.kind is SessionKind.DAY and d == ltd)
        # and it is the earliest month not yet expired
        py, pm = (y1, m1 - 1) if m1 > 1 else (y1 - 1, 12)
        pltd = S.last_trading_day(py, pm, hol)
        assert d > pltd or (d == pltd and s.kind is SessionKind.NIGHT)


# --------------------------------------------------------------------- trading day
def _tp(y: int, mo: int, d: int, h: int, mi: int = 0) -> int:
    return S.to_ns(datetime(y, mo, d, h, mi, tzinfo=TAIPEI))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ((2026, 5, 27, 8, 45), date(2026, 5, 27)),  # Wednesday day session
        ((2026, 5, 27, 13, 45), date(2026, 5, 27)),  # after the close: still that day
        ((2026, 5, 27, 14, 49), date(2026, 5, 27)),
        ((2026, 5, 27, 14, 50), date(2026, 5, 28)),  # night pre-open: the next trading day
        ((2026, 5, 27, 23, 0), date(2026, 5, 28)),
        ((2026, 5, 28, 4, 59), date(2026, 5, 28)),
        ((2026, 5, 28, 6, 0), date(2026, 5, 28)),
        ((2026, 5, 29, 15, 0), date(2026, 6, 1)),  # Friday night -> Monday
        ((2026, 5, 30, 4, 0), date(2026, 6, 1)),  # Saturday early hours of Friday's night
        ((2026, 5, 31, 12, 0), date(2026, 6, 1)),  # Sunday: nothing opened since Friday night
    ],
)
def test_trading_day_counts_the_night_for_the_next_trading_day(when, expected):
    assert S.trading_day(_tp(*when)) == expected


def test_trading_day_skips_holidays_and_its_span_is_exact():
    holidays = {date(2026, 6, 1)}  # a Monday holiday: Friday's night belongs to Tuesday
    assert S.trading_day(_tp(2026, 5, 29, 15, 0), holidays) == date(2026, 6, 2)
    day, start, end = S.trading_day_span(_tp(2026, 5, 29, 15, 0), holidays)
    assert (start, end) == (_tp(2026, 5, 29, 14, 50), _tp(2026, 6, 2, 14, 50))
    assert S.trading_day(start, holidays) == day and S.trading_day(end - 1, holidays) == day
    assert S.trading_day(end, holidays) == date(2026, 6, 3)
