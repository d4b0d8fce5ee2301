"""The session schedule under a real systemd and the real Debian `cron` (one container boot).

The container's clock is the host's (CLOCK_REALTIME has no namespace), so calendar times are
moved just ahead of now in test drop-ins (`OnCalendar=` reset, then one time a few seconds away;
for cron, lines for the next minutes made from the shipped crontab's own commands). Whether a
start is wanted at that moment is txf-run-window's decision from the date; the positive cases
pin that date with `--now` (a Wednesday inside the day window), the holiday case uses the real
today. The container runs in Asia/Taipei, as the RUNBOOK requires for cron.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from containerkit import UNIT, ProducerContainer, booted, entry_time
from deploykit import CRONTAB

from txf_kit.calendar import TAIPEI

pytestmark = pytest.mark.integration
START, STOP = "txf-producer-start", "txf-producer-stop"
RUN_WINDOW = "/opt/txfstream/bin/txf-run-window"
TRADING_MOMENT = "2026-11-25T08:30"  # a Wednesday, inside the day run window (08:25-13:50)


@pytest.fixture(scope="module")
def host() -> Iterator[ProducerContainer]:
    with booted("schedule") as c:
        c.installed = c.install()  # type: ignore[attr-defined]  # the default: --schedule timers
        c.start_stack()
        yield c


@pytest.fixture
def fresh(host: ProducerContainer) -> ProducerContainer:
    """Timers stopped, no start or stop in flight, producer stopped: nothing fires but what a test moves.

    The timers are stopped, not restarted with the shipped calendars: a (re)started start timer's
    boot trigger (OnBootSec=2min, long past) elapses at once, and inside a real run window of a
    real trading day it starts the producer (CI at 08:56 Taipei on a Tuesday: the producer was
    already running when the holiday, weekend and cron cases began). Each test moves the one
    timer it needs (`_move_timer` resets every trigger, the boot one too).
    """
    units = (f"{START}.timer", f"{STOP}.timer", f"{START}.service", f"{STOP}.service")
    host.systemctl("stop", *units, check=False)  # not installed after the cron case: nothing to stop
    host.reset_producer()
    for unit in units:
        host.run("rm", "-rf", f"/etc/systemd/system/{unit}.d")
    host.run("rm", "-f", "/etc/cron.d/txf-producer-test")
    host.write("/etc/txfstream/holidays", "")
    host.systemctl("daemon-reload")
    host.systemctl("reset-failed", f"{START}.service", f"{STOP}.service", check=False)
    host.use_sim("--rate", "200")
    return host


def _figure(name: str, value: str) -> None:
    print(f"FIGURE {name}: {value}")


def _taipei_now() -> datetime:
    return datetime.now(TAIPEI)


def _move_timer(c: ProducerContainer, timer: str, at: datetime) -> None:
    """Only one calendar time, `at` (Taipei); `OnCalendar=` empty resets every trigger, OnBootSec= too."""
    c.drop_in(f"{timer}.timer", "50-test", f"[Timer]\nOnCalendar=\nOnCalendar={at:%Y-%m-%d %H:%M:%S} Asia/Taipei\n")
    c.systemctl("restart", f"{timer}.timer")  # a timer whose one-off time passed has stopped ("elapsed")


def _pin_decision_time(c: ProducerContainer, moment: str) -> None:
    c.drop_in(f"{START}.service", "50-test", f"[Service]\nExecCondition=\nExecCondition={RUN_WINDOW} --now {moment}\n")


def test_install_enables_both_timers_for_the_next_session_times(host: ProducerContainer) -> None:
    summary = host.installed.stdout  # type: ignore[attr-defined]
    assert "done: systemctl enable" in summary, summary
    listed = host.systemctl("list-timers", "--all", "--no-legend", "txf-producer-*").stdout
    for timer in (START, STOP):
        assert host.run("systemctl", "is-enabled", f"{timer}.timer").stdout.strip() == "enabled"
        assert host.run("systemctl", "is-active", f"{timer}.timer").stdout.strip() == "active"
        assert f"{timer}.timer" in listed
    # systemd's next calendar elapse of the shipped timers equals the next one worked out here.
    now = _taipei_now()
    days = {START: {"08:25": range(0, 5), "14:45": range(0, 5)}, STOP: {"13:50": range(0, 5), "05:05": range(1, 6)}}
    for timer, times in days.items():
        shown = host.prop(f"{timer}.timer", "NextElapseUSecRealtime")
        nxt = datetime.strptime(shown.rsplit(" ", 1)[0], "%a %Y-%m-%d %H:%M:%S").replace(tzinfo=TAIPEI)
        expected = min(
            t
            for day in range(8)
            for hhmm, weekdays in times.items()
            if (
                t := datetime.combine(now.date() + timedelta(days=day), datetime.strptime(hhmm, "%H:%M").time(), TAIPEI)
            )
            > now
            and t.weekday() in weekdays
        )
        assert nxt == expected, (timer, shown, expected)
    # ... and the start timer's boot trigger (a reboot inside a session resumes streaming).
    assert "2min" in host.prop(f"{START}.timer", "TimersMonotonic")


def test_timers_fire_at_their_calendar_time_and_start_then_stop_the_producer(fresh: ProducerContainer) -> None:
    c = fresh
    _pin_decision_time(c, TRADING_MOMENT)
    mark = c.mark()
    start_at = (_taipei_now() + timedelta(seconds=4)).replace(microsecond=0)
    _move_timer(c, START, start_at)
    c.wait_state(UNIT, ("active",), 30)
    fired = c.wait_journal(mark, "Starting txf-producer-start.service", 5, "-u", f"{START}.service")
    lateness = entry_time(fired) - start_at.timestamp()
    assert 0 <= lateness < 1.5, lateness  # AccuracySec=1s
    assert any("inside the day run window" in m for m in c.messages(mark, "-u", f"{START}.service"))
    stop_at = (_taipei_now() + timedelta(seconds=3)).replace(microsecond=0)
    _move_timer(c, STOP, stop_at)
    c.wait_state(UNIT, ("inactive",), 40)
    stopped = c.wait_journal(mark, "Starting txf-producer-stop.service", 5, "-u", f"{STOP}.service")
    stop_lateness = entry_time(stopped) - stop_at.timestamp()
    assert 0 <= stop_lateness < 1.5, stop_lateness
    shown = c.show(UNIT, "Result", "ExecMainStatus", "NRestarts")
    assert shown == {"Result": "success", "ExecMainStatus": "0", "NRestarts": "0"}  # a stop never restarts
    _figure("timer lateness (AccuracySec=1s)", f"start {lateness:.2f} s, stop {stop_lateness:.2f} s")


def test_a_listed_holiday_skips_the_scheduled_start(fresh: ProducerContainer) -> None:
    """The real condition with the real date: today and yesterday (Taipei) listed as holidays."""
    c = fresh
    today = _taipei_now().date()
    c.write("/etc/txfstream/holidays", f"# test\n{today - timedelta(days=1)}\n{today}\n")
    mark = c.mark()
    _move_timer(c, START, (_taipei_now() + timedelta(seconds=3)).replace(microsecond=0))
    c.wait_journal(mark, "Skipped due to 'exec-condition'", 20, "-u", f"{START}.service")
    said = c.messages(mark, "-u", f"{START}.service")
    assert any("exchange holiday (listed in /etc/txfstream/holidays): no start" in m for m in said), said
    assert c.prop(UNIT, "ActiveState") == "inactive"
    assert not c.messages(mark, "-u", UNIT)  # the producer was never started


def test_a_weekend_skips_the_start(fresh: ProducerContainer) -> None:
    """The start condition judged on a Saturday (the boot-time trigger can fire on a weekend)."""
    c = fresh
    _pin_decision_time(c, "2026-11-28T08:30")  # Saturday
    mark = c.mark()
    _move_timer(c, START, (_taipei_now() + timedelta(seconds=3)).replace(microsecond=0))
    c.wait_journal(mark, "Skipped due to 'exec-condition'", 20, "-u", f"{START}.service")
    assert any("outside every run window of a trading day" in m for m in c.messages(mark, "-u", f"{START}.service"))
    assert c.prop(UNIT, "ActiveState") == "inactive"


def _cron_line(action: str, at: datetime) -> str:
    """The shipped crontab's first `action` line, due at `at` (Taipei) on any day, decision date pinned."""
    for raw in CRONTAB.read_text().splitlines():
        fields = raw.split(None, 6)
        if len(fields) == 7 and raw[0].isdigit() and f"systemctl {action} " in fields[6]:
            command = fields[6].replace(RUN_WINDOW, f"{RUN_WINDOW} --now {TRADING_MOMENT}")
            return f"{at.minute} {at.hour} * * * {fields[5]} {command}"
    raise AssertionError(f"no {action} line in {CRONTAB}")


def test_the_crontab_under_the_real_cron_daemon(fresh: ProducerContainer) -> None:
    c = fresh
    run = c.install("--schedule", "cron", "--skip-venv")  # the module's install built the venv already
    assert "done: install /etc/cron.d/txf-producer" in run.stdout, run.stdout
    for timer in (START, STOP):  # one schedule only: the timers are gone
        assert c.run("systemctl", "is-enabled", f"{timer}.timer", check=False).stdout.strip() in ("", "not-found")
    assert c.run("cat", "/etc/cron.d/txf-producer").stdout == CRONTAB.read_text()
    # Its @reboot line (sleep 120, then a start decided by the real date) would race this test; its
    # start and stop lines are run below, due in the next minutes.
    c.run("rm", "/etc/cron.d/txf-producer")
    now = _taipei_now()
    start_at = (now + timedelta(minutes=1 if now.second < 50 else 2)).replace(second=0, microsecond=0)
    stop_at = start_at + timedelta(minutes=1)
    header = "".join(
        line + "\n" for line in CRONTAB.read_text().splitlines() if re.match(r"^(SHELL|PATH|CRON_TZ)=", line)
    )
    c.write(
        "/etc/cron.d/txf-producer-test",
        header + _cron_line("start", start_at) + "\n" + _cron_line("stop", stop_at) + "\n",
    )
    # cron reads /etc/cron.d at start; a file changed within the second of its last scan can be missed.
    c.systemctl("start", "cron.service")
    mark = c.mark()
    c.wait_state(UNIT, ("active",), (start_at - _taipei_now()).total_seconds() + 30)
    started = c.wait_journal(mark, "Starting txf-producer.service", 5, "-u", UNIT)
    c.wait_state(UNIT, ("inactive",), (stop_at - _taipei_now()).total_seconds() + 40)
    stopping = c.wait_journal(mark, "Stopping txf-producer.service", 5, "-u", UNIT)
    logged = c.messages(mark, "-t", "txf-producer-cron")
    assert any("inside the day run window" in m for m in logged), logged
    assert 0 <= entry_time(started) - start_at.timestamp() < 3
    assert 0 <= entry_time(stopping) - stop_at.timestamp() < 3
    assert c.show(UNIT, "Result", "ExecMainStatus") == {"Result": "success", "ExecMainStatus": "0"}
    _figure(
        "cron lateness",
        f"start {entry_time(started) - start_at.timestamp():.2f} s, "
        f"stop {entry_time(stopping) - stop_at.timestamp():.2f} s",
    )
    c.systemctl("stop", "cron.service")
