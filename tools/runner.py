"""The shipped programs as processes of one run: each with its log file, stopped by its own PID.

`make pipeline` and the nemesis campaign start the real console scripts (txf-producer, txf-arbiter,
txf-archive, txf-consume) from the checkout's venv, exactly as a user runs them, each with an
environment of its own (never this process's TXF_* settings). Every process is stopped by the PID it
was started with, never by name; `close()` stops whatever is still running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BIN = Path(sys.executable).parent


@dataclass
class Runner:
    """Processes by name, their logs in `logs/`."""

    logs: Path
    base_env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _files: list[IO[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TXF_", "KAFKA_", "SHIOAJI_"))}
        env.update(self.base_env)
        env.update(extra)
        return env

    def start(self, name: str, args: list[str], *, foreground: bool = False, **extra: str) -> subprocess.Popen[bytes]:
        """Start `args` (args[0] a console script of the venv) as `name`; its output goes to logs/<name>.log,
        or to this terminal when `foreground`."""
        cmd = [str(BIN / args[0]), *args[1:]]
        if foreground:
            proc = subprocess.Popen(cmd, env=self.env(**extra))
        else:
            log = (self.logs / f"{name}.log").open("ab")
            self._files.append(log)
            proc = subprocess.Popen(cmd, env=self.env(**extra), stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_for_log(self, name: str, text: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.log(name):
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}: {self.log(name)[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not log {text!r} within {timeout_s:g} s: {self.log(name)[-2000:]}")
            time.sleep(0.1)

    def send_signal(self, name: str, sig: int) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, sig)

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        """Signal `name` by its PID and wait for it; SIGKILL after `timeout_s`. Its exit code."""
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, sig)
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def close(self) -> None:
        """Stop every process still running (SIGTERM, then SIGKILL), close the logs."""
        for name, proc in self.procs.items():
            if proc.poll() is None:
                self.stop(name, signal.SIGTERM, 30)
        for f in self._files:
            f.close()
