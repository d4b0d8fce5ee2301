"""A program in a real terminal, as a person runs it: a detached tmux pane of a private tmux server.

Used by the live-view test (tests/consumer) and by `make bench-live`, which
measure and read `txf-consume --output live` the way a trader sees it: tmux
emulates the terminal, so what `capture()` returns is what is on the screen.
The server has its own socket in a temporary folder (never the user's tmux),
starts with the pane and is stopped by `close()` (`kill-server` on that
socket).

The program runs under a small `sh` (as from a person's shell), which prints
`[exit N]` when it ends and then waits to be closed, so the last screen and
the exit status can still be read. Why not tmux's own remain-on-exit and
pane_dead_status: tmux 3.3a sometimes left the ended program a zombie and the
pane alive (seen 2 times in 5 with `txf-consume --output live` after Ctrl-C).
The shell ignores nothing: its INT trap only keeps it alive past Ctrl-C, and
the program starts with the default signal dispositions.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

TMUX = "tmux"
#: Runs "$@", then prints its exit status and waits until the server is stopped.
WRAPPER = 'trap : INT; "$@"; echo "[exit $?]"; while :; do sleep 3600; done'
EXIT_LINE = re.compile(r"^\[exit (\d+)\]$", re.MULTILINE)


class TmuxPane:
    """`command` running in a width x height tmux pane."""

    def __init__(
        self,
        command: Sequence[str],
        width: int = 160,
        height: int = 45,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        if shutil.which(TMUX) is None:
            raise RuntimeError("tmux is not installed: run tools/bootstrap.sh (it installs the Debian package)")
        self._dir = Path(tempfile.mkdtemp(prefix="txf-tmux-"))
        self.socket = self._dir / "tmux.sock"
        conf = self._dir / "tmux.conf"
        conf.write_text("set-option -g status off\n", encoding="utf-8")
        self._base = [TMUX, "-S", str(self.socket), "-f", str(conf)]
        # the server inherits this environment, and the pane's program inherits the server's; the pane's
        # size comes from its terminal, never from COLUMNS/LINES (pytest-xdist's workers set 80x24)
        server_env = {k: v for k, v in (os.environ if env is None else env).items() if k not in ("COLUMNS", "LINES")}
        subprocess.run(
            [
                *self._base,
                "new-session",
                "-d",
                "-s",
                "pane",
                "-x",
                str(width),
                "-y",
                str(height),
                shlex.join(["sh", "-c", WRAPPER, "sh", *command]),
            ],
            check=True,
            env=server_env,
            cwd=str(cwd) if cwd is not None else None,
            capture_output=True,
            timeout=30,
        )

    def _tmux(self, *args: str) -> str:
        return subprocess.run([*self._base, *args], check=True, capture_output=True, text=True, timeout=30).stdout

    def capture(self) -> str:
        """The visible screen as plain text, one line per row."""
        return self._tmux("capture-pane", "-p", "-t", "pane")

    def wait_for(self, condition: Callable[[str], bool], timeout_s: float = 60.0, every_s: float = 0.1) -> str:
        """The first screen that satisfies `condition`; AssertionError with the last screen at the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            screen = self.capture()
            if condition(screen):
                return screen
            if time.monotonic() >= deadline:
                raise AssertionError(f"screen not as expected within {timeout_s:g} s; last screen:\n{screen}")
            time.sleep(every_s)  # polling interval of a deadline-bounded wait

    def send_keys(self, *keys: str) -> None:
        """Type keys into the pane (tmux key names, e.g. "C-c")."""
        self._tmux("send-keys", "-t", "pane", *keys)

    def exit_status(self) -> int | None:
        """The program's exit status once it has ended (as the shell reports it: 128 + N for signal N)."""
        found = EXIT_LINE.findall(self.capture())
        return int(found[-1]) if found else None

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        """Wait until the program ends; its exit status."""
        deadline = time.monotonic() + timeout_s
        while (status := self.exit_status()) is None:
            if time.monotonic() >= deadline:
                raise AssertionError(f"the pane's program still runs after {timeout_s:g} s:\n{self.capture()}")
            time.sleep(0.1)  # polling interval of a deadline-bounded wait
        return status

    def close(self) -> None:
        """Stop this pane's tmux server (and with it the program, if it still runs); remove the socket folder."""
        subprocess.run([*self._base, "kill-server"], capture_output=True, timeout=30)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> TmuxPane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
