"""The session schedule: timers (OnCalendar in Asia/Taipei, checked with `systemd-analyze calendar`),
the crontab, and txf-run-window (the start condition) agree with each other and with the
producer's session calendar (txf_producer.sessions)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from deploykit import BIN, CRONTAB, SYSTEMD, one, parse_unit, values

from txf_kit import calendar

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
TAIPEI = calendar.TAIPEI
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
BASE = datetime(2026, 11, 22, 0, 0, tzinfo=TAIPEI)  # a Sunday
WEEKS = 3

# What the schedule must be (the brief and the session calendar): action -> {(weekdays, "HH:MM")}
EXPECTED = {
    "start": {(frozenset(range(5)), "08:25"), (frozenset(range(5)), "14:45")},
    "stop": {(frozenset(range(5)), "13:50"), (frozenset(range(1, 6)), "05:05")},
}


def _timer(action: str) -> dict:
    return parse_unit(SYSTEMD / f"txf-producer-{action}.timer")


def _parse_oncalendar(expr: str) -> tuple[frozenset[int], str]:
    m = re.fullmatch(r"(\w{3})\.\.(\w{3}) (\d\d:\d\d) Asia/Taipei", expr)
    assert m, f"unexpected OnCalendar form {expr!r}"
    lo, hi = DAYS.index(m.group(1)), DAYS.index(m.group(2))
    return frozenset(range(lo, hi + 1)), m.group(3)


def timer_schedule() -> dict[str, set[tuple[frozenset[int], str]]]:
    return {
        action: {_parse_oncalendar(e) for e in values(_timer(action), "Timer", "OnCalendar")}
        for action in ("start", "stop")
    }


def _cron_field(field: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        if part == "*":
            out |= set(range(lo, hi + 1))
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        assert m, f"unsupported cron field {field!r}"
        a, b = int(m.group(1)), int(m.group(2) or m.group(1))
        assert lo <= a <= b <= hi, f"cron field {field!r} out of {lo}-{hi}"
        out |= set(range(a, b + 1))
    return out


def cron_entries() -> tuple[list[tuple[list[str], str, str]], list[str], dict[str, str]]:
    """(5-field schedule lines as (fields, user, command), @-lines, variables)."""
    entries, specials, variables = [], [], {}
    for raw in CRONTAB.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            variables[key] = value
            continue
        if line.startswith("@"):
            specials.append(line)
            continue
        parts = line.split(None, 6)
        assert len(parts) == 7, f"cron.d line needs 5 time fields, a user and a command: {raw!r}"
        entries.append((parts[:5], parts[5], parts[6]))
    return entries, specials, variables


def cron_schedule() -> dict[str, set[tuple[frozenset[int], str]]]:
    out: dict[str, set[tuple[frozenset[int], str]]] = {"start": set(), "stop": set()}
    for (minute, hour, dom, month, dow), user, command in cron_entries()[0]:
        assert user == "root"
        assert (dom, month) == ("*", "*")
        minutes, hours = _cron_field(minute, 0, 59), _cron_field(hour, 0, 23)
        assert len(minutes) == len(hours) == 1, "one time per line"
        days = frozenset((d - 1) % 7 for d in _cron_field(dow, 0, 7))  # cron: 0/7 Sunday, 1 Monday
        action = re.search(r"systemctl (start|stop) txf-producer\.service", command)
        assert action, f"cron command does not start/stop txf-producer.service: {command!r}"
        if action.group(1) == "start":
            assert "/opt/txfstream/bin/txf-run-window &&" in command, "starts must check holidays/windows"
        out[action.group(1)].add((days, f"{hours.pop():02d}:{minutes.pop():02d}"))
    return out


def elapses(expr: str, base: datetime, count: int, host_tz: str = "UTC") -> list[datetime]:
    """The next `count` elapses of an OnCalendar expression after `base`, per systemd-analyze, in Taipei.

    systemd prints each elapse in the host zone, plus an "(in UTC)" line when that is not UTC:
    the UTC-suffixed timestamps are exactly one per elapse either way."""
    base_utc = base.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    proc = subprocess.run(
        [ANALYZE, "calendar", f"--iterations={count}", f"--base-time={base_utc}", expr],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": host_tz},
        timeout=30,
    )
    assert proc.returncode == 0, f"systemd-analyze rejects {expr!r}: {proc.stderr}"
    found = re.findall(
        r"^\s*(?:Next elapse|Iter\. #\d+|\(in UTC\)): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC$",
        proc.stdout,
        flags=re.M,
    )
    assert len(found) == count, proc.stdout
    return [datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).astimezone(TAIPEI) for s in found]


def _load_run_window():
    loader = importlib.machinery.SourceFileLoader("txf_run_window", str(BIN / "txf-run-window"))
    spec = importlib.util.spec_from_loader("txf_run_window", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


run_window = _load_run_window()


# --------------------------------------------------------------------------- timers
def test_timers_have_the_expected_schedule() -> None:
    assert timer_schedule() == EXPECTED


@needs_analyze
@pytest.mark.parametrize("action", ["start", "stop"])
def test_systemd_accepts_every_oncalendar_and_elapses_at_taipei_times(action: str) -> None:
    for expr in values(_timer(action), "Timer", "OnCalendar"):
        days, hhmm = _parse_oncalendar(expr)
        times = elapses(expr, BASE, 5 * WEEKS)
        assert all(t.strftime("%H:%M:%S") == f"{hhmm}:00" for t in times), (expr, times)
        assert {t.weekday() for t in times} == set(days), (expr, times)
        # consecutive elapses: every matching day, nothing skipped
        expected_days = [
            d for d in (BASE.date() + timedelta(n) for n in range(1, 7 * WEEKS + 2)) if d.weekday() in days
        ][: len(times)]
        assert [t.date() for t in times] == expected_days


@needs_analyze
@pytest.mark.parametrize("host_tz", ["America/New_York", "Asia/Taipei", "Europe/London"])
def test_oncalendar_time_zone_suffix_ignores_the_host_zone(host_tz: str) -> None:
    for action in ("start", "stop"):
        for expr in values(_timer(action), "Timer", "OnCalendar"):
            assert elapses(expr, BASE, 6, host_tz) == elapses(expr, BASE, 6, "UTC"), (expr, host_tz)
    assert elapses("Mon..Fri 08:25 Asia/Taipei", BASE, 1, host_tz) == [datetime(2026, 11, 23, 8, 25, tzinfo=TAIPEI)]


@needs_analyze
def test_schedule_covers_every_session_with_margins() -> None:
    """Simulate the timers over three weeks against the session calendar: running through every
    pre-open auction and session, started 5-20 min before the pre-open, stopped 5-10 min after."""
    events = []
    for action in ("start", "stop"):
        for expr in values(_timer(action), "Timer", "OnCalendar"):
            events += [(t, action) for t in elapses(expr, BASE, 5 * WEEKS)]
    events.sort()
    horizon = BASE + timedelta(weeks=WEEKS)

    def running_at(t: datetime) -> bool:
        before = [a for when, a in events if when <= t]
        return bool(before) and before[-1] == "start"

    checked = 0
    for s in calendar.iter_sessions(BASE + timedelta(days=1)):
        preopen, close = calendar.taipei(s.preopen_ns), calendar.taipei(s.close_ns)
        if close > horizon:
            break
        starts = [w for w, a in events if a == "start" and preopen - timedelta(minutes=20) <= w <= preopen]
        assert starts and preopen - starts[-1] >= timedelta(minutes=5), f"no timely start before {s}"
        assert not [w for w, a in events if a == "stop" and starts[-1] <= w < close], f"stopped during {s}"
        stops = [w for w, a in events if a == "stop" and close <= w <= close + timedelta(minutes=10)]
        assert stops and stops[0] - close >= timedelta(minutes=5), f"no stop after {s}"
        assert running_at(preopen) and running_at(close - timedelta(seconds=1))
        checked += 1
    assert checked == 2 * 5 * WEEKS
    # and it is down when nothing trades
    for idle in (
        datetime(2026, 11, 29, 12, 0, tzinfo=TAIPEI),  # Sunday
        datetime(2026, 11, 30, 3, 0, tzinfo=TAIPEI),  # Monday night before the first session
        datetime(2026, 11, 28, 6, 0, tzinfo=TAIPEI),  # Saturday after Friday's night session
        datetime(2026, 11, 24, 14, 0, tzinfo=TAIPEI),  # between day and night session
        datetime(2026, 11, 24, 7, 0, tzinfo=TAIPEI),
    ):  # before the day session
        assert not running_at(idle), idle


def test_timers_settings() -> None:
    for action in ("start", "stop"):
        timer = _timer(action)
        assert one(timer, "Timer", "Persistent") == "false"
        assert one(timer, "Timer", "AccuracySec") == "1s"
        assert one(timer, "Timer", "Unit") == f"txf-producer-{action}.service"
        assert one(timer, "Install", "WantedBy") == "timers.target"
        service = parse_unit(SYSTEMD / f"txf-producer-{action}.service")
        assert one(service, "Service", "Type") == "oneshot"
        assert one(service, "Service", "ExecStart") == f"/usr/bin/systemctl {action} txf-producer.service"
    start = parse_unit(SYSTEMD / "txf-producer-start.service")
    assert one(start, "Service", "ExecCondition") == "/opt/txfstream/bin/txf-run-window"
    assert one(_timer("start"), "Timer", "OnBootSec") == "2min"
    assert not values(_timer("stop"), "Timer", "OnBootSec")


# --------------------------------------------------------------------------- cron
def test_crontab_lines_parse_and_match_the_timers() -> None:
    entries, specials, variables = cron_entries()
    assert len(entries) == 4
    assert cron_schedule() == timer_schedule() == EXPECTED
    assert variables.get("CRON_TZ") == "Asia/Taipei"
    assert len(specials) == 1 and specials[0].startswith("@reboot") and "txf-run-window" in specials[0]
    assert "%" not in CRONTAB.read_text(), "% is special in cron commands"
    assert CRONTAB.read_text().endswith("\n"), "cron ignores a last line without a newline"


# --------------------------------------------------------------------------- txf-run-window
def test_run_window_matches_the_timers() -> None:
    sched = timer_schedule()
    starts = sorted(hhmm for _d, hhmm in sched["start"])
    stops = sorted(hhmm for _d, hhmm in sched["stop"])
    windows = {name: (a.strftime("%H:%M"), b.strftime("%H:%M")) for name, a, b in run_window.WINDOWS}
    assert sorted(a for a, _b in windows.values()) == starts
    assert sorted(b for _a, b in windows.values()) == stops


@needs_analyze
def test_run_window_admits_every_scheduled_start_and_no_stop() -> None:
    none: frozenset[date] = frozenset()
    for action, expect in (("start", True), ("stop", False)):
        for expr in values(_timer(action), "Timer", "OnCalendar"):
            for t in elapses(expr, BASE, 10):
                assert (run_window.window_at(t, none) is not None) is expect, (action, t)
                if action == "stop":
                    assert run_window.window_at(t - timedelta(seconds=1), none) is not None, t


def _run_window_cli(tmp_path: Path, now: str, holidays: str = "") -> subprocess.CompletedProcess[str]:
    hfile = tmp_path / "holidays"
    hfile.write_text(holidays)
    return subprocess.run(
        [sys.executable, str(BIN / "txf-run-window"), "--now", now, "--holidays", str(hfile)],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    "now,code",
    [
        ("2026-11-24T08:25", 0),
        ("2026-11-24T08:24:59", 1),
        ("2026-11-24T13:49:59", 0),
        ("2026-11-24T13:50", 1),
        ("2026-11-24T14:45", 0),
        ("2026-11-25T05:04", 0),
        ("2026-11-25T05:05", 1),
        ("2026-11-28T04:00", 0),  # Saturday: Friday's night session
        ("2026-11-28T08:25", 1),
        ("2026-11-29T14:45", 1),  # weekend
        ("2026-11-30T02:00", 1),  # Monday early: no Sunday night session
        ("2026-11-24T00:25:00+00:00", 0),  # an aware time in another zone (08:25 Taipei)
    ],
)
def test_run_window_cli(tmp_path: Path, now: str, code: int) -> None:
    proc = _run_window_cli(tmp_path, now)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert proc.stdout.startswith("txf-run-window: ") and proc.stdout.count("\n") == 1


def test_run_window_skips_holidays_but_not_the_night_before(tmp_path: Path) -> None:
    holidays = "# test\n2026-11-25   # a Wednesday holiday\nnot-a-date\n"
    day = _run_window_cli(tmp_path, "2026-11-25T08:25", holidays)
    assert day.returncode == 1 and "holiday" in day.stdout
    assert "not-a-date" in day.stderr  # reported, ignored (fail open)
    assert _run_window_cli(tmp_path, "2026-11-25T14:45", holidays).returncode == 1
    # Tuesday's night session runs into the holiday morning
    assert _run_window_cli(tmp_path, "2026-11-25T03:00", holidays).returncode == 0
    assert _run_window_cli(tmp_path, "2026-11-24T14:45", holidays).returncode == 0
    # no session opened on the holiday, so none runs into Thursday morning
    assert _run_window_cli(tmp_path, "2026-11-26T03:00", holidays).returncode == 1


def test_run_window_agrees_with_the_session_calendar() -> None:
    """Every instant of every pre-open and session (per txf_producer.sessions) is inside a window."""
    holidays = frozenset({date(2026, 11, 25)})
    t = BASE
    while t < BASE + timedelta(weeks=2):
        if calendar.phase_at(t, holidays) is not calendar.Phase.CLOSED:
            assert run_window.window_at(t, holidays) is not None, t
        t += timedelta(minutes=5)
