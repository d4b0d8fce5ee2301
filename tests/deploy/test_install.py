"""deploy/install.sh and deploy/uninstall.sh against a temporary --root (with --skip-venv).

Stub systemctl/useradd/userdel/chown/getent come first on PATH: under --root none may be called.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from deploykit import (
    ALL_UNITS,
    ARCHIVE_UNITS,
    BIN,
    DEPLOY,
    SCHEDULE_UNITS,
    SYSTEMD,
    env_example,
    install,
    mode,
    run_script,
    snapshot,
    uninstall,
)

UNIT_DIR = "etc/systemd/system"
SCRIPTS = ("wait-for-kafka", "txf-run-window", "check-feed-alive", "txf-record-exit")
TIMERS = ("txf-producer-start.timer", "txf-producer-stop.timer")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


def _ok(run) -> None:  # type: ignore[no-untyped-def]
    assert run.code == 0, run.text
    assert run.calls == [], f"system commands called under --root: {run.calls}"


def _env_file(root: Path) -> Path:
    return root / "etc/txfstream/producer.env"


def test_install_lays_out_every_file_with_its_mode(root: Path, tmp_path: Path) -> None:
    run = install(root, workdir=tmp_path)
    _ok(run)
    for name in ALL_UNITS:
        path = root / UNIT_DIR / name
        assert path.read_bytes() == (SYSTEMD / name).read_bytes() and mode(path) == 0o644, name
    for timer in TIMERS:
        link = root / UNIT_DIR / "timers.target.wants" / timer
        assert link.is_symlink() and str(link.readlink()) == f"/etc/systemd/system/{timer}"
    for script in SCRIPTS:
        path = root / "opt/txfstream/bin" / script
        assert mode(path) == 0o755, script
        source = (BIN / script).read_text().splitlines()
        installed = path.read_text().splitlines()
        assert installed[1:] == source[1:]
        if "python" in source[0]:  # Python helpers run on the producer's venv
            assert installed[0] == "#!/opt/txfstream/venv/bin/python"
        else:
            assert installed[0] == source[0]
    assert (root / "opt/txfstream/RUNBOOK.md").read_bytes() == (DEPLOY / "RUNBOOK.md").read_bytes()
    shipped = sorted(p.name for p in (DEPLOY / "monitoring").iterdir())
    installed_monitoring = sorted(p.name for p in (root / "opt/txfstream/monitoring").iterdir())
    assert installed_monitoring == shipped, "every file of deploy/monitoring/ is installed"
    for name in shipped:
        path = root / "opt/txfstream/monitoring" / name
        assert path.read_bytes() == (DEPLOY / "monitoring" / name).read_bytes() and mode(path) == 0o644
    assert mode(_env_file(root)) == 0o640
    assert mode(root / "etc/txfstream/holidays") == 0o644
    assert mode(root / "var/lib/txfstream") == 0o750
    assert not (root / "etc/cron.d/txf-producer").exists()
    assert not (root / "opt/txfstream/venv").exists()  # --skip-venv
    for skipped in ("create system user txf", "chown root:txf /etc/txfstream/producer.env", "daemon-reload"):
        assert skipped in run.out
    assert "install summary" in run.out


def test_env_file_is_systemd_clean_and_complete(root: Path, tmp_path: Path) -> None:
    _ok(install(root, workdir=tmp_path))
    text = _env_file(root).read_text()
    settings = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
            assert "#" not in value and value == value.strip(), f"systemd would keep this as the value: {line!r}"
            settings[key] = value
    example = env_example()
    assert set(settings) == set(example) | {"TXF_HOLIDAYS_FILE"}  # the example has it commented out
    assert settings.pop("TXF_STATE_DIR") == "/var/lib/txfstream"
    assert settings.pop("TXF_HOLIDAYS_FILE") == "/etc/txfstream/holidays"  # the schedule's file, for the producer
    assert all(settings[k] == example[k] for k in settings), "values differ from .env.example"
    assert "Copy to .env" not in text  # the example's header is about .env files, not this one
    # commented-out examples stay comments, with their trailing comment on its own line
    assert re.search(r"^# TXF_KAFKA_EXTRA=\{.*\}$", text, flags=re.M)


def test_second_install_changes_nothing(root: Path, tmp_path: Path) -> None:
    _ok(install(root, workdir=tmp_path))
    before = snapshot(root)
    again = install(root, workdir=tmp_path)
    _ok(again)
    assert snapshot(root) == before
    assert "done:" not in again.out
    assert "unchanged: /etc/systemd/system/txf-producer.service" in again.out
    assert "kept: existing /etc/txfstream/producer.env" in again.out


def test_existing_env_file_is_never_touched(root: Path, tmp_path: Path) -> None:
    env = _env_file(root)
    env.parent.mkdir(parents=True)
    env.write_text("TXF_SHIOAJI_API_KEY=real-key\nTXF_SHIOAJI_SECRET_KEY=real-secret\n")
    env.chmod(0o600)
    before = snapshot(env.parent)
    run = install(root, workdir=tmp_path)
    _ok(run)
    assert snapshot(env.parent)["producer.env"] == before["producer.env"]
    assert "kept: existing /etc/txfstream/producer.env" in run.out
    assert "TXF_KAFKA_BOOTSTRAP" in run.out  # settings new to the kept file are listed
    assert "are empty" not in run.text  # keys are set: no warning
    assert "are empty" in install(tmp_path / "fresh", workdir=tmp_path).text


def test_changed_files_are_updated(root: Path, tmp_path: Path) -> None:
    _ok(install(root, workdir=tmp_path))
    unit = root / UNIT_DIR / "txf-producer.service"
    unit.write_text("stale\n")
    script = root / "opt/txfstream/bin/wait-for-kafka"
    script.chmod(0o700)
    run = install(root, workdir=tmp_path)
    _ok(run)
    assert unit.read_bytes() == (SYSTEMD / "txf-producer.service").read_bytes()
    assert mode(script) == 0o755
    assert "update /etc/systemd/system/txf-producer.service" in run.out


def test_schedule_switches_between_timers_cron_and_none(root: Path, tmp_path: Path) -> None:
    _ok(install(root, "--schedule", "cron", workdir=tmp_path))
    cron = root / "etc/cron.d/txf-producer"
    assert cron.read_bytes() == (DEPLOY / "cron/txf-producer.crontab").read_bytes() and mode(cron) == 0o644
    assert not any((root / UNIT_DIR / u).exists() for u in SCHEDULE_UNITS)
    assert not (root / UNIT_DIR / "timers.target.wants").exists()
    assert (root / UNIT_DIR / "txf-producer.service").exists()

    _ok(install(root, "--schedule", "timers", workdir=tmp_path))
    assert not cron.exists()
    assert all((root / UNIT_DIR / u).exists() for u in SCHEDULE_UNITS)
    assert all((root / UNIT_DIR / "timers.target.wants" / t).is_symlink() for t in TIMERS)

    _ok(install(root, "--schedule=none", workdir=tmp_path))
    assert not cron.exists()
    assert not any((root / UNIT_DIR / u).exists() for u in SCHEDULE_UNITS)
    assert (root / UNIT_DIR / "txf-producer.service").exists()


def test_uninstall_removes_what_install_installed_and_keeps_config_and_state(root: Path, tmp_path: Path) -> None:
    _ok(install(root, workdir=tmp_path))
    (root / "var/lib/txfstream/spool.msgpack").write_bytes(b"\x95")
    taken = "spool.msgpack.respooling-20261208T010203Z-0a1b2c3d"  # a respool that failed keeps what it took
    (root / "var/lib/txfstream" / taken).write_bytes(b"\x95")
    (root / "var/lib/txfstream/spool.msgpack.done").write_bytes(b"\x95")
    run = uninstall(root, workdir=tmp_path)
    _ok(run)
    assert not (root / "opt/txfstream").exists()
    assert not any((root / UNIT_DIR / u).exists() for u in ALL_UNITS)
    assert not (root / UNIT_DIR / "timers.target.wants").exists()
    assert not (root / "etc/cron.d/txf-producer").exists()
    assert _env_file(root).exists() and (root / "etc/txfstream/holidays").exists()
    assert (root / "var/lib/txfstream/spool.msgpack").exists()
    assert "kept: /etc/txfstream" in run.out

    before = snapshot(root)
    again = uninstall(root, workdir=tmp_path)  # idempotent
    _ok(again)
    assert snapshot(root) == before and "absent: /opt/txfstream" in again.out

    purge = uninstall(root, "--purge", workdir=tmp_path)
    _ok(purge)
    assert not (root / "etc/txfstream").exists() and not (root / "var/lib/txfstream").exists()
    assert "/var/lib/txfstream/spool.msgpack holds records" in purge.text
    assert f"/var/lib/txfstream/{taken} holds records" in purge.text
    assert "spool.msgpack.done holds" not in purge.text  # republished already


def test_uninstall_removes_a_cron_schedule(root: Path, tmp_path: Path) -> None:
    _ok(install(root, "--schedule", "cron", workdir=tmp_path))
    _ok(uninstall(root, workdir=tmp_path))
    assert not (root / "etc/cron.d/txf-producer").exists()


def test_reinstall_after_uninstall_keeps_the_env_file(root: Path, tmp_path: Path) -> None:
    _ok(install(root, workdir=tmp_path))
    _env_file(root).write_text("TXF_SHIOAJI_API_KEY=k\n")
    _ok(uninstall(root, workdir=tmp_path))
    _ok(install(root, workdir=tmp_path))
    assert _env_file(root).read_text() == "TXF_SHIOAJI_API_KEY=k\n"


@pytest.mark.parametrize("populated", [False, True])
def test_dry_run_changes_nothing(root: Path, tmp_path: Path, populated: bool) -> None:
    if populated:
        _ok(install(root, workdir=tmp_path))
    before = snapshot(root)
    # without --skip-venv: the venv and pip steps are printed, not run
    for script, args in (
        ("install.sh", ("--dry-run",)),
        ("install.sh", ("--dry-run", "--schedule", "cron")),
        ("uninstall.sh", ("--dry-run",)),
        ("uninstall.sh", ("--dry-run", "--purge")),
    ):
        run = run_script(script, root, *args, workdir=tmp_path)
        _ok(run)
        assert snapshot(root) == before, (script, args)
        assert "dry run, nothing changed" in run.out
        if script == "install.sh" and not populated:
            assert "would create venv /opt/txfstream/venv" in run.out
            assert "would pip install" in run.out and "gen/python" in run.out
            assert "would create /etc/txfstream/producer.env" in run.out
            assert re.search(r"would install /etc/systemd/system/txf-producer\.service", run.out)


def test_bad_arguments_are_refused(root: Path, tmp_path: Path) -> None:
    for args in (("--schedule", "hourly"), ("--bogus",), ("--venv-from", str(tmp_path / "missing"))):
        run = install(root, *args, workdir=tmp_path)
        assert run.code != 0 and run.calls == [], args
    assert snapshot(root) == {}
    assert uninstall(root, "--bogus", workdir=tmp_path).code != 0


def test_scripts_are_strict_bash() -> None:
    for script in ("install.sh", "uninstall.sh", "bin/wait-for-kafka"):
        text = (DEPLOY / script).read_text()
        assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text, script
        assert mode(DEPLOY / script) & 0o111, f"{script} is not executable"


def test_arbiter_is_enabled_only_with_the_flag_and_removed_by_uninstall(root: Path, tmp_path: Path) -> None:
    link = root / UNIT_DIR / "multi-user.target.wants" / "txf-arbiter.service"
    _ok(install(root, workdir=tmp_path))
    assert (root / UNIT_DIR / "txf-arbiter.service").exists() and not link.exists()
    run = install(root, "--arbiter", workdir=tmp_path)
    _ok(run)
    assert link.is_symlink() and str(link.readlink()) == "/etc/systemd/system/txf-arbiter.service"
    assert "TXF_CAPTURE_LEG is empty" in run.err, "an arbiter beside a producer that writes the canonical topics"
    env = _env_file(root)
    env.write_text(env.read_text().replace("TXF_CAPTURE_LEG=\n", "TXF_CAPTURE_LEG=a\n"))
    again = install(root, "--arbiter", workdir=tmp_path)
    _ok(again)
    assert "TXF_CAPTURE_LEG" not in again.err and "unchanged: /etc/systemd/system/multi-user.target.wants" in again.out
    _ok(install(root, workdir=tmp_path))  # without the flag: disabled again
    assert not link.exists()
    _ok(install(root, "--arbiter", workdir=tmp_path))
    _ok(uninstall(root, workdir=tmp_path))
    assert not link.exists() and not (root / UNIT_DIR / "txf-arbiter.service").exists()


def test_archive_units_only_with_archive_and_uninstall_keeps_the_archive(root: Path, tmp_path: Path) -> None:
    _ok(install(root, workdir=tmp_path))
    assert not any((root / UNIT_DIR / u).exists() for u in ARCHIVE_UNITS)
    run = install(root, "--archive", workdir=tmp_path)
    _ok(run)
    for name in ARCHIVE_UNITS:
        path = root / UNIT_DIR / name
        assert path.read_bytes() == (SYSTEMD / name).read_bytes() and mode(path) == 0o644, name
    assert not (root / UNIT_DIR / "timers.target.wants" / "txf-archive-compact.timer").exists()  # not enabled
    (root / "var/lib/txf-archive/tick").mkdir(parents=True)
    gone = uninstall(root, "--purge", workdir=tmp_path)
    _ok(gone)
    assert not any((root / UNIT_DIR / u).exists() for u in ARCHIVE_UNITS)
    assert (root / "var/lib/txf-archive/tick").is_dir() and "kept: /var/lib/txf-archive" in gone.out


def test_legs_get_their_settings_and_the_schedule_runs_them_instead_of_the_producer(root: Path, tmp_path: Path) -> None:
    """--legs a,b: a settings file per leg with its own metrics port (never overwritten), and the timers'
    start/stop services (or the crontab) act on txf-producer@a and @b; without --legs, on the producer."""
    run = install(root, "--legs", "a,b", workdir=tmp_path)
    _ok(run)
    assert "without --arbiter" in run.out
    ports = {}
    for leg in ("a", "b"):
        env = root / f"etc/txfstream/leg-{leg}.env"
        assert mode(env) == 0o640
        ports[leg] = dict(
            line.split("=", 1) for line in env.read_text().splitlines() if line and not line.startswith("#")
        )["TXF_METRICS_PORT"]
    assert ports == {"a": "9468", "b": "9469"}  # beside the producer's 9464 and the services' 9465-9467
    for verb in ("start", "stop"):
        drop_in = (root / UNIT_DIR / f"txf-producer-{verb}.service.d/50-legs.conf").read_text()
        assert f"ExecStart=\nExecStart=/usr/bin/systemctl {verb} txf-producer@a.service txf-producer@b.service\n" in (
            "\n".join(line for line in drop_in.splitlines() if not line.startswith("#")) + "\n"
        )
    (root / "etc/txfstream/leg-a.env").write_text("TXF_METRICS_PORT=9500\n")
    again = install(root, "--legs", "a,b", workdir=tmp_path)
    _ok(again)
    assert (root / "etc/txfstream/leg-a.env").read_text() == "TXF_METRICS_PORT=9500\n"  # the operator's

    _ok(install(root, "--schedule", "cron", "--legs", "b", workdir=tmp_path))
    cron = (root / "etc/cron.d/txf-producer").read_text()
    assert "txf-producer.service" not in cron and cron.count("systemctl start txf-producer@b.service") == 3
    assert cron.count("systemctl stop txf-producer@b.service") == 2
    assert not (root / UNIT_DIR / "txf-producer-start.service.d").exists()

    _ok(install(root, workdir=tmp_path))  # no legs: the schedule runs the producer again
    assert not (root / UNIT_DIR / "txf-producer-start.service.d").exists()
    assert (root / UNIT_DIR / "txf-producer-start.service").read_text() == (
        SYSTEMD / "txf-producer-start.service"
    ).read_text()
    _ok(uninstall(root, workdir=tmp_path))
    assert not (root / UNIT_DIR / "txf-producer@.service").exists()
    assert (root / "etc/txfstream/leg-b.env").exists()  # configuration is kept (--purge removes it)


def test_legs_must_be_legs_of_the_topic_map(root: Path, tmp_path: Path) -> None:
    for legs, says in (("a,x", "'x' is not a capture leg of this deployment"), ("a,a", "named twice")):
        run = install(root, "--legs", legs, workdir=tmp_path)
        assert run.code == 1 and says in run.err, run.text
        assert not (root / "etc/txfstream").exists()  # refused before anything was written


def test_a_third_leg_named_in_producer_env_installs_without_editing_a_packaged_file(root: Path, tmp_path: Path) -> None:
    _ok(install(root, workdir=tmp_path))
    env = root / "etc/txfstream/producer.env"
    env.write_text(env.read_text() + "TXF_CAPTURE_LEGS=a,b,c\n")
    _ok(install(root, "--legs", "c", workdir=tmp_path))
    leg_env = (root / "etc/txfstream/leg-c.env").read_text()
    assert "TXF_METRICS_PORT=9470" in leg_env  # 9468 + its place in a,b,c: the producer's own default too
