"""Watchdog, start timeout and restart budget of txf-producer.service under a real systemd.

One container boot (containerkit.py). These failures take minutes with the shipped timings
(WatchdogSec=120s, RestartSec=25s, TimeoutStartSec=240s, StartLimitIntervalSec=600), so each
test shortens them in a drop-in, in proportion, and says so; the shipped values themselves are
checked against the RUNBOOK in test_systemd_service.py. Figures are printed as `FIGURE` lines,
with what they come to at the shipped values.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from containerkit import REPO, UNIT, ProducerContainer, booted, entry_time
from systemd_container import wait_until

pytestmark = pytest.mark.integration
HUNG_LOGIN = "/opt/txf-test/hung-login"


@pytest.fixture(scope="module")
def host() -> Iterator[ProducerContainer]:
    with booted("faults") as c:
        c.install("--schedule", "none")
        c.start_stack()
        yield c


@pytest.fixture
def fresh(host: ProducerContainer) -> ProducerContainer:
    host.reset_producer()
    return host


def _figure(name: str, value: str) -> None:
    print(f"FIGURE {name}: {value}")


def _first(entries: list[dict[str, Any]], text: str) -> dict[str, Any]:
    found = [e for e in entries if text in str(e.get("MESSAGE", ""))]
    assert found, f"no journal line with {text!r} in " + "\n".join(str(e.get("MESSAGE")) for e in entries)
    return found[0]


def test_frozen_producer_is_killed_by_the_watchdog_and_restarted(fresh: ProducerContainer) -> None:
    """SIGSTOP freezes every thread, as the Shioaji freeze did (#203): systemd's watchdog must end it.

    Drop-in: WatchdogSec=3s, RestartSec=1s (shipped 120 s, 25 s).
    """
    c = fresh
    c.use_sim("--rate", "200")
    c.test_drop_in("50-fast-watchdog", "[Service]\nWatchdogSec=3s\nRestartSec=1s\n")
    c.systemctl("start", UNIT)
    first = c.prop(UNIT, "MainPID")
    mark = c.mark()
    frozen_at = time.time()
    os.kill(c.main_pid(UNIT), signal.SIGSTOP)

    def restarted() -> dict[str, str] | None:
        shown = c.show(UNIT, "NRestarts", "ActiveState", "MainPID")
        return shown if shown["NRestarts"] == "1" and shown["ActiveState"] == "active" else None

    shown = wait_until(restarted, 30, "the watchdog restart")
    assert shown["MainPID"] != first
    entries = c.entries(mark, "-u", UNIT)
    started = [e for e in entries if str(e.get("MESSAGE", "")).startswith("Started txf-producer.service")]
    assert len(started) == 1, started  # READY=1 of the new process
    timeout = _first(entries, "Watchdog timeout")
    _first(entries, "Killing process")
    dumped = _first(entries, "Main process exited")
    assert "status=6/ABRT" in dumped["MESSAGE"], dumped["MESSAGE"]
    # PYTHONFAULTHANDLER=1: the stacks of every thread are in the journal, for the bug report.
    assert any("Fatal Python error: Aborted" in str(e.get("MESSAGE")) for e in entries)
    assert any("most recent call first" in str(e.get("MESSAGE")) for e in entries)
    assert "result=watchdog" in _first(entries, "txf-record-exit: txf-producer ended")["MESSAGE"]
    kill_to_ready = entry_time(started[0]) - entry_time(timeout)
    freeze_to_kill = entry_time(timeout) - frozen_at
    assert 2.5 <= freeze_to_kill <= 6, freeze_to_kill
    assert 1.0 <= kill_to_ready <= 10, kill_to_ready  # RestartSec=1s, then start-up to READY=1
    # The new run reports the watchdog kill, for the alert (deploy/monitoring).
    metrics = c.probe("http", "http://127.0.0.1:9464/metrics")["body"]
    assert 'txf_service_exits_total{result="watchdog"} 1.0' in metrics
    startup = kill_to_ready - 1.0
    _figure("watchdog: freeze -> SIGABRT", f"{freeze_to_kill:.2f} s (WatchdogSec=3s drop-in; shipped 120 s)")
    _figure(
        "watchdog: kill -> READY of the new process",
        f"{kill_to_ready:.2f} s (RestartSec=1s drop-in: "
        f"start-up {startup:.2f} s; shipped: 25 s + start-up, freeze -> streaming again ~{120 + 25 + startup:.0f} s)",
    )


def test_login_that_hangs_forever_is_ended_by_the_start_timeout(fresh: ProducerContainer) -> None:
    """The live source's real start path with a client whose login freezes the process (hung_login/).

    Drop-in: TimeoutStartSec=6s, TimeoutStopSec=3s, RestartSec=2s (shipped 240 s, 30 s, 25 s), and a
    WatchdogSec=3s that must NOT fire: the watchdog only runs once READY=1 was sent.
    """
    c = fresh
    for name, source in (
        ("sitecustomize.py", Path(__file__).with_name("hung_login") / "sitecustomize.py"),
        ("fake_shioaji.py", REPO / "tests/producer/fake_shioaji.py"),
    ):
        c.write(f"{HUNG_LOGIN}/{name}", source.read_text())
    c.settings(TXF_SHIOAJI_API_KEY="key-that-must-not-be-logged", TXF_SHIOAJI_SECRET_KEY="secret-not-logged")
    c.test_drop_in(
        "50-hung-login",
        f"[Service]\nEnvironment=PYTHONPATH={HUNG_LOGIN}\nTimeoutStartSec=6s\n"
        "TimeoutStopSec=3s\nRestartSec=2s\nWatchdogSec=3s\n",
    )
    mark = c.mark()
    t0 = time.monotonic()
    start = c.systemctl("start", UNIT, check=False)
    took = time.monotonic() - t0
    assert start.returncode != 0
    entries = c.entries(mark, "-u", UNIT)
    frozen = _first(entries, "hung-login: login() entered")
    timed_out = _first(entries, "start operation timed out")
    killed = _first(entries, "timed out. Killing")  # SIGINT stays pending in the frozen process
    ended = _first(entries, "Failed with result 'timeout'")
    assert not any("Watchdog timeout" in str(e.get("MESSAGE")) for e in entries)
    assert "status=9/KILL" in _first(entries, "Main process exited")["MESSAGE"]
    start_to_timeout = entry_time(timed_out) - entry_time(_first(entries, "Starting txf-producer.service"))
    assert 5.5 <= start_to_timeout <= 8, start_to_timeout
    assert 2.5 <= entry_time(killed) - entry_time(timed_out) <= 5
    assert entry_time(ended) >= entry_time(killed) and took < 20
    assert entry_time(frozen) < entry_time(timed_out)
    # It is restarted after RestartSec like any failure (the next login may work), not at once.
    wait_until(lambda: c.prop(UNIT, "NRestarts") == "1" or None, 20, "the restart after the timeout")
    starts = [e for e in c.entries(mark, "-u", UNIT) if str(e.get("MESSAGE", "")).startswith("Starting txf-producer")]
    restart_gap = entry_time(starts[1]) - entry_time(ended)
    assert restart_gap >= 1.9, restart_gap
    c.systemctl("stop", UNIT)
    journal = "\n".join(str(e.get("MESSAGE")) for e in c.entries(mark))
    assert "key-that-must-not-be-logged" not in journal and "secret-not-logged" not in journal
    _figure(
        "hung login: start -> start timeout -> SIGKILL",
        f"{start_to_timeout:.1f} s + "
        f"{entry_time(killed) - entry_time(timed_out):.1f} s (drop-in 6 s + 3 s; shipped 240 s + 30 s)",
    )


def test_repeated_fatal_exits_follow_restartsec_and_stop_at_the_start_limit(fresh: ProducerContainer) -> None:
    """Every start fails fast (a topic is missing): 5 starts RestartSec apart, then start-limit-hit, no more.

    Drop-in, scaled by 1/12.5 from the shipped 25 s / 600 s: RestartSec=2s, StartLimitIntervalSec=48s;
    StartLimitBurst stays 5. In production each of these starts is a broker login.
    """
    c = fresh
    c.use_sim("--rate", "200")
    c.settings(TXF_DEAD_LETTER_TOPIC="topic-that-does-not-exist")
    c.test_drop_in("50-budget", "[Unit]\nStartLimitIntervalSec=48s\nStartLimitBurst=5\n[Service]\nRestartSec=2s\n")
    mark = c.mark()
    c.systemctl("start", "--no-block", UNIT)
    # systemd 252 says so in the journal; the unit's Result stays that of the last failure (exit-code).
    c.wait_journal(mark, "Start request repeated too quickly", 60, "-u", UNIT)
    time.sleep(5)  # two more RestartSec periods: no further start may come (the point of the test)
    shown = c.show(UNIT, "ActiveState", "Result", "NRestarts")
    assert shown == {"ActiveState": "failed", "Result": "exit-code", "NRestarts": "5"}, shown
    entries = c.entries(mark, "-u", UNIT)
    starts = [e for e in entries if str(e.get("MESSAGE", "")).startswith("Starting txf-producer.service")]
    exits = [e for e in entries if "txf-producer: exit 1: topics" in str(e.get("MESSAGE", ""))]
    assert len(starts) == 5 and len(exits) == 5, (len(starts), len(exits))
    gaps = [entry_time(nxt) - entry_time(ended) for ended, nxt in zip(exits, starts[1:], strict=False)]
    assert all(gap >= 1.9 for gap in gaps), gaps
    span = entry_time(exits[-1]) - entry_time(starts[0])
    per_run = (span - sum(gaps)) / 5
    _figure(
        "restart budget: 5 failing starts -> start limit hit",
        f"{span:.1f} s, exit -> next start "
        f"{min(gaps):.2f}-{max(gaps):.2f} s (RestartSec=2s drop-in); shipped: ~{4 * 25 + 5 * per_run:.0f} s "
        "for 5 logins, then none",
    )
