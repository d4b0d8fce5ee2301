"""Every Python distribution of the project runs, installed alone into a clean venv with only what it declares.

A distribution that imports something it does not declare works in the repository's venv, where
everything is installed, and fails for the first user who installs it alone (`txf-archive run` ended
with "No module named 'txf_producer'", `txf-archive bars` with "No module named 'certifi'"). So each
distribution is built from a CI-like clone as a wheel, installed into a fresh venv (uv, from the built
wheels and PyPI: nothing else), and every console script it declares must answer `--help` and do a
short real run against the local stack. The lean consumer's venv must hold none of the services'
dependencies, and the kit's light part must import there. Version floors are checked against the
released contracts: a distribution's `txf-contracts` floor must have every txf.v1 name its code uses.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ciclone import ROOT, ci_clone
from google.protobuf.descriptor_pb2 import FileDescriptorSet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "consumer"))
from consumerkit import SerializingSender, tick  # noqa: E402

from txf_registry import provision  # noqa: E402

#: every Python distribution of the repository: its folder, and the packages its code lives in
DISTRIBUTIONS = {
    "txf-contracts": ("gen/python", ("txf",)),
    "txf-kit": ("kit", ("txf_kit",)),
    "txf-consumer": ("consumers/python", ("txf_consumer",)),
    "txf-producer": ("producer", ("txf_producer",)),
    "txf-arbiter": ("arbiter", ("txf_arbiter",)),
    "txf-registry": ("schema-registry", ("txf_registry",)),
    "txf-archive": ("archive", ("txf_archive",)),
}
#: what only the services need: never in a consumer's venv
SERVICE_ONLY = {
    "shioaji",
    "uvloop",
    "pydantic",
    "pydantic-settings",
    "pydantic-core",
    "msgpack",
    "prometheus-client",
    "httpx2",
    "authlib",
    "cryptography",
    "txf-producer",
    "txf-arbiter",
    "txf-registry",
    "txf-archive",
}
#: the lean consumer's whole venv: the library, the contract, the kit's light part, the Kafka client,
#: protobuf, and rich (txf-consume's live view) with what rich pulls in
CONSUMER_VENV = {
    "txf-consumer",
    "txf-contracts",
    "txf-kit",
    "confluent-kafka",
    "protobuf",
    "rich",
    "markdown-it-py",
    "mdurl",
    "pygments",
}
KIT_LIGHT = (
    "calendar",
    "topicmap",
    "records",
    "refusal",
    "secretfiles",
    "metadata",
    "service",
    "notify",
    "logs",
    "exits",
)


def _run(cmd: list[str], timeout: float = 300, ok: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if ok:
        assert done.returncode == 0, (
            f"{' '.join(cmd)} -> {done.returncode}: {done.stdout[-3000:]} {done.stderr[-3000:]}"
        )
    return done


def _project(folder: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / folder / "pyproject.toml").read_text("utf-8"))["project"]


@dataclass
class Built:
    """The wheels of every distribution, and a pin of each at its own version (so a same-named
    project on PyPI can never be taken instead)."""

    wheels: Path
    constraints: Path
    uv: str

    def venv(self, where: Path, requirement: str) -> Path:
        """A fresh venv with `requirement` (a distribution, maybe with extras) and what it declares."""
        _run([self.uv, "venv", "--quiet", "--python", sys.executable, str(where)])
        _run(
            [
                self.uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(where / "bin" / "python"),
                "--find-links",
                str(self.wheels),
                "--constraint",
                str(self.constraints),
                requirement,
            ],
            timeout=600,
        )
        return where


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("distributions")
    clone = ci_clone(base / "clone")
    wheels = base / "wheels"
    for folder, _packages in DISTRIBUTIONS.values():
        _run(
            [
                str(clone.path / ".venv/bin/python"),
                "-m",
                "build",
                "--no-isolation",
                "--wheel",
                "--outdir",
                str(wheels),
                str(clone.path / folder),
            ]
        )
    pins = [f"{name}=={_project(folder)['version']}" for name, (folder, _p) in DISTRIBUTIONS.items()]
    constraints = base / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    return Built(wheels, constraints, str(Path(sys.executable).parent / "uv"))


def _installed(venv: Path) -> set[str]:
    """The distributions in `venv` (asked from inside it: the current folder adds none)."""
    code = (
        "import importlib.metadata as m, json; print(json.dumps(sorted(d.metadata['Name'] for d in m.distributions())))"
    )
    out = _run([str(venv / "bin" / "python"), "-I", "-c", code], cwd=venv).stdout
    return {n.lower().replace("_", "-") for n in json.loads(out)}


def _scripts(name: str) -> list[str]:
    return sorted(_project(DISTRIBUTIONS[name][0]).get("scripts", {}))


def _env(stack: Any, tmp: Path, **extra: str) -> dict[str, str]:
    """The programs' environment: the stack and a run's own topics, nothing of this process's TXF_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_", "VIRTUAL_ENV"))}
    env.update(
        TXF_KAFKA_BOOTSTRAP=stack.bootstrap_servers,
        TXF_REGISTRY_URL=stack.registry_url,
        TXF_METRICS_PORT="0",
        TXF_ARBITER_METRICS_PORT="0",
        TXF_STATE_DIR=str(tmp / "state"),
        TXF_STARTUP_DEADLINE_S="20",
        PYTHONUNBUFFERED="1",
        HOME=str(tmp),  # nothing of the user's (an archive default root, caches) is touched
    )
    env.update(extra)
    return env


def _help_of_every_script(venv: Path, name: str, cwd: Path) -> None:
    scripts = _scripts(name)
    assert scripts, f"{name} declares no console script"
    for script in scripts:
        done = _run([str(venv / "bin" / script), "--help"], cwd=cwd, ok=False, timeout=60)
        assert done.returncode == 0 and "usage" in done.stdout.lower(), f"{script} --help: {done.stderr[-2000:]}"


# --------------------------------------------------------------------------------------------- consumer


@pytest.fixture(scope="module")
def consumer_venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built.venv(tmp_path_factory.mktemp("consumer") / "venv", "txf-consumer")


def test_the_consumer_venv_holds_only_what_a_consumer_needs(consumer_venv: Path) -> None:
    installed = _installed(consumer_venv)
    assert not installed & SERVICE_ONLY, f"service dependencies in a consumer venv: {installed & SERVICE_ONLY}"
    extra = installed - CONSUMER_VENV - {"pip", "setuptools"}
    assert not extra, f"unexpected packages in the consumer venv: {extra}"
    assert {"txf-consumer", "txf-contracts", "txf-kit", "confluent-kafka", "protobuf"} <= installed
    # the kit's light part imports there, without the services' settings, metrics or registry client
    light = "; ".join(f"import txf_kit.{m}" for m in KIT_LIGHT)
    _run([str(consumer_venv / "bin" / "python"), "-c", light])


def test_txf_consume_runs_from_the_lean_venv_against_the_real_stack(
    consumer_venv: Path, stack: Any, new_topic: Any, tmp_path: Path
) -> None:
    _help_of_every_script(consumer_venv, "txf-consumer", tmp_path)
    topic = new_topic("lean")
    sender = SerializingSender(stack)
    sender.send(topic, [tick(seq) for seq in range(1, 21)])
    sender.flush()
    done = _run(
        [
            str(consumer_venv / "bin/txf-consume"),
            "--bootstrap",
            stack.bootstrap_servers,
            "--registry",
            stack.registry_url,
            "--topics",
            topic,
            "--type",
            f"{topic}=txf.v1.Tick",
            "--group",
            f"lean-{topic}",
            "--from-beginning",
            "--output",
            "jsonl",
            "--max-messages",
            "20",
            "--connect-timeout-s",
            "30",
        ],
        cwd=tmp_path,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [int(line["message"]["sequence"]) for line in lines] == list(range(1, 21))
    assert {line["schemaId"] for line in lines} == {sender.schema_ids[topic]}
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    assert summary["stopReason"] == "max-messages"
    assert summary["loss"] == 0 and summary["duplicates"] == 0 and summary["messages"] == 20, summary


# --------------------------------------------------------------------------------------------- services


@pytest.fixture(scope="module")
def topics(stack: Any) -> Iterator[str]:
    """A prefix with every declared topic and subject, the capture legs' included."""
    prefix = f"dist{uuid.uuid4().hex[:8]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix, legs=True)
    yield prefix


def test_txf_producer_runs_installed_alone(built: Built, stack: Any, topics: str, tmp_path: Path) -> None:
    venv = built.venv(tmp_path / "venv", "txf-producer")
    assert not _installed(venv) & {"txf-arbiter", "txf-archive", "txf-registry", "txf-consumer"}
    _help_of_every_script(venv, "txf-producer", tmp_path)
    done = _run(
        [str(venv / "bin/txf-producer"), "run", "--source", "sim", "--max-messages", "50", "--rate", "2000"],
        env=_env(stack, tmp_path, TXF_TOPIC_PREFIX=topics),
        cwd=tmp_path,
        timeout=120,
    )
    assert "final stats" in done.stderr, done.stderr[-2000:]


def test_txf_registry_runs_installed_alone_and_honours_the_topic_prefix(
    built: Built, stack: Any, topics: str, tmp_path: Path
) -> None:
    venv = built.venv(tmp_path / "venv", "txf-registry")
    assert not _installed(venv) & {"txf-producer", "txf-arbiter", "txf-archive", "shioaji"}
    _help_of_every_script(venv, "txf-registry", tmp_path)
    done = _run(
        [str(venv / "bin/txf-registry"), "status", "--json"],
        env=_env(stack, tmp_path, TXF_TOPIC_PREFIX=topics),
        cwd=tmp_path,
        timeout=120,
    )
    rows = json.loads(done.stdout)
    assert rows and all(r["state"] == "in sync" for r in rows if r["subject"].startswith(topics)), rows
    assert f"{topics}txf-tick-value" in {r["subject"] for r in rows}
    assert f"{topics}leg-a.txf-tick-value" in {r["subject"] for r in rows}


def test_txf_arbiter_runs_installed_alone(built: Built, stack: Any, topics: str, tmp_path: Path) -> None:
    venv = built.venv(tmp_path / "venv", "txf-arbiter")
    assert not _installed(venv) & {"txf-producer", "txf-archive", "txf-registry", "shioaji", "uvloop"}
    _help_of_every_script(venv, "txf-arbiter", tmp_path)
    log = tmp_path / "arbiter.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv / "bin/txf-arbiter"), "run"],
            env=_env(stack, tmp_path, TXF_TOPIC_PREFIX=topics),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "arbiter: legs" not in log.read_text(errors="replace"):  # subscribed: past registry and Kafka
            assert proc.poll() is None, f"txf-arbiter ended with {proc.returncode}: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"txf-arbiter did not start: {log.read_text()[-3000:]}"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_txf_archive_runs_installed_alone(built: Built, stack: Any, topics: str, tmp_path: Path) -> None:
    venv = built.venv(tmp_path / "venv", "txf-archive")
    assert not _installed(venv) & {"txf-producer", "txf-arbiter", "txf-registry", "shioaji", "uvloop"}
    _help_of_every_script(venv, "txf-archive", tmp_path)
    env = _env(stack, tmp_path, TXF_TOPIC_PREFIX=topics, TXF_ARCHIVE_ROOT=str(tmp_path / "archive"))
    archive = [str(venv / "bin/txf-archive")]
    for command in (["run", "--idle-exit-s", "1"], ["bars", "--idle-exit-s", "1"]):
        done = _run(archive + command, env=env, cwd=tmp_path, timeout=120)
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary.get("stopReason", "idle") in ("idle", "stopped"), summary
    _run(archive + ["compact"], env=env, cwd=tmp_path, timeout=120)
    assert not (tmp_path / ".local").exists()  # TXF_ARCHIVE_ROOT was honoured; nothing landed elsewhere


# --------------------------------------------------------------------------------------------- floors


def _txf_names(package_dir: Path) -> set[str]:
    """The txf.v1 names a package's code uses (`from txf.v1 import X`, `txf.v1.X`)."""
    names: set[str] = set()
    for source in package_dir.rglob("*.py"):
        tree = ast.parse(source.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "txf.v1":
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                if isinstance(node.value.value, ast.Name) and node.value.value.id == "txf" and node.value.attr == "v1":
                    names.add(node.attr)
    return {n for n in names if not n.startswith("__")}


def _release_names(version: str) -> set[str]:
    """Every message and enum of a released contract (its buf image in contracts/)."""
    image = FileDescriptorSet.FromString((ROOT / "contracts" / f"txf-{version}.binpb").read_bytes())
    return {m.name for f in image.file for m in f.message_type} | {e.name for f in image.file for e in f.enum_type}


def test_each_contract_floor_has_every_name_the_code_uses() -> None:
    releases = [r["version"] for r in tomllib.loads((ROOT / "contracts/releases.toml").read_text())["release"]]
    checked = 0
    for name, (folder, packages) in DISTRIBUTIONS.items():
        floors = [
            m.group(1)
            for dep in _project(folder).get("dependencies", [])
            if (m := re.match(r"txf-contracts(?:\[[^\]]*\])?\s*>=\s*([\d.]+)", dep))
        ]
        if name == "txf-contracts":
            continue
        assert floors, f"{name} ({folder}/pyproject.toml) declares no txf-contracts floor"
        assert floors[0] in releases, f"{name}: txf-contracts>={floors[0]} is not a released contract {releases}"
        used = set().union(*(_txf_names(ROOT / folder / p) for p in packages))
        missing = used - _release_names(floors[0])
        assert not missing, f"{name} uses {sorted(missing)}, which txf-contracts {floors[0]} does not have"
        checked += 1
    assert checked == len(DISTRIBUTIONS) - 1
