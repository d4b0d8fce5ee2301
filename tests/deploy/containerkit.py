"""The producer deployed in a systemd container, for the tests/deploy/test_systemd_*.py modules.

`ProducerContainer` is a booted `SystemdContainer` plus what a server running the producer has:
`install()` runs deploy/install.sh inside exactly as an operator does (as root, into /, user
txf, venv, units, producer.env), with pip fed from a local wheelhouse because the container's
network namespace has no route out (an air-gapped server installs the same way:
PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR); `start_stack()` starts the project's local Kafka + registry
(stack/localstack.py) as a unit inside the container's own network namespace, on the
producer.env defaults, and registers the contract with `txf-registry register --topics`, as the
RUNBOOK's install step says. Probes that need that network (Kafka read-back, HTTP) run inside
through in_container.py.

Test drop-ins (documented overrides, never edits of the shipped units) go to
/etc/systemd/system/txf-producer.service.d/; `reset_producer()` removes them all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from systemd_container import ContainerError, SystemdContainer, leftovers, wait_until

REPO = Path(__file__).resolve().parents[2]
DEV_PYTHON = Path(sys.executable)  # the checkout's venv: its packages are visible inside through the overlay
PROBE = Path(__file__).with_name("in_container.py")
UNIT = "txf-producer.service"
PRODUCER = "/opt/txfstream/venv/bin/txf-producer"
STATE = "/var/lib/txfstream"
KAFKA = "127.0.0.1:19092"  # the local stack's defaults = .env.example's, so producer.env works unedited
REGISTRY = "http://127.0.0.1:18081/apis/ccompat/v7"
STACK_STATE = "/var/lib/txf-test-stack"
OVERRIDES = "/etc/txfstream/test-overrides.env"
STACK_UNIT_NAME = "txf-test-stack.service"


def _stack_unit(cache: Path) -> str:
    return f"""\
[Unit]
Description=Local Kafka + Apicurio registry for the tests (stack/localstack.py)

[Service]
# localstack.py starts both servers detached and exits; they stay in this unit's cgroup.
Type=oneshot
RemainAfterExit=yes
Environment=TXF_STACK_STATE={STACK_STATE} TXF_STACK_CACHE={cache} HOME=/root
ExecStart={DEV_PYTHON} {REPO}/stack/localstack.py up
ExecStop={DEV_PYTHON} {REPO}/stack/localstack.py down
TimeoutStartSec=180
"""


def wheelhouse() -> Path:
    """Wheels for the producer's venv, downloaded on the host (which reaches PyPI) once per pin set."""
    pins = hashlib.sha256(
        b"".join(
            (REPO / p).read_bytes()
            for p in (
                "gen/python/pyproject.toml",
                "kit/pyproject.toml",
                "producer/pyproject.toml",
                "arbiter/pyproject.toml",
                "schema-registry/pyproject.toml",
                "consumers/python/pyproject.toml",
                "archive/pyproject.toml",
            )
        )
    )
    target = Path.home() / ".cache" / "txfstream" / "wheels" / pins.hexdigest()[:16]
    done = target / ".complete"
    if not done.exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(DEV_PYTHON),
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--dest",
                str(target),
                str(REPO / "gen/python"),
                f"{REPO / 'kit'}[service]",
                str(REPO / "producer"),
                str(REPO / "arbiter"),
                str(REPO / "schema-registry"),
                str(REPO / "consumers/python"),
                str(REPO / "archive"),
                "setuptools>=77",
            ],
            check=True,
            cwd=REPO,
            timeout=600,
        )
        done.touch()
    return target


def stack_cache() -> Path:
    """The stack's download cache on the host, fetched here if missing (the container cannot download)."""
    sys.path.insert(0, str(REPO))
    from stack import localstack

    cfg = localstack.StackConfig.from_env()
    localstack.fetch(cfg, log=lambda m: print(f"[stack] {m}", file=sys.stderr))
    return cfg.cache_dir


class ProducerContainer(SystemdContainer):
    """A container with the stack unit in it; install() and start_stack() make it a producer host."""

    def __init__(self, name: str) -> None:
        super().__init__({STACK_UNIT_NAME: _stack_unit(stack_cache())}, name=name)
        self._wheels = wheelhouse()

    def install(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """deploy/install.sh ARGS inside, as root on the container's /."""
        return self.run(
            "bash",
            str(REPO / "deploy/install.sh"),
            *args,
            check=check,
            timeout=300,
            env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(self._wheels)},
        )

    def start_stack(self) -> None:
        self.systemctl("start", STACK_UNIT_NAME, timeout=200)
        self.run(
            str(DEV_PYTHON.parent / "txf-registry"),
            "register",
            "--topics",
            timeout=120,
            env={"TXF_KAFKA_BOOTSTRAP": KAFKA, "TXF_REGISTRY_URL": REGISTRY},
        )

    def register_topics(self, prefix: str) -> None:
        """The contract registered and every declared topic created under `prefix` (a test's own topics)."""
        self.run(
            str(PRODUCER.replace("txf-producer", "txf-registry")),
            "--topic-prefix",
            prefix,
            "register",
            "--topics",
            timeout=120,
            env={"TXF_KAFKA_BOOTSTRAP": KAFKA, "TXF_REGISTRY_URL": REGISTRY},
        )

    def probe(self, *args: str) -> Any:
        """in_container.py ARGS inside; its JSON answer."""
        out = self.run(str(DEV_PYTHON), str(PROBE), *args, timeout=120, env={"TXF_KAFKA_BOOTSTRAP": KAFKA}).stdout
        return json.loads(out)

    def stack_pid(self, name: str) -> int:
        """Host PID of the stack's kafka or registry process (from localstack's PID file)."""
        inner = int(self.run("cat", f"{STACK_STATE}/{name}.pid").stdout)
        return self.host_pid(inner)

    # --- the producer unit ---------------------------------------------------------------------

    def test_drop_in(self, name: str, text: str) -> None:
        """A test override of txf-producer.service (removed by reset_producer)."""
        self.drop_in(UNIT, name, text)

    def settings(self, **values: str) -> None:
        """Producer settings over producer.env: a second EnvironmentFile= (later files win).

        Environment= in a drop-in would NOT do: systemd lets EnvironmentFile= override Environment=.
        """
        self.write(OVERRIDES, "".join(f"{k}={v}\n" for k, v in values.items()), mode=0o640)
        self.test_drop_in("20-settings", f"[Service]\nEnvironmentFile={OVERRIDES}\n")

    def use_sim(self, *args: str) -> None:
        """Run the simulator instead of Shioaji (no credentials here); every other line of the unit stays."""
        self.test_drop_in("10-sim", f"[Service]\nExecStart=\nExecStart={PRODUCER} run --source sim {' '.join(args)}\n")

    def reset_producer(self) -> None:
        """Stopped, not failed, no test drop-ins, no leftovers in the state directory but the exit counts."""
        self.systemctl("stop", UNIT)
        self.run("rm", "-rf", f"/etc/systemd/system/{UNIT}.d", OVERRIDES)
        self.systemctl("daemon-reload")
        self.systemctl("reset-failed", UNIT, check=False)
        self.sh(f"find {STATE} -mindepth 1 -maxdepth 1 ! -name service-exits.json -exec rm -rf {{}} +")

    def mark(self) -> str:
        """Now, as a journal position: entries(mark) shows only what is logged from here on.

        A time, not a cursor: `journalctl -n 1` (the last entry) can lag an entry of systemd's own
        that is logged right after it, which an --after-cursor filter then drops.
        """
        return f"@{time.time():.6f}"

    def entries(self, since: str, *args: str) -> list[dict[str, Any]]:
        """Journal entries since a mark (all if ""), optionally filtered by ARGS (-u UNIT, -p warning)."""
        cmd = ["journalctl", "--no-pager", "-o", "json", *args]
        if since:
            cmd.append(f"--since={since}")
        out = self.run(*cmd, timeout=60).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def messages(self, after: str, *args: str) -> list[str]:
        return [str(e.get("MESSAGE", "")) for e in self.entries(after, *args)]

    def wait_state(self, unit: str, states: tuple[str, ...], timeout: float) -> str:
        def reached() -> str | None:
            state = self.prop(unit, "ActiveState")
            return state if state in states else None

        return wait_until(reached, timeout, f"{unit} to reach {'/'.join(states)}", interval=0.1)

    def wait_journal(self, since: str, text: str, timeout: float, *args: str) -> dict[str, Any]:
        """The first journal entry since a mark whose MESSAGE contains text."""

        def found() -> dict[str, Any] | None:
            return next((e for e in self.entries(since, *args) if text in str(e.get("MESSAGE", ""))), None)

        try:
            return wait_until(found, timeout, f"journal line {text!r}", interval=0.2)
        except ContainerError as exc:
            raise ContainerError(f"{exc}; logged meanwhile:\n" + "\n".join(self.messages(since, *args))) from None


def entry_time(entry: dict[str, Any]) -> float:
    """A journal entry's realtime stamp in seconds."""
    return int(entry["__REALTIME_TIMESTAMP"]) / 1e6


@contextlib.contextmanager
def booted(name: str) -> Iterator[ProducerContainer]:
    """A ProducerContainer for one test module; after power-off, nothing of it may remain on the host."""
    container = ProducerContainer(name)
    with container:
        yield container
    left = [item for item in leftovers() if container.id in item]
    assert not left, f"left behind on the host: {left}"
