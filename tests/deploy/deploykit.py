"""Helpers for the deploy/ tests: unit-file parsing, time spans, the installer under a temp root.

Nothing here touches the real system: the installer only ever runs with --root <tmp>, and with
stub `systemctl`, `useradd`, `userdel`, `chown`, `getent` first on PATH that record any call
(tests assert there was none) and fail.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SYSTEMD = DEPLOY / "systemd"
BIN = DEPLOY / "bin"
CRONTAB = DEPLOY / "cron" / "txf-producer.crontab"
ENV_EXAMPLE = REPO / ".env.example"

MAIN_UNIT = "txf-producer.service"
ARBITER_UNIT = "txf-arbiter.service"
LEG_UNIT = "txf-producer@.service"  # one capture leg per instance (install.sh --legs)
SCHEDULE_UNITS = (
    "txf-producer-start.service",
    "txf-producer-start.timer",
    "txf-producer-stop.service",
    "txf-producer-stop.timer",
)
ARCHIVE_UNITS = (
    "txf-archive.service",
    "txf-archive-bars.service",
    "txf-archive-compact.service",
    "txf-archive-compact.timer",
)
ALL_UNITS = (MAIN_UNIT, ARBITER_UNIT, LEG_UNIT, *SCHEDULE_UNITS)
STUBBED = ("systemctl", "useradd", "userdel", "chown", "getent", "crontab")


# --------------------------------------------------------------------------- unit files
def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """{section: [(key, value), ...]} in file order (keys may repeat)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
            continue
        assert current is not None, f"{path}: directive outside a section: {raw!r}"
        key, _, value = line.partition("=")
        sections[current].append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def one(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}= expected once, found {found}"
    return found[0]


_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|sec|min|m|h|hr)?")
_UNIT_S = {None: 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "min": 60.0, "m": 60.0, "h": 3600.0, "hr": 3600.0}


def timespan_s(text: str) -> float:
    """systemd time span ("120s", "2min", "1min 30s", "600") in seconds."""
    parts = _SPAN.findall(text)
    assert parts and _SPAN.sub("", text).strip() == "", f"not a time span: {text!r}"
    return sum(float(n) * _UNIT_S[u or None] for n, u in parts)


# --------------------------------------------------------------------------- .env.example
def env_example() -> dict[str, str]:
    """TXF_* settings of .env.example with inline comments stripped (commented-out ones excluded)."""
    out = {}
    for raw in ENV_EXAMPLE.read_text().splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", raw)
        if m:
            out[m.group(1)] = re.sub(r"\s+#.*$", "", m.group(2)).strip()
    return out


# --------------------------------------------------------------------------- installer
@dataclass
class Run:
    code: int
    out: str
    err: str
    calls: list[str]

    @property
    def text(self) -> str:
        return self.out + self.err


def make_stubs(directory: Path) -> tuple[Path, Path]:
    """Stub commands that must never run under --root; returns (stub dir, call log)."""
    stubs = directory / "stubs"
    stubs.mkdir(exist_ok=True)
    log = directory / "stub-calls.log"
    log.touch()
    for name in STUBBED:
        script = stubs / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit 97\n')
        script.chmod(0o755)
    return stubs, log


def run_script(script: str, root: Path, *args: str, workdir: Path) -> Run:
    """Run deploy/<script> with --root `root` and stubbed system commands."""
    stubs, log = make_stubs(workdir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TXF_")}
    env["PATH"] = f"{stubs}:{env.get('PATH', '/usr/bin:/bin')}"
    proc = subprocess.run(
        ["bash", str(DEPLOY / script), "--root", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=120,
    )
    calls = [c for c in log.read_text().splitlines() if c]
    log.write_text("")
    return Run(proc.returncode, proc.stdout, proc.stderr, calls)


def install(root: Path, *args: str, workdir: Path) -> Run:
    return run_script("install.sh", root, "--skip-venv", *args, workdir=workdir)


def uninstall(root: Path, *args: str, workdir: Path) -> Run:
    return run_script("uninstall.sh", root, *args, workdir=workdir)


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything below root: type, mode, size, mtime, content hash, link target."""
    out: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = str(path.relative_to(root))
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", stat.S_IMODE(st.st_mode))
        else:
            out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)
