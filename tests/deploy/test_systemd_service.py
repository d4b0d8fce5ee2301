"""txf-producer.service under a real systemd (one container boot for the module; containerkit.py).

deploy/install.sh installs into the container as on a server; the producer runs the simulator
(no Shioaji credentials here) through a drop-in that replaces ExecStart= only, so every other
line of the shipped unit, hardening included, is in force. Kafka and the registry run inside the
container's own network namespace. Proves the RUNBOOK's claims on readiness, exit 78, hardening,
stop under load and journald priorities; figures are printed as `FIGURE name: value` lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from containerkit import PRODUCER, REPO, STATE, UNIT, ProducerContainer, booted, entry_time
from deploykit import DEPLOY, timespan_s
from systemd_container import wait_until

pytestmark = pytest.mark.integration
TOPICS = ("txf-tick", "txf-bidask")


@pytest.fixture(scope="module")
def host() -> Iterator[ProducerContainer]:
    with booted("service") as c:
        c.installed = c.install("--schedule", "none")  # type: ignore[attr-defined]
        c.start_stack()
        yield c


@pytest.fixture
def fresh(host: ProducerContainer) -> ProducerContainer:
    host.reset_producer()
    return host


def _figure(name: str, value: str) -> None:
    print(f"FIGURE {name}: {value}")


def _metrics(c: ProducerContainer) -> dict[str, float]:
    answer = c.probe("http", "http://127.0.0.1:9464/metrics")
    assert answer["status"] == 200, answer
    out: dict[str, float] = {}
    for line in answer["body"].splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _final_stats(messages: list[str]) -> dict[str, Any]:
    line = next(m for m in messages if "final stats" in m)
    return json.loads(re.search(r"final stats (\{.*\})", line).group(1))  # type: ignore[union-attr]


# --------------------------------------------------------------------------- install


def test_install_sh_installs_on_the_live_container_and_verify_is_clean(host: ProducerContainer) -> None:
    summary = host.installed.stdout  # type: ignore[attr-defined]
    for done in (
        "done: create system user txf",
        "done: pip install txf-contracts, txf-kit, txf-producer, txf-arbiter, txf-registry",
        "done: create /etc/txfstream/producer.env",
        "done: systemctl daemon-reload",
    ):
        assert done in summary, summary
    assert host.run("id", "-un", "txf").stdout.strip() == "txf"
    assert host.run("stat", "-c", "%a %U:%G", "/etc/txfstream/producer.env").stdout.split() == ["640", "root:txf"]
    assert host.run("stat", "-c", "%a %U:%G", STATE).stdout.split() == ["750", "txf:txf"]
    assert host.run("cat", f"/etc/systemd/system/{UNIT}").stdout == (DEPLOY / "systemd" / UNIT).read_text()
    # The schedule units are verified from the checkout: they reference the installed helpers.
    units = [f"/etc/systemd/system/{UNIT}", *(str(p) for p in sorted((DEPLOY / "systemd").glob("*-st*")))]
    verify = host.run("systemd-analyze", "verify", *units, check=False)
    assert (verify.returncode, verify.stdout, verify.stderr) == (0, "", ""), verify.stdout + verify.stderr
    assert host.run(PRODUCER, "--help").returncode == 0


def test_shipped_values_are_what_the_runbook_says(host: ProducerContainer) -> None:
    """systemd's effective values of the unit as installed (no drop-in) against the RUNBOOK's text."""
    host.reset_producer()
    shown = host.show(
        UNIT,
        "Type",
        "NotifyAccess",
        "WatchdogUSec",
        "WatchdogSignal",
        "Restart",
        "RestartUSec",
        "RestartPreventExitStatus",
        "StartLimitBurst",
        "StartLimitIntervalUSec",
        "TimeoutStartUSec",
        "TimeoutStopUSec",
        "KillSignal",
        "KillMode",
        "User",
        "DropInPaths",
    )
    assert shown["DropInPaths"] == ""
    runbook = (DEPLOY / "RUNBOOK.md").read_text()

    def claimed(pattern: str) -> str:
        found = re.findall(pattern, runbook)
        assert found, f"RUNBOOK.md does not say {pattern!r}"
        assert len(set(found)) == 1, f"RUNBOOK.md says {pattern!r} differently: {found}"
        return found[0]

    # systemd reports the watchdog of a running service only: start it (the sim drop-in changes ExecStart= only).
    host.use_sim("--rate", "100")
    host.systemctl("start", UNIT)
    watchdog = host.prop(UNIT, "WatchdogUSec")
    host.reset_producer()
    assert timespan_s(watchdog) == float(claimed(r"WatchdogSec=(\d+)s"))
    assert timespan_s(shown["RestartUSec"]) == float(claimed(r"RestartSec=(\d+)s"))
    assert timespan_s(shown["TimeoutStopUSec"]) == float(claimed(r"TimeoutStopSec=(\d+)s"))
    assert timespan_s(shown["StartLimitIntervalUSec"]) == float(claimed(r"StartLimitIntervalSec=(\d+)"))
    assert shown["StartLimitBurst"] == claimed(r"StartLimitBurst=(\d+)")
    assert shown["RestartPreventExitStatus"] == claimed(r"RestartPreventExitStatus=(\d+(?: \d+)*)")
    assert shown["KillSignal"] == "2" and claimed(r"KillSignal=(SIG\w+)") == "SIGINT"
    assert shown["WatchdogSignal"] == "6"  # SIGABRT: Python's faulthandler prints every thread's stack
    assert (shown["Type"], shown["NotifyAccess"], shown["Restart"], shown["KillMode"], shown["User"]) == (
        "notify",
        "main",
        "always",
        "mixed",
        "txf",
    )
    assert timespan_s(shown["TimeoutStartUSec"]) == 240


# --------------------------------------------------------------------------- readiness


def test_start_returns_once_producing_and_the_unit_is_active(fresh: ProducerContainer) -> None:
    c = fresh
    c.use_sim("--rate", "200")
    mark = c.mark()
    t0 = time.monotonic()
    c.systemctl("start", UNIT)
    took = time.monotonic() - t0
    assert c.run("systemctl", "is-active", UNIT).stdout.strip() == "active"
    ready = c.probe("http", "http://127.0.0.1:9464/readyz")
    assert ready["status"] == 200, ready  # producing the moment `systemctl start` returned
    status = c.prop(UNIT, "StatusText")
    producing = c.wait_journal(mark, "INFO txf_producer: producing: run id", 5, "-u", UNIT)
    launched = c.wait_journal(mark, "INFO txf_producer: metrics and health on", 5, "-u", UNIT)
    active = c.wait_journal(mark, "Started txf-producer.service", 5, "-u", UNIT)
    # READY=1 (the unit turning active) came after the producer said it was producing.
    assert entry_time(producing) <= entry_time(active)
    assert status.startswith("producing 2 streams")
    before = c.probe("offsets", *TOPICS)
    wait_until(lambda: all(n > before[t] for t, n in c.probe("offsets", *TOPICS).items()), 15, "records on both topics")
    _figure(
        "systemctl start -> active (sim source)",
        f"{took:.2f} s, producer's first line -> READY {entry_time(active) - entry_time(launched):.2f} s",
    )


def test_start_waits_for_ready_and_fails_when_it_never_comes(fresh: ProducerContainer) -> None:
    """A producer that cannot reach the registry never sends READY=1: `systemctl start` fails, never active."""
    c = fresh
    c.use_sim("--rate", "200")
    c.settings(TXF_REGISTRY_URL="http://127.0.0.1:9/apis/ccompat/v7", TXF_STARTUP_DEADLINE_S="3")
    mark = c.mark()
    t0 = time.monotonic()
    start = c.systemctl("start", UNIT, check=False)
    took = time.monotonic() - t0
    assert start.returncode != 0 and took >= 3, (start.returncode, took)
    shown = c.show(UNIT, "ActiveState", "SubState", "ExecMainStatus", "Result")
    assert shown["ExecMainStatus"] == "1" and shown["Result"] == "exit-code", shown
    assert (shown["ActiveState"], shown["SubState"]) == ("activating", "auto-restart"), shown
    messages = c.messages(mark, "-u", UNIT)
    assert not any("producing: run id" in m for m in messages)
    assert any("txf-producer: exit 1: schema registry lookup" in m and "TXF_REGISTRY_URL" in m for m in messages)


def test_missing_credentials_end_in_failed_78_without_restart(fresh: ProducerContainer) -> None:
    """The unit exactly as installed (live Shioaji source, keys still empty): exit 78, failed, no restart.

    Only RestartSec is shortened (drop-in), so that 'no restart' is seen within seconds.
    """
    c = fresh
    c.test_drop_in("50-fast-restart", "[Service]\nRestartSec=1s\n")
    mark = c.mark()
    assert c.systemctl("start", UNIT, check=False).returncode != 0
    time.sleep(3)  # three RestartSec periods: a restart would have happened by now (the point of the test)
    shown = c.show(UNIT, "ActiveState", "Result", "ExecMainStatus", "NRestarts")
    assert shown == {"ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": "78", "NRestarts": "0"}
    error = c.wait_journal(mark, "txf-producer: exit 78: source shioaji: Shioaji credentials missing", 5, "-u", UNIT)
    assert error["PRIORITY"] == "3"


def test_invalid_setting_ends_in_failed_78_naming_the_variable(fresh: ProducerContainer) -> None:
    c = fresh
    c.use_sim("--rate", "200")
    c.settings(TXF_FLUSH_TIMEOUT_S="soon")
    c.test_drop_in("50-fast-restart", "[Service]\nRestartSec=1s\n")
    mark = c.mark()
    assert c.systemctl("start", UNIT, check=False).returncode != 0
    time.sleep(3)  # as above: no restart may follow
    shown = c.show(UNIT, "ActiveState", "ExecMainStatus", "NRestarts")
    assert shown == {"ActiveState": "failed", "ExecMainStatus": "78", "NRestarts": "0"}
    error = c.wait_journal(mark, "TXF_FLUSH_TIMEOUT_S", 5, "-u", UNIT)
    assert error["PRIORITY"] == "3" and "invalid settings" in error["MESSAGE"]


# --------------------------------------------------------------------------- hardening


def test_hardened_producer_writes_state_serves_metrics_publishes_and_spools(fresh: ProducerContainer) -> None:
    c = fresh
    recording = f"{STATE}/session.txfrec"
    c.use_sim("--rate", "500", "--record", recording)
    c.settings(TXF_FLUSH_TIMEOUT_S="2")
    c.systemctl("start", UNIT)
    pid = c.main_pid(UNIT)
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    assert status["NoNewPrivs"].strip() == "1"
    assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0
    assert status["Seccomp"].strip() == "2"  # SystemCallArchitectures=native, RestrictAddressFamilies=, ...
    mounts = {f[4]: f[5] for f in (line.split() for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines())}
    assert mounts["/"].startswith("ro") and mounts[STATE].startswith("rw"), (mounts["/"], mounts.get(STATE))
    wait_until(
        lambda: _metrics(c).get('txf_messages_delivered_total{topic="txf-bidask"}', 0) > 500,
        20,
        "500 BidAsk delivered (metrics served under the hardening)",
    )
    # Freeze the broker: what is in flight at the stop cannot be delivered within the 2 s flush bound.
    kafka = c.stack_pid("kafka")
    mark = c.mark()
    os.kill(kafka, signal.SIGSTOP)
    try:
        time.sleep(0.5)  # let records pile up in flight to the frozen broker (the condition under test)
        c.systemctl("stop", UNIT)
    finally:
        os.kill(kafka, signal.SIGCONT)
    shown = c.show(UNIT, "Result", "ExecMainStatus")
    assert (shown["Result"], shown["ExecMainStatus"]) == ("success", "0")
    messages = c.messages(mark, "-u", UNIT)
    spooled = _final_stats(messages)["spooled_total"]
    assert spooled > 0, messages[-5:]
    listing = c.run("stat", "-c", "%n %U %a %s", recording, f"{STATE}/spool.msgpack").stdout.split("\n")
    for line in filter(None, listing):
        name, owner, mode, size = line.split()
        assert (owner, mode) == ("txf", "640") and int(size) > 0, line  # UMask=0027, written as txf
    # The RUNBOOK's respool command, as written there.
    runbook = (DEPLOY / "RUNBOOK.md").read_text()
    command = re.search(r"```bash\n(sudo systemd-run --wait --pipe .*?)\n```", runbook, re.S).group(1)  # type: ignore[union-attr]
    respool = c.sh(command.replace("sudo ", "", 1).replace("\\\n", " "), timeout=120)
    # a record in flight to the frozen broker may have been written after all: respool skips those
    done = re.search(r"republished (\d+) records .*skipped (\d+) the topics already held", respool.stdout)
    assert done and int(done.group(1)) + int(done.group(2)) == spooled, respool.stdout + respool.stderr
    assert c.run("test", "-f", f"{STATE}/spool.msgpack.done", check=False).returncode == 0


def test_a_breaking_hardening_line_is_caught_here(fresh: ProducerContainer) -> None:
    """Negative control: one more restriction (no IP sockets) and `systemctl start` fails, with the reason.

    The Kafka wait (ExecStartPre=) is dropped here: with no IP sockets it would wait its full 150 s
    before failing (what a server would show), and the producer's own error is the one of interest.
    """
    c = fresh
    c.use_sim("--rate", "200")
    c.settings(TXF_STARTUP_DEADLINE_S="2")
    c.test_drop_in("50-break", "[Service]\nRestrictAddressFamilies=\nRestrictAddressFamilies=AF_UNIX\nExecStartPre=\n")
    mark = c.mark()
    assert c.systemctl("start", UNIT, check=False).returncode != 0
    assert any("txf-producer: exit 1: schema registry lookup" in m for m in c.messages(mark, "-u", UNIT))


def test_security_exposure_figure(fresh: ProducerContainer) -> None:
    out = fresh.run("systemd-analyze", "security", "--no-pager", UNIT).stdout
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out).group(1))  # type: ignore[union-attr]
    _figure("systemd-analyze security txf-producer", f"{score} (0 = most restricted, 10 = none)")
    assert score < 3.0, out[-3000:]


# --------------------------------------------------------------------------- stop under load


def test_stop_under_2500_msgs_per_s_flushes_everything_and_exits_0(fresh: ProducerContainer) -> None:
    c = fresh
    c.use_sim("--rate", "2500")
    before = c.probe("offsets", *TOPICS)
    mark = c.mark()
    c.systemctl("start", UNIT)
    wait_until(
        lambda: c.probe("offsets", "txf-bidask")["txf-bidask"] - before["txf-bidask"] > 10_000,
        60,
        "10,000 BidAsk records at 2,500 msgs/s",
    )
    t0 = time.monotonic()
    c.systemctl("stop", UNIT)
    took = time.monotonic() - t0
    shown = c.show(UNIT, "Result", "ExecMainStatus", "NRestarts", "ActiveState")
    assert shown == {"Result": "success", "ExecMainStatus": "0", "NRestarts": "0", "ActiveState": "inactive"}
    messages = c.messages(mark, "-u", UNIT)
    assert any("stopped: SIGINT received" in m for m in messages), messages[-5:]
    stats = _final_stats(messages)
    assert stats["spooled_total"] == 0 and stats["delivery_errors"] == 0
    assert stats["published"] == stats["delivered"]
    run_id = next(re.search(r"run id ([0-9a-f]{16})", m).group(1) for m in messages if "producing: run id" in m)  # type: ignore[union-attr]
    back = c.probe("readback", *TOPICS)
    lost = 0
    for topic in TOPICS:
        run = back[topic]["runs"][run_id]
        assert run["complete"] and run["count"] == run["distinct"] == run["max"] == stats["delivered"][topic], run
        lost += run["max"] - run["distinct"]
    assert took < timespan_s(c.prop(UNIT, "TimeoutStopUSec"))
    _figure(
        "systemctl stop at 2,500 msgs/s -> exit 0",
        f"{took:.2f} s (TimeoutStopSec 30 s), {sum(stats['delivered'].values())} records, lost {lost}",
    )


# --------------------------------------------------------------------------- redundant capture


def test_arbiter_unit_writes_a_capture_leg_once_and_comes_back_after_sigkill(fresh: ProducerContainer) -> None:
    """The producer as capture leg `a` (TXF_CAPTURE_LEG) and txf-arbiter.service as shipped, on topics of
    their own (TXF_TOPIC_PREFIX, provisioned by txf-registry): the arbiter turns READY as a standby, goes
    active, is SIGKILLed mid-stream, is restarted by systemd, and the canonical topics end up holding every
    leg record exactly once (no loss across the kill, no second copy)."""
    c = fresh
    prefix, arbiter = "arb.", "txf-arbiter.service"
    c.register_topics(prefix)
    c.write("/etc/txfstream/arbiter.env", f"TXF_TOPIC_PREFIX={prefix}\nTXF_ARBITER_LEGS=a\n", mode=0o640)
    # what `install.sh --arbiter` does on a live host (tests/deploy/test_install.py covers the flag)
    c.systemctl("enable", "--now", arbiter)  # returns at READY=1
    try:
        assert c.prop(arbiter, "ActiveState") == "active"
        wait_until(lambda: c.prop(arbiter, "StatusText").startswith("active") or None, 30, "the arbiter to go active")
        c.settings(TXF_CAPTURE_LEG="a", TXF_TOPIC_PREFIX=prefix)
        c.use_sim("--rate", "200")
        c.systemctl("start", UNIT)
        leg, canonical = f"{prefix}leg-a.txf-bidask", f"{prefix}txf-bidask"
        wait_until(lambda: c.probe("offsets", canonical)[canonical] > 500 or None, 60, "500 canonical BidAsk")
        killed = c.main_pid(arbiter)
        os.kill(killed, signal.SIGKILL)
        wait_until(
            lambda: (
                (c.live_main_pid(arbiter) not in (0, killed) and c.prop(arbiter, "StatusText").startswith("active"))
                or None
            ),
            60,
            "systemd to restart the arbiter and the new one to go active",
        )
        assert c.prop(arbiter, "NRestarts") == "1"
        before = c.probe("offsets", canonical)[canonical]
        wait_until(
            lambda: c.probe("offsets", canonical)[canonical] > before + 200 or None,
            60,
            "the restarted arbiter to write",
        )
        metrics = c.probe("http", "http://127.0.0.1:9465/metrics")
        assert metrics["status"] == 200 and "\ntxf_arbiter_active 1.0\n" in metrics["body"], metrics
        rules = (DEPLOY / "monitoring" / "txf-producer.rules.yml").read_text()
        for name in set(re.findall(r"\b(txf_arbiter_\w+)", rules)):  # what the alert rules select is served
            assert f"\n{name}" in metrics["body"], name
        c.systemctl("stop", UNIT)
        streams = (("tick", f"{prefix}leg-a.txf-tick", f"{prefix}txf-tick"), ("bidask", leg, canonical))

        def drained() -> dict[str, Any] | None:
            back = c.probe("readback", *(t for _k, lt, ct in streams for t in (lt, ct)))
            done = all(
                sum(r["count"] for r in back[ct]["runs"].values()) >= sum(r["count"] for r in back[lt]["runs"].values())
                for _k, lt, ct in streams
            )
            return back if done else None

        back = wait_until(drained, 60, "the arbiter to write every leg record")
        for _kind, leg_topic, canonical_topic in streams:
            legs = back[leg_topic]["runs"]
            assert len(legs) == 1 and all(r["complete"] for r in legs.values()), legs
            written = back[canonical_topic]["runs"]
            assert len(written) >= 2, f"one run per arbiter process: {written}"  # before and after the kill
            assert all(r["complete"] and r["count"] == r["distinct"] for r in written.values()), written
            assert sum(r["count"] for r in written.values()) == next(iter(legs.values()))["count"]
        _figure(
            "arbiter SIGKILL under systemd",
            f"restarted, {sum(r['count'] for r in written.values())} "
            f"BidAsk written once from the leg's {next(iter(legs.values()))['count']}",
        )
    finally:
        c.systemctl("disable", "--now", arbiter)
        c.run("rm", "-f", "/etc/txfstream/arbiter.env")


# --------------------------------------------------------------------------- journald


SCRIPTED = "/opt/txf-test/scripted-session"
CREDENTIALS = "/etc/txfstream/credentials"
LEG_UNITS = ("txf-producer@a.service", "txf-producer@b.service")
LEG_QUOTES = 400


def _metric_sum(c: ProducerContainer, port: int, name: str) -> float:
    body = c.probe("http", f"http://127.0.0.1:{port}/metrics")["body"]
    return sum(
        float(line.rpartition(" ")[2]) for line in body.splitlines() if line.startswith((name + "{", name + " "))
    )


def _install_scripted_session(c: ProducerContainer) -> None:
    """The scripted Shioaji client (tests/deploy/scripted_session/) into the container, for a drop-in's
    PYTHONPATH: the shipped ExecStart= (`--source shioaji`) then runs against it."""
    for name, source in (
        ("sitecustomize.py", Path(__file__).with_name("scripted_session") / "sitecustomize.py"),
        ("fake_shioaji.py", REPO / "tests/producer/fake_shioaji.py"),
        ("live_with_fake_shioaji.py", REPO / "tests/e2e/live_with_fake_shioaji.py"),
    ):
        c.write(f"{SCRIPTED}/{name}", source.read_text())


def test_shioaji_keys_as_systemd_credentials_log_in_and_stay_out_of_the_environment(fresh: ProducerContainer) -> None:
    """The RUNBOOK's credentials drop-in on the shipped unit (hardening in force, the live source with the
    scripted Shioaji client, which rejects any keys but the expected ones): LoadCredential= hands the keys
    over as files, TXF_SHIOAJI_*_KEY_FILE=%d/... names them; the producer logs in and publishes, and neither
    key is in its environment, in `systemctl show` or in the journal."""
    c = fresh
    prefix, quotes = "cred.", 200
    key, secret = f"api-key-{os.urandom(6).hex()}", f"secret-key-{os.urandom(6).hex()}"
    _install_scripted_session(c)
    c.register_topics(prefix)
    c.run("install", "-d", "-m", "0700", CREDENTIALS)
    c.write(f"{CREDENTIALS}/shioaji-api-key", key + "\n", mode=0o600)
    c.write(f"{CREDENTIALS}/shioaji-secret-key", secret + "\n", mode=0o600)
    c.settings(
        TXF_TOPIC_PREFIX=prefix,
        TXF_FAKE_QUOTES=str(quotes),
        TXF_FAKE_KEYS_SHA256=hashlib.sha256(f"{key}:{secret}".encode()).hexdigest(),
    )
    c.test_drop_in(
        "30-credentials",
        f"[Service]\nEnvironment=PYTHONPATH={SCRIPTED}\n"
        f"LoadCredential=shioaji-api-key:{CREDENTIALS}/shioaji-api-key\n"
        f"LoadCredential=shioaji-secret-key:{CREDENTIALS}/shioaji-secret-key\n"
        "Environment=TXF_SHIOAJI_API_KEY_FILE=%d/shioaji-api-key\n"
        "Environment=TXF_SHIOAJI_SECRET_KEY_FILE=%d/shioaji-secret-key\n",
    )
    mark = c.mark()
    try:
        started = c.systemctl("start", UNIT, check=False)  # returns at READY=1: logged in and subscribed
        assert started.returncode == 0, c.journal("-u", UNIT, "-n", "40")
        topics = [prefix + t for t in TOPICS]
        wait_until(lambda: sum(c.probe("offsets", *topics).values()) == quotes or None, 60, f"{quotes} quotes")
        environ = Path(f"/proc/{c.main_pid(UNIT)}/environ").read_bytes()
        assert b"TXF_SHIOAJI_API_KEY_FILE=/run/credentials/txf-producer.service/shioaji-api-key" in environ
        shown = c.systemctl("show", UNIT, "-p", "Environment").stdout
        journal = "\n".join(str(e.get("MESSAGE")) for e in c.entries(mark))
        for where, text in (("environ", environ.decode()), ("systemctl show", shown), ("journal", journal)):
            assert key not in text and secret not in text, f"a key in the {where}"
        assert any("shioaji: logged in" in str(e.get("MESSAGE")) for e in c.entries(mark, "-u", UNIT))
        c.systemctl("stop", UNIT)
        assert c.show(UNIT, "Result", "ExecMainStatus") == {"Result": "success", "ExecMainStatus": "0"}
    finally:
        c.systemctl("stop", UNIT, check=False)
        c.run("rm", "-rf", CREDENTIALS)


def test_two_leg_instances_on_one_host_and_a_leg_restart_is_free(fresh: ProducerContainer) -> None:
    """`install.sh --legs a,b` and txf-producer@a/@b as shipped (the live source; its Shioaji client a
    scripted fake that plays the same 400 quotes to every login: tests/deploy/scripted_session/) with the
    arbiter: each instance is its own leg with its own state directory, metrics port and journal tag;
    restarting leg a mid-stream (it replays from its login) leaves the canonical topics with every quote
    exactly once."""
    c = fresh
    prefix, arbiter = "legs.", "txf-arbiter.service"
    c.install("--schedule", "none", "--legs", "a,b", "--skip-venv")  # the module's install built the venv
    _install_scripted_session(c)
    c.register_topics(prefix)
    settings = "/etc/txfstream/test-legs.env"
    c.write(
        settings,
        f"TXF_TOPIC_PREFIX={prefix}\nTXF_FAKE_QUOTES={LEG_QUOTES}\n"
        "TXF_SHIOAJI_API_KEY=leg-key-not-logged\nTXF_SHIOAJI_SECRET_KEY=leg-secret-not-logged\n",
        mode=0o640,
    )
    c.drop_in(
        "txf-producer@.service",
        "50-test",
        f"[Service]\nEnvironment=PYTHONPATH={SCRIPTED}\nEnvironmentFile={settings}\n",
    )
    c.write("/etc/txfstream/arbiter.env", f"TXF_TOPIC_PREFIX={prefix}\nTXF_ARBITER_LEGS=a,b\n", mode=0o640)
    mark = c.mark()
    try:
        c.systemctl("enable", "--now", arbiter)
        c.systemctl("start", *LEG_UNITS)  # returns once both sent READY=1
        pids = [c.main_pid(u) for u in LEG_UNITS]
        assert all(c.prop(u, "ActiveState") == "active" for u in LEG_UNITS) and len(set(pids)) == 2 and 0 not in pids
        data = ("txf-tick", "txf-bidask")
        legs = {leg: [f"{prefix}leg-{leg}.{t}" for t in data] for leg in ("a", "b")}
        canonical = [f"{prefix}{t}" for t in data]

        def total(topics: list[str]) -> int:
            return sum(c.probe("offsets", *topics).values())

        for leg in ("a", "b"):
            wait_until(lambda leg=leg: total(legs[leg]) == LEG_QUOTES or None, 60, f"leg {leg}'s quotes")
        wait_until(lambda: total(canonical) == LEG_QUOTES or None, 60, "the arbiter's canonical quotes")
        for leg, port in (("a", 9468), ("b", 9469)):  # install.sh's leg-<leg>.env ports
            assert _metric_sum(c, port, "txf_messages_published_total") >= LEG_QUOTES, leg
            state = c.run("stat", "-c", "%U %a", f"/var/lib/txfstream/leg-{leg}").stdout.split()
            assert state == ["txf", "750"], state

        c.systemctl("restart", LEG_UNITS[0])  # a deploy or a stall recovery of one leg, mid-stream
        assert c.main_pid(LEG_UNITS[1]) == pids[1]  # leg b never stopped
        wait_until(lambda: total(legs["a"]) == 2 * LEG_QUOTES or None, 60, "leg a's quotes after its restart")
        wait_until(
            lambda: _metric_sum(c, 9465, "txf_arbiter_leg_records_total") >= 3 * LEG_QUOTES or None,
            60,
            "the arbiter to read every leg record",
        )
        back = c.probe("readback", *canonical)
        for topic in canonical:
            [run] = back[topic]["runs"].values()  # one arbiter run, never a second copy
            assert run["complete"] and run["count"] == run["distinct"], run
        assert total(canonical) == LEG_QUOTES  # the restarted leg's 400 again: all dropped as duplicates
        assert _metric_sum(c, 9465, "txf_arbiter_leg_duplicates_total") == 2 * LEG_QUOTES
        journal = c.entries(mark, "-t", "txf-producer@a")
        assert journal and not c.entries(mark, "-t", "txf-producer")  # each leg tagged with its instance
        text = "\n".join(str(e.get("MESSAGE")) for e in c.entries(mark))
        assert "leg-key-not-logged" not in text and "leg-secret-not-logged" not in text
        _figure(
            "two leg instances, leg a restarted",
            f"{LEG_QUOTES} canonical quotes once from 3 x {LEG_QUOTES} leg records",
        )
    finally:
        c.systemctl("stop", *LEG_UNITS, check=False)
        c.systemctl("disable", "--now", arbiter, check=False)
        c.run("rm", "-rf", "/etc/systemd/system/txf-producer@.service.d", settings, "/etc/txfstream/arbiter.env")
        c.install("--schedule", "none", "--skip-venv")  # no legs again (their settings files stay, as on a server)
        c.systemctl("reset-failed", *LEG_UNITS, check=False)


def test_journal_lines_carry_their_priority_and_no_timestamp(host: ProducerContainer) -> None:
    """Everything the unit logged in this module: `journalctl -p warning` shows exactly the warnings and errors.

    Runs last: the tests above made INFO, WARNING (librdkafka, record-exit) and ERROR lines (exit lines, spool).
    """
    ours = [e for e in host.entries("", "-u", UNIT) if e.get("SYSLOG_IDENTIFIER") == "txf-producer"]
    level_of = {"DEBUG": "7", "INFO": "6", "WARNING": "4", "ERROR": "3", "CRITICAL": "2"}
    levels = set()
    for entry in ours:
        message = str(entry["MESSAGE"])
        assert not re.match(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d", message), f"timestamp under journald: {message}"
        word = message.split(" ", 1)[0]
        if word in level_of:
            assert entry["PRIORITY"] == level_of[word], entry
            levels.add(word)
        elif message.startswith("txf-producer: exit") or message.startswith("txf-producer: invalid"):
            assert entry["PRIORITY"] == "3", entry
    assert {"INFO", "WARNING", "ERROR"} <= levels, levels
    shown = {
        e["__CURSOR"]
        for e in host.entries("", "-u", UNIT, "-p", "warning")
        if e.get("SYSLOG_IDENTIFIER") == "txf-producer"
    }
    expected = {e["__CURSOR"] for e in ours if int(e["PRIORITY"]) <= 4}
    assert shown == expected and expected
    infos = [e for e in ours if e["PRIORITY"] == "6"]
    assert infos and not any(str(e["MESSAGE"]).startswith(("WARNING", "ERROR")) for e in infos)
    _figure("journal lines checked", f"{len(ours)} ({len(expected)} at warning or above)")
