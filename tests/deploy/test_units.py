"""The systemd units: `systemd-analyze verify` is clean, and the directives that carry the
operations lessons are there with the right values (tests/deploy/deploykit.py parses them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from deploykit import (
    ALL_UNITS,
    ARBITER_UNIT,
    ARCHIVE_UNITS,
    LEG_UNIT,
    MAIN_UNIT,
    SYSTEMD,
    env_example,
    install,
    one,
    parse_unit,
    timespan_s,
    values,
)

from txf_producer.settings import Settings

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


@pytest.fixture(scope="module")
def unit() -> dict:
    return parse_unit(SYSTEMD / MAIN_UNIT)


def _default(field: str) -> float:
    return float(Settings.model_fields[field].default)


def _setting(name: str, field: str) -> float:
    """The value .env.example ships (the installer copies it), else the code's default."""
    return float(env_example().get(name, _default(field)))


def _verify(unit_dir: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ANALYZE, "verify", *(f"./{n}" for n in names)], cwd=unit_dir, capture_output=True, text=True, timeout=60
    )


@needs_analyze
def test_installed_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """Units as install.sh lays them out, with /opt/txfstream pointing into the temp root; the real
    helper scripts are there, the console scripts are stand-ins (no venv in tests)."""
    root = tmp_path / "root"
    run = install(root, "--archive", workdir=tmp_path)
    assert run.code == 0, run.text
    for program in ("txf-producer", "txf-arbiter", "txf-archive"):
        fake = root / "opt/txfstream/venv/bin" / program
        fake.parent.mkdir(parents=True, exist_ok=True)
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    for name in (*ALL_UNITS, *ARCHIVE_UNITS):
        text = (root / "etc/systemd/system" / name).read_text()
        assert text == (SYSTEMD / name).read_text(), f"{name} is not installed as is"
        (units / name).write_text(text.replace("/opt/txfstream/", f"{root}/opt/txfstream/"))
    proc = _verify(units, *ALL_UNITS, *ARCHIVE_UNITS)
    # verify exits 0 even for unknown keys or unparsable values: it must say nothing at all.
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr


@needs_analyze
def test_verify_output_check_is_meaningful(tmp_path: Path) -> None:
    """The empty-output assertion above catches what the exit status does not."""
    (tmp_path / "bad.service").write_text(
        "[Service]\nType=notify\nExecStart=/bin/true\nRestrat=always\nKillSignal=SIGNOPE\n"
    )
    proc = _verify(tmp_path, "bad.service")
    assert "Restrat" in proc.stderr and "SIGNOPE" in proc.stderr


def test_notify_and_watchdog(unit: dict) -> None:
    assert one(unit, "Service", "Type") == "notify"
    assert one(unit, "Service", "NotifyAccess") == "main"
    watchdog = timespan_s(one(unit, "Service", "WatchdogSec"))
    no_data = _setting("TXF_NO_DATA_TIMEOUT_S", "no_data_timeout_s")
    # Longer than the producer's own no-data step, so its re-subscribe gets its chance first.
    assert watchdog > no_data, (watchdog, no_data)
    assert watchdog > _default("no_data_timeout_s")


def test_restart_policy(unit: dict) -> None:
    assert one(unit, "Service", "Restart") == "always"  # a stray SIGTERM exits 0
    assert one(unit, "Service", "RestartPreventExitStatus").split() == ["77", "78"]
    restart_sec = timespan_s(one(unit, "Service", "RestartSec"))
    assert restart_sec == 25
    interval = timespan_s(one(unit, "Unit", "StartLimitIntervalSec"))
    burst = int(one(unit, "Unit", "StartLimitBurst"))
    assert (interval, burst) == (600, 5)
    # A crash loop (fast failures) reaches the limit inside the window: the login is protected.
    assert burst * restart_sec < interval
    # ... while waiting for Kafka (ExecStartPre timeout + RestartSec per round) never does, and
    # never logs in: the unit keeps waiting until Kafka is back.
    pre = one(unit, "Service", "ExecStartPre").split()
    wait_s = float(pre[pre.index("--timeout") + 1])
    assert burst * (wait_s + restart_sec) > interval
    # Start-up: the Kafka wait plus the producer's start-up deadline fit in TimeoutStartSec.
    assert timespan_s(one(unit, "Service", "TimeoutStartSec")) > wait_s + _setting(
        "TXF_STARTUP_DEADLINE_S", "startup_deadline_s"
    )


def test_stop_gives_the_flush_and_logout_time(unit: dict) -> None:
    assert one(unit, "Service", "KillSignal") == "SIGINT"
    stop = timespan_s(one(unit, "Service", "TimeoutStopSec"))
    assert stop == 30
    flush = max(_setting("TXF_FLUSH_TIMEOUT_S", "flush_timeout_s"), _default("flush_timeout_s"))
    assert stop > flush + 10, "TimeoutStopSec must exceed the flush bound with room for the logout"


def test_runs_the_live_producer_with_its_settings(unit: dict) -> None:
    assert one(unit, "Service", "ExecStart") == "/opt/txfstream/venv/bin/txf-producer run --source shioaji"
    assert one(unit, "Service", "ExecStartPre").startswith("/opt/txfstream/bin/wait-for-kafka ")
    assert one(unit, "Service", "EnvironmentFile") == "/etc/txfstream/producer.env"
    assert one(unit, "Service", "WorkingDirectory") == "/var/lib/txfstream"
    assert one(unit, "Service", "StateDirectory") == "txfstream"
    assert one(unit, "Service", "User") == "txf"
    assert one(unit, "Service", "DynamicUser") == "no"
    env = " ".join(values(unit, "Service", "Environment")).split()
    assert "PYTHONUNBUFFERED=1" in env and "LC_ALL=C.UTF-8" in env
    assert one(unit, "Service", "StandardOutput") == "journal"
    assert "Install" not in unit, "the producer is started by the schedule, not enabled at boot"


def test_hardening(unit: dict) -> None:
    expected = {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/txfstream",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "",
    }
    for key, value in expected.items():
        assert one(unit, "Service", key) == value, key
    families = set(one(unit, "Service", "RestrictAddressFamilies").split())
    assert families == {"AF_INET", "AF_INET6", "AF_UNIX"}  # AF_UNIX: sd_notify and the journal


@pytest.mark.parametrize("name", (*ALL_UNITS, *ARCHIVE_UNITS))
def test_every_directive_says_why(name: str) -> None:
    """Each directive line is directly preceded by a comment line."""
    lines = (SYSTEMD / name).read_text().splitlines()
    missing = [
        line
        for prev, line in zip([""] + lines, lines, strict=False)
        if line.strip() and line[0] not in "#;[" and not prev.startswith("#")
    ]
    assert not missing, f"{name}: directives without a comment: {missing}"


def _hardening_block(name: str) -> list[str]:
    """The unit's hardening paragraph: the lines after its '# --- hardening' line up to the next blank line."""
    lines = (SYSTEMD / name).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# --- hardening"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return lines[start + 1 : end]


def test_the_arbiter_is_hardened_exactly_like_the_producer() -> None:
    """One hardening block, kept equal by this test (systemd has no include)."""
    assert _hardening_block(ARBITER_UNIT) == _hardening_block(MAIN_UNIT)
    assert len(_hardening_block(MAIN_UNIT)) > 40


def test_the_arbiter_unit() -> None:
    """Runs all the time (enabled at boot), notifies, restarts on every exit but bad settings, and reads the
    producer's settings file first and its own second (a later EnvironmentFile wins)."""
    arbiter = parse_unit(SYSTEMD / ARBITER_UNIT)
    assert one(arbiter, "Service", "Type") == "notify"
    assert one(arbiter, "Service", "ExecStart") == "/opt/txfstream/venv/bin/txf-arbiter run"
    assert one(arbiter, "Service", "Restart") == "always"
    assert one(arbiter, "Service", "RestartPreventExitStatus").split() == ["77", "78"]
    assert values(arbiter, "Service", "EnvironmentFile") == [
        "/etc/txfstream/producer.env",
        "-/etc/txfstream/arbiter.env",
    ]
    assert one(arbiter, "Install", "WantedBy") == "multi-user.target"
    # the watchdog outlasts the longest blocking call (a flush bounded by TXF_FLUSH_TIMEOUT_S)
    assert timespan_s(one(arbiter, "Service", "WatchdogSec")) > 2 * _setting("TXF_FLUSH_TIMEOUT_S", "flush_timeout_s")
    assert timespan_s(one(arbiter, "Service", "TimeoutStopSec")) > _setting("TXF_FLUSH_TIMEOUT_S", "flush_timeout_s")


#: what a capture-leg instance has of its own; every other directive is the producer unit's
LEG_OWN = {"Description", "EnvironmentFile", "Environment", "WorkingDirectory", "StateDirectory", "ExecStart",
           "ExecStopPost", "SyslogIdentifier"}  # fmt: skip


def test_the_leg_template_is_the_producer_unit_but_for_the_instance() -> None:
    """txf-producer@.service has every directive of txf-producer.service (systemd has no include: this test
    keeps them equal) except the instance's own: its leg and state directory on the command line (a settings
    file would override Environment=), a second settings file, its journal tag."""
    producer, leg = parse_unit(SYSTEMD / MAIN_UNIT), parse_unit(SYSTEMD / LEG_UNIT)
    assert producer.keys() == leg.keys()
    for section in producer:
        shared = [(k, v) for k, v in producer[section] if k not in LEG_OWN]
        assert [(k, v) for k, v in leg[section] if k not in LEG_OWN] == shared, section
    state = "/var/lib/txfstream/leg-%i"
    assert one(leg, "Service", "ExecStart") == (
        f"/usr/bin/env TXF_CAPTURE_LEG=%i TXF_STATE_DIR={state} " + one(producer, "Service", "ExecStart")
    )
    assert one(leg, "Service", "ExecStopPost") == one(producer, "Service", "ExecStopPost").replace(
        "-/", f"-/usr/bin/env TXF_STATE_DIR={state} /", 1
    )
    assert values(leg, "Service", "EnvironmentFile") == [
        *values(producer, "Service", "EnvironmentFile"),
        "-/etc/txfstream/leg-%i.env",
    ]
    assert one(leg, "Service", "WorkingDirectory") == state
    assert one(leg, "Service", "StateDirectory") == "txfstream/leg-%i"
    assert one(leg, "Service", "SyslogIdentifier") == "txf-producer@%i"
    assert f"HOME={state}" in values(leg, "Service", "Environment")[-1].split()
    assert _hardening_block(LEG_UNIT) == _hardening_block(MAIN_UNIT)


@pytest.mark.parametrize("name", ("txf-archive.service", "txf-archive-bars.service"))
def test_the_archive_services_notify_are_watched_and_do_not_restart_a_refusal(name: str) -> None:
    """READY=1 once subscribed, WATCHDOG=1 from the loop (tests/deploy/test_systemd_archive.py proves both
    under systemd); a start timeout that covers wait-for-kafka's 150 s; no restart after 77 or 78."""
    unit = parse_unit(SYSTEMD / name)
    assert one(unit, "Service", "Type") == "notify" and one(unit, "Service", "NotifyAccess") == "main"
    assert one(unit, "Service", "WatchdogSignal") == "SIGABRT"
    assert timespan_s(one(unit, "Service", "WatchdogSec")) > 2 * _setting("TXF_FLUSH_TIMEOUT_S", "flush_timeout_s")
    start_pre = one(unit, "Service", "ExecStartPre")
    waits = float(start_pre.rsplit("--timeout", 1)[1])
    assert timespan_s(one(unit, "Service", "TimeoutStartSec")) > waits + _setting(
        "TXF_STARTUP_DEADLINE_S", "startup_deadline_s"
    )
    assert one(unit, "Service", "RestartPreventExitStatus").split() == ["77", "78"]
