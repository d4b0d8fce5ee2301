"""txf-consumer is a lean package: a fresh venv with only it (and the contract) reads the real topics.

A Python team that wants the consumer must not pull the producer's world into its environment
(shioaji's 41 MB native wheel, uvloop, pydantic, the registry client's extras). The wheels are
built from a CI-like clone exactly as `make dist` builds them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ciclone import ci_clone

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "consumer"))
from consumerkit import SerializingSender, tick  # noqa: E402

PRODUCER_ONLY = {
    "shioaji",
    "uvloop",
    "pydantic",
    "pydantic-settings",
    "pydantic-core",
    "msgpack",
    "prometheus-client",
    "httpx",
    "authlib",
    "cryptography",
    "txfstream",
}
# rich (and what it pulls in: markdown-it-py, mdurl, pygments) draws txf-consume's live view; pure Python.
ALLOWED = {
    "txf-consumer",
    "txf-contracts",
    "confluent-kafka",
    "protobuf",
    "pip",
    "setuptools",
    "rich",
    "markdown-it-py",
    "mdurl",
    "pygments",
}


def _run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    assert done.returncode == 0, f"{' '.join(cmd)}: {done.stdout[-3000:]} {done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def consumer_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the txf-consumer and txf-contracts wheels only (plus their PyPI dependencies)."""
    base = tmp_path_factory.mktemp("consumer-package")
    clone = ci_clone(base / "clone")
    wheels = base / "wheels"
    for pkg in ("gen/python", "consumers/python"):
        _run(
            [
                str(clone.path / ".venv/bin/python"),
                "-m",
                "build",
                "--no-isolation",
                "--wheel",
                "--outdir",
                str(wheels),
                str(clone.path / pkg),
            ]
        )
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    _run(
        [
            str(venv / "bin/python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *map(str, sorted(wheels.glob("*.whl"))),
        ]
    )
    return venv


def test_only_what_a_consumer_needs_is_installed(consumer_venv: Path) -> None:
    listing = _run(
        [str(consumer_venv / "bin/python"), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"]
    ).stdout
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listing)}
    assert not installed & PRODUCER_ONLY, f"producer dependencies in a consumer venv: {installed & PRODUCER_ONLY}"
    assert installed <= ALLOWED, f"unexpected packages: {installed - ALLOWED}"
    assert {"txf-consumer", "txf-contracts", "confluent-kafka", "protobuf"} <= installed
    site = consumer_venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert not list(site.glob("shioaji*"))


def test_txf_consume_runs_from_the_lean_venv_against_the_real_stack(
    consumer_venv: Path, stack: Any, new_topic: Any
) -> None:
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
        cwd=consumer_venv,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [int(line["message"]["sequence"]) for line in lines] == list(range(1, 21))
    assert {line["schemaId"] for line in lines} == {sender.schema_ids[topic]}
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    assert summary["stopReason"] == "max-messages"
    assert summary["loss"] == 0 and summary["duplicates"] == 0 and summary["messages"] == 20, summary
