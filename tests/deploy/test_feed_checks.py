"""deploy/bin/check-feed-alive and deploy/bin/wait-for-kafka against the real local stack.

The `stack` and `new_topic` fixtures come from tests/conftest.py (a running stack is reused and
left running). Each check runs as a subprocess on this venv's interpreter, in a temp directory
(no stray .env), with TXF_* removed from its environment, an explicit --env-file and --holidays.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Producer
from deploykit import BIN

pytestmark = pytest.mark.integration

CHECK = BIN / "check-feed-alive"
WAIT = BIN / "wait-for-kafka"
IN_DAY_SESSION = "2026-11-24T10:00+08:00"  # Tuesday
IN_FRIDAY_NIGHT = "2026-11-28T04:00+08:00"  # Saturday 04:00: Friday's night session
OUTSIDE = (
    "2026-11-24T14:00+08:00",  # between the day and the night session
    "2026-11-28T05:30+08:00",  # Saturday after Friday's night session
    "2026-11-29T12:00+08:00",  # Sunday
    "2026-11-30T02:00+08:00",  # Monday before the first session
    "2026-11-24T08:40+08:00",
)  # pre-open auction: not a session


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_BOOTSTRAP"))}


def _check_cmd(tmp_path: Path, *args: str, env_file: Path | None = None, holidays: str = "") -> list[str]:
    hfile = tmp_path / "holidays"
    hfile.write_text(holidays)
    if env_file is None:
        env_file = tmp_path / "empty.env"
        env_file.write_text("")
    return [sys.executable, str(CHECK), "--env-file", str(env_file), "--holidays", str(hfile), *args]


def check(tmp_path: Path, *args: str, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        _check_cmd(tmp_path, *args, **kw), capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=120
    )


def check_while_producing(
    tmp_path: Path, bootstrap: str, produce_to: list[str], seconds: float, *args: str, **kw
) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """Run the check and, while it samples, produce to `produce_to` continuously."""
    proc = subprocess.Popen(
        _check_cmd(tmp_path, *args, **kw),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
    )
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline and proc.poll() is None:
        for topic in produce_to:
            producer.produce(topic, value=b"quote-%d" % n)
        producer.flush(5)
        n += 1
        time.sleep(0.1)
    out, err = proc.communicate(timeout=60)
    producer.flush(5)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _one_line(proc: subprocess.CompletedProcess[str], label: str) -> None:
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith(f"TXF FEED {label} - "), proc.stdout + proc.stderr


def test_ok_while_the_topic_grows(stack, new_topic: Callable[..., str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    topic = new_topic("feedcheck")
    proc = check_while_producing(
        tmp_path,
        stack.bootstrap_servers,
        [topic],
        6,
        "--bootstrap",
        stack.bootstrap_servers,
        "--topic",
        topic,
        "--interval",
        "2",
        "--now",
        IN_DAY_SESSION,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _one_line(proc, "OK")
    assert f"{topic} +" in proc.stdout and f"'{topic}'=" in proc.stdout.split("|")[1]


@pytest.mark.parametrize("now", [IN_DAY_SESSION, IN_FRIDAY_NIGHT])
def test_warning_when_nothing_arrives_in_a_session(stack, new_topic, tmp_path: Path, now: str) -> None:  # type: ignore[no-untyped-def]
    topic = new_topic("feedcheck")
    proc = check(tmp_path, "--bootstrap", stack.bootstrap_servers, "--topic", topic, "--interval", "1", "--now", now)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    _one_line(proc, "WARNING")
    assert f"no new records on {topic}" in proc.stdout and "session" in proc.stdout


@pytest.mark.parametrize("now", OUTSIDE)
def test_ok_outside_sessions_without_contacting_kafka(tmp_path: Path, now: str) -> None:
    # a dead broker address proves nothing is contacted
    proc = check(tmp_path, "--bootstrap", "127.0.0.1:1", "--topic", "nope", "--interval", "5", "--now", now)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _one_line(proc, "OK")
    assert "outside trading sessions" in proc.stdout and "next:" in proc.stdout


def test_ok_on_a_listed_holiday(tmp_path: Path) -> None:
    proc = check(tmp_path, "--bootstrap", "127.0.0.1:1", "--now", IN_DAY_SESSION, holidays="2026-11-24\n")
    assert proc.returncode == 0 and "outside trading sessions" in proc.stdout, proc.stdout


def test_unknown_when_kafka_is_unreachable_or_the_topic_missing(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    down = check(
        tmp_path, "--bootstrap", f"127.0.0.1:{_free_port()}", "--topic", "t", "--timeout", "2", "--now", IN_DAY_SESSION
    )
    assert down.returncode == 3, down.stdout + down.stderr
    _one_line(down, "UNKNOWN")
    assert down.stderr == "", "librdkafka's own log must not leak around the one line"
    missing = check(
        tmp_path,
        "--bootstrap",
        stack.bootstrap_servers,
        "--topic",
        "no-such-topic-for-feedcheck",
        "--now",
        IN_DAY_SESSION,
        "--interval",
        "0",
    )
    assert missing.returncode == 3 and "no-such-topic-for-feedcheck" in missing.stdout, missing.stdout


def test_topics_and_broker_from_the_producer_env_file(stack, new_topic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tick, bidask = new_topic("feedtick"), new_topic("feedbidask")
    env_file = tmp_path / "producer.env"
    env_file.write_text(
        f"# as install.sh writes it\nTXF_KAFKA_BOOTSTRAP={stack.bootstrap_servers}\n"
        f"TXF_TICK_TOPIC={tick}\nTXF_BIDASK_TOPIC={bidask}\n"
    )
    # only BidAsk flows (a quiet Tick stream is normal for seconds at a time): OK, Tick named as quiet
    proc = check_while_producing(
        tmp_path, stack.bootstrap_servers, [bidask], 5, "--interval", "2", "--now", IN_DAY_SESSION, env_file=env_file
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{bidask} +" in proc.stdout and f"quiet: {tick}" in proc.stdout
    # --require-all: every topic must advance
    strict = check_while_producing(
        tmp_path,
        stack.bootstrap_servers,
        [bidask],
        5,
        "--interval",
        "2",
        "--require-all",
        "--now",
        IN_DAY_SESSION,
        env_file=env_file,
    )
    assert strict.returncode == 1 and f"no new records on {tick}" in strict.stdout, strict.stdout


def test_state_file_compares_with_the_previous_run(stack, new_topic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    topic = new_topic("feedstate")
    state = tmp_path / "feed.json"
    args = ("--bootstrap", stack.bootstrap_servers, "--topic", topic, "--state", str(state), "--now", IN_DAY_SESSION)
    first = check(tmp_path, *args, "--interval", "1")  # no state yet: two samples; nothing produced
    assert first.returncode == 1 and state.exists(), first.stdout
    producer = Producer({"bootstrap.servers": stack.bootstrap_servers})
    for i in range(3):
        producer.produce(topic, value=b"%d" % i)
    assert producer.flush(10) == 0
    time.sleep(0.5)
    second = check(tmp_path, *args, "--interval", "30")  # uses the state: returns at once
    assert second.returncode == 0 and f"{topic} +3" in second.stdout, second.stdout
    time.sleep(0.5)
    third = check(tmp_path, *args, "--interval", "30")
    assert third.returncode == 1, third.stdout
    stale = check(tmp_path, *args, "--interval", "1", "--max-age", "0.1")  # too old: samples afresh
    assert stale.returncode == 1 and "for 1 s" in stale.stdout, stale.stdout


def test_no_verdict_right_after_the_open(stack, new_topic, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    topic = new_topic("feedopen")
    proc = check(
        tmp_path,
        "--bootstrap",
        stack.bootstrap_servers,
        "--topic",
        topic,
        "--interval",
        "1",
        "--now",
        "2026-11-24T08:45:20+08:00",
    )
    assert proc.returncode == 0 and "not judged" in proc.stdout, proc.stdout


# --------------------------------------------------------------------------- wait-for-kafka
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run(
        ["bash", str(WAIT), *args], capture_output=True, text=True, env={**_clean_env(), **(env or {})}, timeout=60
    )
    return proc, time.monotonic() - start


def test_wait_for_kafka_returns_once_a_broker_answers(stack) -> None:  # type: ignore[no-untyped-def]
    proc, took = _wait("--timeout", "10", stack.bootstrap_servers)
    assert proc.returncode == 0 and took < 5, proc.stderr
    # from the env file's variable, with a dead broker listed first and a stray trailing comment
    dead = f"127.0.0.1:{_free_port()}"
    proc, _ = _wait("--timeout", "10", env={"TXF_KAFKA_BOOTSTRAP": f"{dead},{stack.bootstrap_servers}  # c"})
    assert proc.returncode == 0, proc.stderr
    proc, _ = _wait("--timeout", "10", env={"KAFKA_BOOTSTRAP_SERVERS": f"PLAINTEXT://{stack.bootstrap_servers}"})
    assert proc.returncode == 0, proc.stderr


def test_wait_for_kafka_gives_up_after_its_timeout() -> None:
    proc, took = _wait("--timeout", "2", "--interval", "1", f"127.0.0.1:{_free_port()}")
    assert proc.returncode == 1 and "giving up" in proc.stderr
    assert 2 <= took < 10
    proc, _ = _wait("--timeout", "1")  # no broker list at all
    assert proc.returncode == 2 and "TXF_KAFKA_BOOTSTRAP" in proc.stderr
