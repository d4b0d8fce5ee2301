"""The secured profile end to end: SASL_SSL with SCRAM-SHA-512, ACLs on, real processes, nothing mocked.

One secured broker for the module (conftest.py). Every program runs as a user would run it, with its
documented settings: the TXF_KAFKA_* variables of its principal's settings file (the password by
TXF_KAFKA_SASL_PASSWORD_FILE, or TXF_KAFKA_SASL_PASSWORD) and the registry behind HTTPS + basic auth
(TXF_REGISTRY_URL, TXF_REGISTRY_BASIC_AUTH_FILE, TXF_REGISTRY_SSL_CA_LOCATION).

- the registration principal creates the topics (`txf-registry register --topics`); the producer and a
  consumer principal may neither create, alter nor delete them;
- the live producer (Shioaji client scripted, tests/e2e/live_with_fake_shioaji.py) publishes as the
  producer principal and all four consumers (Python, Go, TypeScript, Java) read every record as a
  consumer principal, in its own group;
- a consumer principal running the producer: a clear authorization error, exit 77, nothing written
  (high watermarks unchanged), its records spooled;
- a consumer principal in a group that is not its own: exit 77;
- a wrong password: one clear line and exit 78 (systemd's RestartPreventExitStatus) from the producer,
  every consumer, the arbiter, the archiver and the bar builder, within seconds;
- a capture leg (producer principal), the arbiter, the archiver and the bar builder (each its own
  principal) run the chain leg -> canonical topics -> Parquet and bars; run as a consumer principal,
  the arbiter, the archiver and the bar builder exit 77;
- no secret (SASL passwords of every principal, the registry password, the Shioaji keys, the wrong
  passwords tried) in any stdout/stderr of any process, /metrics, /healthz, /readyz, the recording, the
  spool, or the broker's log.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from stack import secure
from txf_producer.spool import read_spool

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "tests" / "e2e" / "live_with_fake_shioaji.py"
QUOTES = 200
RUN_TIMEOUT_S = 90
DATA = ("txf-tick", "txf-bidask")
API_KEY, SECRET_KEY = f"sj-key-{uuid.uuid4().hex}", f"sj-secret-{uuid.uuid4().hex}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _high_watermarks(secured: Any, topics: list[str], deadline_s: float = 30) -> dict[str, int]:
    """The end offset of each topic's partition 0, read as the broker's own principal (a super user).
    A topic created a moment ago may have no leader yet (NOT_LEADER_FOR_PARTITION): asked again until the
    deadline."""
    c = Consumer({**secure.client_config(secured.cfg, secure.BROKER_USER), "group.id": f"wm-{uuid.uuid4().hex}"})
    deadline = time.monotonic() + deadline_s
    try:
        while True:
            try:
                return {t: c.get_watermark_offsets(TopicPartition(t, 0), timeout=10)[1] for t in topics}
            except KafkaException as exc:
                if not exc.args[0].retriable() and exc.args[0].code() != KafkaError.NOT_LEADER_FOR_PARTITION:
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        c.close()


def _run(cmd: list[str], env: dict[str, str], timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _run_all(cmds: dict[str, tuple[list[str], dict[str, str]]]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Start every command at once and wait for all (each by its own Popen; killed by PID on a timeout)."""
    procs = {
        name: subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL
        )
        for name, (cmd, env) in cmds.items()
    }
    done: dict[str, subprocess.CompletedProcess[str]] = {}
    try:
        for name, p in procs.items():
            out, err = p.communicate(timeout=RUN_TIMEOUT_S)
            done[name] = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    return done


def _consumers(secured: Any, go: list[str], ts: list[str], java: list[str], group: str, n: int) -> dict[str, list[str]]:
    """Each consumer's documented command line reading the module's data topics from the beginning."""
    topics = ",".join(secured.topics(*DATA))
    common = ["--topics", topics, "--from-beginning", "--max-messages", str(n), "--registry", secured.front.url]
    return {
        "python": [sys.executable, "-m", "txf_consumer", "--output", "jsonl", "--group", f"{group}.py", *common],
        "go": [*go, "--group", f"{group}.go", *common],
        "ts": [*ts, "--group", f"{group}.ts", *common],
        "java": [*java, "--group", f"{group}.java", *common],
    }


def _assert_no_secret(secured: Any, **captured: str | bytes) -> None:
    leaks = {where: names for where, text in captured.items() if (names := secured.leaked(text))}
    assert not leaks, f"secrets printed: {leaks}"


@pytest.fixture(scope="module")
def registered(secured: Any) -> subprocess.CompletedProcess[str]:
    """`txf-registry register --topics` as the registration principal: subjects through the registry front,
    every declared topic (legs included) under the module's prefix."""
    done = _run(
        [sys.executable, "-m", "txf_registry.cli", "--topic-prefix", secured.prefix, "register", "--topics"],
        secured.env("txf-registrar"),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert secured.front.requests > 0
    _assert_no_secret(secured, stdout=done.stdout, stderr=done.stderr)
    return done


@pytest.fixture(scope="module")
def produced(secured: Any, registered: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The live producer as the producer principal (Shioaji keys given, password from its file), recorded,
    its /metrics /healthz /readyz read while it runs; stopped by its PID with SIGINT once all is in Kafka."""
    secured.secrets.update({"Shioaji API key": API_KEY, "Shioaji secret key": SECRET_KEY})
    state = tmp_path_factory.mktemp("producer-state")
    recording = state / "live.rec"
    port = _free_port()
    env = secured.env(
        "txf-producer",
        TXF_STATE_DIR=str(state),
        TXF_METRICS_PORT=str(port),
        TXF_SHIOAJI_API_KEY=API_KEY,
        TXF_SHIOAJI_SECRET_KEY=SECRET_KEY,
        TXF_FAKE_QUOTES=str(QUOTES),
    )
    topics = secured.topics(*DATA)
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), "run", "--source", "shioaji", "--record", str(recording)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    endpoints: dict[str, str] = {}
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while sum(_high_watermarks(secured, topics).values()) < QUOTES:
            assert proc.poll() is None, f"producer exited {proc.returncode}: {proc.communicate()[1][-3000:]}"
            assert time.monotonic() < deadline, "the producer's quotes did not all reach Kafka"
            time.sleep(0.2)
        for path in ("/metrics", "/healthz", "/readyz"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
                    endpoints[path] = resp.read().decode()
            except urllib.error.HTTPError as exc:  # 503 while not ready still has a body
                endpoints[path] = exc.read().decode()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return {
        "code": proc.returncode,
        "stdout": out,
        "stderr": err,
        "endpoints": endpoints,
        "recording": recording.read_bytes() if recording.exists() else b"",
        "state": state,
    }


def test_the_producer_publishes_as_its_principal_and_leaks_nothing(secured: Any, produced: dict[str, Any]) -> None:
    assert produced["code"] == 0, produced["stderr"][-3000:]
    assert sum(_high_watermarks(secured, secured.topics(*DATA)).values()) == QUOTES
    assert json.loads(produced["endpoints"]["/readyz"])["ready"] is True
    assert "txf_" in produced["endpoints"]["/metrics"]
    assert len(produced["recording"]) > 1000
    _assert_no_secret(
        secured,
        stdout=produced["stdout"],
        stderr=produced["stderr"],
        recording=produced["recording"],
        **{f"GET {p}": body for p, body in produced["endpoints"].items()},
    )


def test_all_four_consumers_read_everything_as_a_consumer_principal(
    secured: Any, produced: dict[str, Any], go_consumer: list[str], ts_consumer: list[str], java_consumer: list[str]
) -> None:
    assert produced["code"] == 0
    refused_before = secured.front.refused
    env = secured.env("reader-a")
    cmds = _consumers(secured, go_consumer, ts_consumer, java_consumer, f"reader-a.{uuid.uuid4().hex[:6]}", QUOTES)
    done = _run_all({name: (cmd, env) for name, cmd in cmds.items()})
    for name, r in done.items():
        assert r.returncode == 0, f"{name}: exit {r.returncode}\n{r.stderr[-3000:]}"
        lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        assert len(lines) == QUOTES, f"{name}: {len(lines)} lines"
        _assert_no_secret(secured, **{f"{name} stdout": r.stdout, f"{name} stderr": r.stderr})
    # the Go, TypeScript and Java consumers print the same (topic, offset) records: every one, once
    for name in ("go", "ts", "java"):
        seen = sorted((line["topic"], line["offset"]) for line in map(json.loads, done[name].stdout.splitlines()))
        assert len(set(seen)) == QUOTES and {t for t, _o in seen} == set(secured.topics(*DATA)), name
    assert secured.front.refused == refused_before  # every client sent the registry's login


def test_a_consumer_principal_cannot_produce(secured: Any, registered: Any, tmp_path: Path) -> None:
    topics = secured.topics(*DATA, "txf-dlq")
    before = _high_watermarks(secured, topics)
    env = secured.env("reader-a", TXF_STATE_DIR=str(tmp_path), TXF_METRICS_PORT="0")
    r = _run([sys.executable, "-m", "txf_producer.cli", "run", "--source", "sim", "--max-messages", "200"], env)
    assert r.returncode == 77, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert "exit 77" in last and "does not authorize User:reader-a" in last and "WRITE" in last, last
    assert _high_watermarks(secured, topics) == before  # nothing written
    # every record it took is kept in the spool, however far it got before the refusal came (by the
    # start-up check: none taken, nothing spooled; while publishing or flushing: each one taken, spooled)
    stats = re.search(r"final stats (\{.*\})", r.stderr)
    took = sum(json.loads(stats.group(1)).get("published", {}).values()) if stats else 0
    path = tmp_path / "spool.msgpack"
    spool = path.read_bytes() if path.exists() else b""
    spooled = len(list(read_spool(path))) if path.exists() else 0
    assert spooled == took and took <= 200, (took, spooled)
    _assert_no_secret(secured, stdout=r.stdout, stderr=r.stderr, spool=spool)


def test_a_consumer_principal_keeps_to_its_own_groups(secured: Any, registered: Any) -> None:
    r = _run(
        [
            sys.executable,
            "-m",
            "txf_consumer",
            "--output",
            "quiet",
            "--topics",
            ",".join(secured.topics(*DATA)),
            "--group",
            "reader-b.not-mine",
            "--no-schema-check",
            "--idle-exit-ms",
            "20000",
        ],
        secured.env("reader-a"),
    )
    assert r.returncode == 77, r.stderr[-2000:]
    assert "does not authorize User:reader-a" in r.stderr and "Group authorization failed" in r.stderr
    _assert_no_secret(secured, stdout=r.stdout, stderr=r.stderr)


def test_only_the_registration_principal_manages_topics(secured: Any, registered: Any) -> None:
    topic = secured.prefix + "txf-tick"
    for user in ("txf-producer", "reader-a"):
        admin = AdminClient(secure.client_config(secured.cfg, user))
        attempts = {
            "create": admin.create_topics([NewTopic(secured.prefix + "txf-loadtest-x", 1, 1)], request_timeout=15),
            "delete": admin.delete_topics([topic], request_timeout=15),
            "alter config": admin.incremental_alter_configs(
                [
                    ConfigResource(
                        "TOPIC",
                        topic,
                        incremental_configs=[
                            ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
                        ],
                    )
                ],
                request_timeout=15,
            ),
        }
        for what, futures in attempts.items():
            for f in futures.values():
                with pytest.raises(KafkaException, match="AUTHORIZATION_FAILED"):
                    f.result(timeout=30)
                print(f"{user} may not {what} {topic}")
    assert topic in AdminClient(secure.client_config(secured.cfg, secure.BROKER_USER)).list_topics(timeout=10).topics


def test_a_wrong_password_stops_every_program_with_exit_78(
    secured: Any,
    produced: Any,
    go_consumer: list[str],
    ts_consumer: list[str],
    java_consumer: list[str],
    tmp_path: Path,
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    secured.secrets["the wrong password tried"] = wrong

    def env(user: str, **extra: str) -> dict[str, str]:
        e = secured.env(user, TXF_KAFKA_SASL_PASSWORD=wrong, **extra)
        del e["TXF_KAFKA_SASL_PASSWORD_FILE"]  # the password from the environment this time
        return e

    cmds = {
        name: (cmd, env("reader-a"))
        for name, cmd in _consumers(secured, go_consumer, ts_consumer, java_consumer, "reader-a.wrong", 1).items()
    }
    cmds["producer"] = (
        [sys.executable, "-m", "txf_producer.cli", "run", "--source", "sim", "--max-messages", "10"],
        env("txf-producer", TXF_STATE_DIR=str(tmp_path), TXF_METRICS_PORT="0"),
    )
    # a wrong registry password: the producer and a consumer, with the right Kafka password (the consumer asks
    # the registry at its first record: the produced ones)
    wrong_login = tmp_path / "wrong-registry-login"
    wrong_login.write_text(secured.registry_auth.split(":")[0] + ":" + wrong + "\n")
    wrong_registry = {"TXF_REGISTRY_BASIC_AUTH_FILE": str(wrong_login)}
    cmds["producer, registry"] = (
        [sys.executable, "-m", "txf_producer.cli", "run", "--source", "sim", "--max-messages", "10"],
        secured.env("txf-producer", TXF_STATE_DIR=str(tmp_path), TXF_METRICS_PORT="0", **wrong_registry),
    )
    cmds["python, registry"] = (
        _consumers(secured, go_consumer, ts_consumer, java_consumer, "reader-a.wrongreg", 1)["python"],
        secured.env("reader-a", **wrong_registry),
    )
    # the arbiter, the archiver and the bar builder, each as its own principal
    arbiter, archive, bars = (
        [sys.executable, "-m", "txf_arbiter.cli", "run"],
        [sys.executable, "-m", "txf_archive", "run", "--idle-exit-s", "20"],
        [sys.executable, "-m", "txf_archive", "bars", "--idle-exit-s", "20"],
    )
    cmds["arbiter"] = (arbiter, env("txf-arbiter", TXF_ARBITER_METRICS_PORT="0"))
    cmds["archive"] = (archive, env("txf-archiver", TXF_ARCHIVE_ROOT=str(tmp_path / "archive")))
    cmds["bars"] = (bars, env("txf-archiver"))
    cmds["arbiter, registry"] = (arbiter, secured.env("txf-arbiter", TXF_ARBITER_METRICS_PORT="0", **wrong_registry))
    cmds["bars, registry"] = (bars, secured.env("txf-archiver", **wrong_registry))
    t0 = time.monotonic()
    done = _run_all(cmds)
    took = time.monotonic() - t0
    for name in ("producer, registry", "python, registry", "arbiter, registry", "bars, registry"):
        r = done.pop(name)
        assert r.returncode == 78 and "TXF_REGISTRY_BASIC_AUTH" in r.stderr, (name, r.returncode, r.stderr[-2000:])
        _assert_no_secret(secured, **{f"{name} stdout": r.stdout, f"{name} stderr": r.stderr})
    for name, r in done.items():
        assert r.returncode == 78, f"{name}: exit {r.returncode}\n{r.stderr[-3000:]}"
        rejected = [line for line in r.stderr.splitlines() if "rejected the login of User:" in line]
        assert len(rejected) == 1, f"{name}: {r.stderr[-3000:]}"
        assert "TXF_KAFKA_SASL_PASSWORD" in rejected[0] and "78" in rejected[0], rejected[0]
        _assert_no_secret(secured, **{f"{name} stdout": r.stdout, f"{name} stderr": r.stderr})
    assert took < 45, f"a refused login took {took:.0f} s to end the programs"


def test_the_broker_log_and_the_settings_files_keep_the_secrets_to_their_owner(secured: Any) -> None:
    cfg = secured.cfg
    assert secure.owner_only(cfg.secure_dir)
    for path in cfg.secure_dir.iterdir():
        assert path.name == "ca.pem" or secure.owner_only(path), f"{path} is readable by others"
    assert secure.owner_only(cfg.properties_file("kafka-secure"))  # it holds the broker's own password
    _assert_no_secret(secured, **{"broker log": cfg.log_file("kafka-secure").read_bytes()})


# --- the capture chain and the archive, each as its own principal ---------------------------------

LEG_QUOTES = 600
SIM_PAST = "2026-11-26T09:00:00"  # a past session morning: every minute is over, the bar builder closes all


def _records(secured: Any, topics: list[str]) -> int:
    """Records (offsets, transaction markers included) in every partition of `topics`, as the super user."""
    admin = AdminClient(secure.client_config(secured.cfg, secure.BROKER_USER))
    metadata = admin.list_topics(timeout=10)
    c = Consumer({**secure.client_config(secured.cfg, secure.BROKER_USER), "group.id": f"wm-{uuid.uuid4().hex}"})
    try:
        return sum(
            c.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1]
            for t in topics
            for p in metadata.topics[t].partitions
        )
    finally:
        c.close()


def _archived_topics(secured: Any) -> list[str]:
    from txf_kit.topicmap import load_topic_map

    return [secured.prefix + e.name for e in load_topic_map() if e.message]


def test_a_capture_leg_the_arbiter_and_the_archive_run_as_their_own_principals(
    secured: Any, registered: Any, tmp_path: Path
) -> None:
    """leg a (the producer principal) -> txf-arbiter (its principal: reads the leg, writes the canonical
    topics) -> txf-archive run and txf-archive bars (the archiver principal: reads every message topic,
    writes the bars topic in transactions). Each ends as documented; nothing leaks."""
    legs = secured.topics(*(f"leg-a.{t}" for t in ("txf-tick", "txfr2-tick", "txf-bidask")))
    canonical = secured.topics("txf-tick", "txfr2-tick", "txf-bidask")
    leg = _run(
        [sys.executable, "-m", "txf_producer.cli", "run", "--source", "sim", "--sim-start", SIM_PAST,
         "--max-messages", str(LEG_QUOTES)],
        secured.env("txf-producer", TXF_CAPTURE_LEG="a", TXF_STATE_DIR=str(tmp_path / "leg"), TXF_METRICS_PORT="0"),
    )  # fmt: skip
    assert leg.returncode == 0, leg.stderr[-3000:]
    assert _records(secured, legs) == LEG_QUOTES

    before = _records(secured, canonical)
    arbiter = subprocess.Popen(
        [sys.executable, "-m", "txf_arbiter.cli", "run"],
        env=secured.env("txf-arbiter", TXF_ARBITER_LEGS="a", TXF_ARBITER_METRICS_PORT="0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while _records(secured, canonical) - before < LEG_QUOTES:
            assert arbiter.poll() is None, f"arbiter exited {arbiter.returncode}: {arbiter.communicate()[1][-3000:]}"
            assert time.monotonic() < deadline, "the arbiter did not write the leg's quotes"
            time.sleep(0.2)
        arbiter.send_signal(signal.SIGINT)
        out, err = arbiter.communicate(timeout=60)
    finally:
        if arbiter.poll() is None:
            arbiter.kill()
            arbiter.wait()
    assert arbiter.returncode == 0, err[-3000:]
    assert _records(secured, canonical) - before == LEG_QUOTES  # each leg quote once
    _assert_no_secret(secured, leg=leg.stdout + leg.stderr, arbiter=out + err)

    in_kafka = _records(secured, _archived_topics(secured))  # the bars topic is still empty
    root = tmp_path / "archive"
    archive = _run(
        [sys.executable, "-m", "txf_archive", "run", "--idle-exit-s", "3"],
        secured.env("txf-archiver", TXF_ARCHIVE_ROOT=str(root)),
    )
    assert archive.returncode == 0, archive.stderr[-3000:]
    assert json.loads(archive.stdout.strip().splitlines()[-1])["records"] == in_kafka  # every record, once

    bars = _run(
        [sys.executable, "-m", "txf_archive", "bars", "--idle-exit-s", "3"],
        secured.env("txf-archiver", TXF_BARS_GRACE_S="0"),
    )
    assert bars.returncode == 0, bars.stderr[-3000:]
    summary = json.loads(bars.stdout.strip().splitlines()[-1])
    assert summary["bars"] > 0 and summary["transactions"] > 0, summary
    assert _records(secured, secured.topics("txf-bars-1m")) > summary["bars"]  # + the commit markers
    _assert_no_secret(secured, archive=archive.stdout + archive.stderr, bars=bars.stdout + bars.stderr)


def test_the_arbiter_and_the_archive_refuse_to_run_as_a_consumer_principal(
    secured: Any, registered: Any, tmp_path: Path
) -> None:
    """reader-a may read every topic but may not use the arbiter's or the archive's groups, write the
    canonical topics or hold the bar builder's transactional id: exit 77 at once, one line naming it."""
    env = secured.env("reader-a", TXF_ARBITER_METRICS_PORT="0", TXF_ARCHIVE_ROOT=str(tmp_path / "archive"))
    done = _run_all(
        {
            "arbiter": ([sys.executable, "-m", "txf_arbiter.cli", "run"], env),
            "archive": ([sys.executable, "-m", "txf_archive", "run", "--idle-exit-s", "20"], env),
            "bars": ([sys.executable, "-m", "txf_archive", "bars", "--idle-exit-s", "20"], env),
        }
    )
    for name, r in done.items():
        assert r.returncode == 77, f"{name}: exit {r.returncode}\n{r.stderr[-3000:]}"
        assert "does not authorize User:reader-a" in r.stderr and "exit 77" in r.stderr, f"{name}: {r.stderr[-2000:]}"
        _assert_no_secret(secured, **{f"{name} stdout": r.stdout, f"{name} stderr": r.stderr})


def test_an_untrusted_certificate_stops_every_program_with_exit_78(
    secured: Any, produced: Any, go_consumer: list[str], ts_consumer: list[str], java_consumer: list[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    """The broker's or the registry's certificate checked against the wrong CA (a public bundle, which
    never signed the profile's certificates): a setting to fix, exit 78 naming it, never a retry loop."""
    import certifi

    wrong_kafka = {"TXF_KAFKA_SSL_CA_LOCATION": certifi.where()}
    wrong_registry = {"TXF_REGISTRY_SSL_CA_LOCATION": certifi.where()}
    sim = [sys.executable, "-m", "txf_producer.cli", "run", "--source", "sim", "--max-messages", "10"]
    arbiter = [sys.executable, "-m", "txf_arbiter.cli", "run"]
    bars = [sys.executable, "-m", "txf_archive", "bars", "--idle-exit-s", "20"]
    consumers = _consumers(secured, go_consumer, ts_consumer, java_consumer, "reader-a.untrusted", 1)
    own = {"TXF_STATE_DIR": str(tmp_path), "TXF_METRICS_PORT": "0", "TXF_ARBITER_METRICS_PORT": "0"}
    kafka_cmds = {
        **{name: (cmd, secured.env("reader-a", **wrong_kafka)) for name, cmd in consumers.items()},
        "producer": (sim, secured.env("txf-producer", **own, **wrong_kafka)),
        "arbiter": (arbiter, secured.env("txf-arbiter", **own, **wrong_kafka)),
        "bars": (bars, secured.env("txf-archiver", **wrong_kafka)),
    }
    registry_cmds = {
        "producer, registry": (sim, secured.env("txf-producer", **own, **wrong_registry)),
        "arbiter, registry": (arbiter, secured.env("txf-arbiter", **own, **wrong_registry)),
        "bars, registry": (bars, secured.env("txf-archiver", **wrong_registry)),
        "python, registry": (consumers["python"], secured.env("reader-a", **wrong_registry)),
    }
    done = _run_all({**kafka_cmds, **registry_cmds})
    for name, r in done.items():
        setting = "TXF_REGISTRY_SSL_CA_LOCATION" if name in registry_cmds else "TXF_KAFKA_SSL_CA_LOCATION"
        assert r.returncode == 78, f"{name}: exit {r.returncode}\n{r.stderr[-3000:]}"
        assert setting in r.stderr, f"{name}: {r.stderr[-3000:]}"
        _assert_no_secret(secured, **{f"{name} stdout": r.stdout, f"{name} stderr": r.stderr})
