"""txf-archive.service under a real systemd (one container boot; containerkit.py): installed by
`install.sh --archive` as on a server, with every line of the shipped unit in force (hardening, the
user, the state directory). It archives what the producer published, comes back by itself after a
SIGKILL without losing or doubling a row, and stops cleanly (exit 0) on `systemctl stop`.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from containerkit import DEV_PYTHON, PRODUCER, ProducerContainer, booted
from systemd_container import wait_until

pytestmark = pytest.mark.integration
UNIT = "txf-archive.service"
ROOT = "/var/lib/txf-archive"
QUOTES = 3000
COUNT = f"""
import json, sys
from txf_archive import Archive
a = Archive("{ROOT}")
offsets = lambda k: [o for d in a.days(k) for o in a.arrow(k, d).column("kafka_offset").to_pylist()]
rows = {{k: offsets(k) for k in ("tick", "bidask")}}
print(json.dumps({{k: [len(v), len(set(v))] for k, v in rows.items()}}))
"""


@pytest.fixture(scope="module")
def host() -> Iterator[ProducerContainer]:
    with booted("archive") as c:
        c.installed = c.install("--schedule", "none", "--archive")  # type: ignore[attr-defined]
        c.start_stack()
        yield c


def _counts(c: ProducerContainer) -> dict[str, list[int]]:
    out = c.run(str(DEV_PYTHON), "-c", COUNT, timeout=60, check=False)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def _archived(c: ProducerContainer) -> int:
    counts = _counts(c)
    assert all(n == unique for n, unique in counts.values()), counts  # never a duplicate offset
    return sum(n for n, _ in counts.values())


def _publish(c: ProducerContainer, *args: str, prefix: str = "") -> None:
    """One batch of QUOTES simulated quotes from the producer CLI inside the container (not its unit).

    `args` add simulator options (a seed, a start); `prefix` publishes to topics of a test's own."""
    env = {"TXF_STATE_DIR": "/tmp/producer", "TXF_METRICS_PORT": "0"}
    if prefix:
        env["TXF_TOPIC_PREFIX"] = prefix
    c.run(PRODUCER, "run", "--source", "sim", *args, "--max-messages", str(QUOTES), timeout=120, env=env)


def test_archive_unit_archives_comes_back_after_sigkill_and_stops_cleanly(host: ProducerContainer) -> None:
    c = host
    assert "done: pip install txf-consumer + txf-archive" in c.installed.stdout  # type: ignore[attr-defined]
    _publish(c)
    # the archive's own settings file (optional, EnvironmentFile=-): segments every second, not every 30
    c.write("/etc/txfstream/archive.env", "TXF_ARCHIVE_ROLL_S=1\n", mode=0o640)
    c.systemctl("start", UNIT)
    wait_until(lambda: _archived(c) == QUOTES, 60, f"{QUOTES} quotes archived")
    pid = c.main_pid(UNIT)
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    assert status["NoNewPrivs"].strip() == "1" and int(status["CapEff"], 16) == 0
    metrics = c.probe("http", "http://127.0.0.1:9466/metrics")  # the unit's TXF_ARCHIVE_METRICS_PORT
    assert metrics["status"] == 200, metrics
    for series in (
        'txf_archive_rows_written_total{type="bidask"}',
        "txf_archive_files_written_total",
        "txf_archive_bytes_written_total",
        'txf_archive_lag_records{partition="0",topic="txf-bidask"} 0.0',
    ):
        assert series in metrics["body"], series
    owner = c.run("stat", "-c", "%U %a", *c.sh(f"find {ROOT} -name '*.parquet'").stdout.split()).stdout.split("\n")
    assert {line for line in owner if line} == {"txf 640"}  # UMask=0027, as txf

    os.kill(pid, signal.SIGKILL)  # Restart=always brings it back
    wait_until(
        lambda: c.show(UNIT, "NRestarts", "ActiveState") == {"NRestarts": "1", "ActiveState": "active"},
        30,
        "the archiver restarted after SIGKILL",
    )
    _publish(c, "--seed", "2")
    wait_until(lambda: _archived(c) == 2 * QUOTES, 60, "the second batch archived after the restart")

    c.systemctl("stop", UNIT)
    shown = c.show(UNIT, "Result", "ExecMainStatus", "ActiveState")
    assert (shown["Result"], shown["ExecMainStatus"], shown["ActiveState"]) == ("success", "0", "inactive"), shown
    assert _archived(c) == 2 * QUOTES


def test_start_returns_at_ready_and_a_frozen_archiver_is_killed_by_the_watchdog(host: ProducerContainer) -> None:
    """Type=notify: `systemctl start` returns once the archiver is subscribed (its STATUS says so); a
    SIGSTOPped archiver (a hung write, a stuck broker call) stops sending WATCHDOG=1 and systemd kills it
    with SIGABRT and restarts it (drop-in WatchdogSec=3s, shipped 60 s); what follows is archived once."""
    c = host
    c.systemctl("stop", UNIT)
    c.drop_in(UNIT, "50-watchdog", "[Service]\nWatchdogSec=3s\nRestartSec=1s\n")
    try:
        c.systemctl("reset-failed", UNIT, check=False)
        c.systemctl("start", UNIT)  # returns at READY=1
        shown = c.show(UNIT, "ActiveState", "StatusText", "NRestarts")
        assert shown["ActiveState"] == "active" and shown["StatusText"].startswith("archiving"), shown
        before = _archived(c)
        mark = c.mark()
        frozen = c.main_pid(UNIT)
        os.kill(frozen, signal.SIGSTOP)
        entry = c.wait_journal(mark, "Watchdog timeout", 30, "-u", UNIT)
        assert "Watchdog timeout" in str(entry.get("MESSAGE")), entry
        wait_until(
            lambda: (c.live_main_pid(UNIT) not in (0, frozen) and c.prop(UNIT, "ActiveState") == "active") or None,
            30,
            "the archiver restarted after the watchdog kill",
        )
        restarts = int(c.prop(UNIT, "NRestarts"))
        assert restarts >= int(shown["NRestarts"]) + 1, (restarts, shown, c.journal("-u", UNIT, "-n", "30"))
        _publish(c, "--seed", "3")
        wait_until(lambda: _archived(c) == before + QUOTES, 60, "the batch after the watchdog kill archived once")
    finally:
        c.systemctl("stop", UNIT, check=False)
        c.remove_drop_in(UNIT, "50-watchdog")
        c.systemctl("reset-failed", UNIT, check=False)


def test_the_bar_builder_unit_publishes_bars_and_stops_cleanly(host: ProducerContainer) -> None:
    """txf-archive-bars.service as shipped: READY once subscribed, 1-minute bars of a past session morning
    published to txf-bars-1m in transactions, its metrics on 9467, exit 0 on `systemctl stop`."""
    c = host
    bars_unit, prefix = "txf-archive-bars.service", "bars."  # topics of its own: only this morning's ticks
    c.register_topics(prefix)
    # every minute of that morning is over: the builder closes each bar at once
    _publish(c, "--sim-start", "2026-11-26T09:00:00", prefix=prefix)
    c.write("/etc/txfstream/archive.env", f"TXF_BARS_GRACE_S=0\nTXF_TOPIC_PREFIX={prefix}\n", mode=0o640)
    try:
        c.systemctl("start", bars_unit)  # returns at READY=1
        assert c.prop(bars_unit, "StatusText").startswith("building 1-minute bars")
        bars = f"{prefix}txf-bars-1m"
        wait_until(lambda: c.probe("offsets", bars)[bars] > 1 or None, 60, "bars and their commit marker")

        def published() -> float | None:
            body = c.probe("http", "http://127.0.0.1:9467/metrics")["body"]
            values = [
                float(line.split()[-1]) for line in body.splitlines() if line.startswith("txf_bars_published_total")
            ]
            return sum(values) or None

        assert wait_until(published, 30, "the bar builder's metrics") >= 1
        c.systemctl("stop", bars_unit)
        shown = c.show(bars_unit, "Result", "ExecMainStatus", "ActiveState")
        assert (shown["Result"], shown["ExecMainStatus"], shown["ActiveState"]) == ("success", "0", "inactive")
    finally:
        c.systemctl("stop", bars_unit, check=False)
        c.run("rm", "-f", "/etc/txfstream/archive.env")


def test_a_second_archiver_on_the_directory_stands_by_alive_under_systemd(host: ProducerContainer) -> None:
    """A second archiver service on the same directory (e.g. another host on shared storage): READY as a
    standby, fed to its watchdog while it waits for the lock (WatchdogSec=3s here, never fires), and it
    takes over once the first one stops; what follows is archived once."""
    c = host
    standby = "txf-archive-standby.service"
    c.systemctl("start", UNIT)  # the active one holds /var/lib/txf-archive/.lock
    before = _archived(c)
    started = time.monotonic()
    c.run(
        "systemd-run",
        f"--unit={standby}",
        "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", "WatchdogSec=3s", "-p", "User=txf",
        "-p", "EnvironmentFile=/etc/txfstream/producer.env",
        "-E", f"TXF_ARCHIVE_ROOT={ROOT}", "-E", "TXF_ARCHIVE_ROLL_S=1", "-E", "TXF_ARCHIVE_METRICS_PORT=0",
        "/opt/txfstream/venv/bin/txf-archive", "run",
    )  # fmt: skip
    try:
        assert c.prop(standby, "StatusText").startswith("standby"), c.show(standby, "StatusText", "ActiveState")
        pid = c.main_pid(standby)
        _publish(c, "--seed", "4")  # a batch for the active one, taking longer than the standby's watchdog
        wait_until(lambda: _archived(c) == before + QUOTES, 60, "the active archiver to write the batch")
        waited = time.monotonic() - started
        assert waited > 3 and c.main_pid(standby) == pid and c.prop(standby, "NRestarts") == "0", waited
        c.systemctl("stop", UNIT)  # the active one goes: the standby takes the lock
        wait_until(lambda: c.prop(standby, "StatusText").startswith("archiving") or None, 30, "the standby's takeover")
        _publish(c, "--seed", "5")
        wait_until(lambda: _archived(c) == before + 2 * QUOTES, 60, "the former standby to write the next batch")
        c.systemctl("stop", standby)
    finally:
        c.systemctl("stop", standby, check=False)
        c.systemctl("stop", UNIT, check=False)
