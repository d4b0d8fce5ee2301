"""A real systemd (the host's own, 252) booted as PID 1 in Linux namespaces: test infrastructure.

Why: unit files, timers and crontabs are only proven by a real service manager. Reading them
catches typos; only systemd shows that a hardening line breaks the producer, that the watchdog
fires, that a timer starts the service. Docker is not available on the project's machines, so
the container is made here from plain namespaces (REFERENCE.md §8):

    host                                    container (new PID, mount, net, UTS, IPC, cgroup ns)
    Popen(unshare --pid --fork ...) ──────> systemd_container_stage.sh (PID 1) ──exec──> systemd
    SystemdContainer.run(...) = nsenter --target <systemd's host PID> --mount --net --pid ... -- CMD

The root file system is an overlay of the host's / with a tmpfs upper layer, so everything the
tests install (install.sh into /opt and /etc, useradd, a venv) stays inside; /etc/systemd/system
is a tmpfs holding only the units given, so the host's enabled services never start. The network
namespace is private (its loopback is brought up by systemd): start Kafka and the registry inside.

Clean-up contract (tests/deploy/test_systemd_container.py checks it): `close()` powers systemd
off by PID (SIGRTMIN+4, the documented clean poweroff), SIGKILLs it by PID after a bound (which
kills the whole PID namespace), then removes the cgroup directories it created depth-first.
All mounts were made inside the private mount namespace and vanish with it; nothing is ever
killed by name.

Limits: the container runs as the real root with CAP_SYS_ADMIN (trusted test units only);
resource controls (MemoryMax=, CPUQuota=) are not enforced because the host binds its cgroup
controllers to cgroup v1; the host's / is shared read-only, so the container sees the checkout,
the venv and the download caches at their host paths.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

STAGE = Path(__file__).with_name("systemd_container_stage.sh")
SYSTEMD = Path("/lib/systemd/systemd")
CGROUP2_ROOT = Path("/sys/fs/cgroup/unified")  # this host is hybrid: cgroup2 here, controllers on v1
NSENTER = ["nsenter", "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd"]
TEST_TARGET = "txf-test.target"
# The container's default target: the basic system (journald, sockets, timers) and nothing of the
# host's multi-user set (getty, logind, dbus); units under test are started or enabled by the tests.
TEST_TARGET_UNIT = """\
[Unit]
Description=txfstream test container
Requires=basic.target
After=basic.target
AllowIsolate=yes
"""

T = TypeVar("T")


class ContainerError(RuntimeError):
    """The container did not boot, or a command in it failed; the message says which and why."""


def supported() -> str | None:
    """None if this host can boot the container, else the reason (root, systemd 252, unshare, cgroup2)."""
    if os.geteuid() != 0:
        return "needs root (namespaces, mounts, cgroups)"
    for tool in ("unshare", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} (util-linux) is not installed"
    if not SYSTEMD.exists():
        return f"{SYSTEMD} is not installed"
    if not (CGROUP2_ROOT / "cgroup.procs").exists():
        return f"no cgroup2 hierarchy at {CGROUP2_ROOT}"
    return None


def wait_until(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll `check` until it returns something other than None/False, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise ContainerError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class SystemdContainer:
    """One booted systemd; use as a context manager (boots on enter, powers off and cleans on exit).

    `units` maps unit file names to their text; they are the only units in /etc/systemd/system at
    boot (install.sh adds its own later, as on a server).
    """

    def __init__(self, units: Mapping[str, str] | None = None, *, name: str = "txf") -> None:
        self.id = f"{name}-{uuid.uuid4().hex[:8]}"
        self.units = {TEST_TARGET: TEST_TARGET_UNIT, **(units or {})}
        self.cgroup = CGROUP2_ROOT / f"txf-container-{self.id}"
        self._dir: Path | None = None
        self._outer: subprocess.Popen[bytes] | None = None
        self.pid = 0  # systemd's PID in the host's PID namespace
        self.boot_seconds = 0.0

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> SystemdContainer:
        try:
            self.boot()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def boot(self, timeout: float = 60.0) -> None:
        """Start systemd in new namespaces and wait until `is-system-running` settles."""
        why = supported()
        if why:
            raise ContainerError(f"cannot boot a systemd container here: {why}")
        t0 = time.monotonic()
        self._dir = Path(tempfile.mkdtemp(prefix=f"txf-container-{self.id}-"))
        units_dir = self._dir / "units"
        units_dir.mkdir()
        for unit_name, text in self.units.items():
            (units_dir / unit_name).write_text(text)
        mnt = self._dir / "mnt"
        mnt.mkdir()
        self.cgroup.mkdir()
        log = open(self._dir / "stage.log", "wb")  # noqa: SIM115 - closed in close()
        self._stage_log = log
        self._outer = subprocess.Popen(
            [
                "unshare",
                "--pid",
                "--fork",
                "--mount",
                "--mount-proc",
                "--net",
                "--uts",
                "--ipc",
                "--propagation",
                "private",
                "bash",
                str(STAGE),
                "enter",
                str(self.cgroup),
                str(mnt),
                str(units_dir),
                TEST_TARGET,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = wait_until(self._find_systemd, timeout, f"systemd to start as PID 1 ({self._stage_tail()})")
        state = ""

        def settled() -> bool:
            nonlocal state
            proc = self.run("systemctl", "is-system-running", check=False, timeout=10)
            state = proc.stdout.strip()
            return state in ("running", "degraded")

        try:
            wait_until(settled, timeout, "systemctl is-system-running", interval=0.2)
        except ContainerError as exc:
            raise ContainerError(
                f"{exc}: state {state!r}; failed units: "
                f"{self.run('systemctl', '--failed', '--no-legend', check=False).stdout}"
            ) from None
        if state == "degraded":
            failed = self.run("systemctl", "--failed", "--no-legend", "--plain", check=False).stdout
            raise ContainerError(f"the container booted degraded; failed units:\n{failed}")
        self.boot_seconds = time.monotonic() - t0

    def _stage_tail(self) -> str:
        assert self._dir is not None
        text = (self._dir / "stage.log").read_text(errors="replace").strip()
        return text[-800:] or "no output from the stage script"

    def _find_systemd(self) -> int | None:
        """systemd's host PID: the process in our cgroup tree that runs the systemd binary."""
        if self._outer is not None and self._outer.poll() is not None:
            raise ContainerError(
                f"the container exited with {self._outer.returncode} before systemd ran: {self._stage_tail()}"
            )
        target = os.path.realpath(SYSTEMD)
        for procs in [self.cgroup / "cgroup.procs", *self.cgroup.glob("*/cgroup.procs")]:
            try:
                pids = procs.read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    if os.readlink(f"/proc/{pid}/exe") == target:
                        return int(pid)
                except OSError:
                    continue
        return None

    def close(self, timeout: float = 30.0) -> None:
        """Power off (SIGRTMIN+4), SIGKILL after `timeout`, reap, remove our cgroups and temp files."""
        if self._outer is not None:
            if self._outer.poll() is None and self.pid:
                _signal(self.pid, signal.SIGRTMIN + 4)
            try:
                self._outer.wait(timeout)
            except subprocess.TimeoutExpired:
                if self.pid:
                    _signal(self.pid, signal.SIGKILL)  # PID 1 of the namespace: takes every process with it
                try:
                    self._outer.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self._outer.pid, signal.SIGKILL)  # the unshare process itself (our own child)
                    self._outer.wait(10)
            self._outer = None
            self._stage_log.close()
        if self.cgroup.exists():
            _remove_cgroup_tree(self.cgroup)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self.pid = 0

    # --- commands inside ---------------------------------------------------------------------

    def run(
        self,
        *cmd: str,
        check: bool = True,
        timeout: float = 60.0,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside (all of systemd's namespaces, its root, as root); text output."""
        if not self.pid:
            raise ContainerError("the container is not running")
        full_env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "SYSTEMD_PAGER": "",
            "SYSTEMD_COLORS": "0",
            **(env or {}),
        }
        proc = subprocess.run(
            ["nsenter", "--target", str(self.pid), *NSENTER[1:], "--", *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            env=full_env,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise ContainerError(
                f"`{shlex.join(cmd)}` exited {proc.returncode} in the container:\n"
                f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
            )
        return proc

    def sh(self, script: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run a bash script inside (set -euo pipefail)."""
        return self.run("bash", "-c", "set -euo pipefail\n" + script, **kwargs)  # type: ignore[arg-type]

    def systemctl(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--no-pager", *args, check=check, timeout=timeout)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        """`systemctl show -p ...` as a dict."""
        out = self.systemctl("show", unit, *(f"--property={p}" for p in props)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def prop(self, unit: str, name: str) -> str:
        return self.show(unit, name).get(name, "")

    def journal(self, *args: str) -> str:
        """journalctl output (no pager, no hostname noise with -o cat unless args say otherwise)."""
        return self.run("journalctl", "--no-pager", *args, timeout=60).stdout

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        """Write a file inside the container (through its root)."""
        self.run("install", "-D", "-m", f"{mode:o}", "/dev/stdin", path, input=text)

    def drop_in(self, unit: str, name: str, text: str) -> None:
        """A drop-in /etc/systemd/system/<unit>.d/<name>.conf, then daemon-reload."""
        self.write(f"/etc/systemd/system/{unit}.d/{name}.conf", text)
        self.systemctl("daemon-reload")

    def remove_drop_in(self, unit: str, name: str) -> None:
        self.run("rm", "-f", f"/etc/systemd/system/{unit}.d/{name}.conf")
        self.systemctl("daemon-reload")

    def main_pid(self, unit: str) -> int:
        """The unit's MainPID as the HOST sees it (0 if none), for signals sent from the host."""
        inner = int(self.prop(unit, "MainPID") or 0)
        if not inner:
            return 0
        return self.host_pid(inner)

    def live_main_pid(self, unit: str) -> int:
        """Like main_pid, but 0 while the MainPID systemd reports has already exited (killed, not yet
        reaped by systemd): for polling a restart, where that window is expected, never for signalling."""
        inner = int(self.prop(unit, "MainPID") or 0)
        if not inner:
            return 0
        try:
            return self.host_pid(inner)
        except ContainerError:
            return 0

    def host_pid(self, inner: int) -> int:
        """Translate a PID of the container's namespace to the host's (via NSpid in /proc). The cgroup
        tree is walked while systemd changes it (a killed unit's cgroup goes): what vanishes is skipped."""
        for where, _dirs, files in os.walk(self.cgroup):  # os.walk ignores a directory gone mid-walk
            if "cgroup.procs" not in files:
                continue
            try:
                pids = (Path(where) / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("NSpid:") and line.split()[-1] == str(inner):
                        return int(pid)
        raise ContainerError(f"no host process for container PID {inner}")


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _remove_cgroup_tree(root: Path, timeout: float = 10.0) -> None:
    """rmdir every cgroup below `root`, deepest first; waits (bounded) for them to empty."""

    def depth_first(path: Path) -> Iterable[Path]:
        for child in sorted(p for p in path.iterdir() if p.is_dir()):
            yield from depth_first(child)
        yield path

    deadline = time.monotonic() + timeout
    while True:
        try:
            for path in depth_first(root):
                path.rmdir()
            return
        except FileNotFoundError:
            continue
        except OSError as exc:  # EBUSY: a process is still exiting
            if time.monotonic() > deadline:
                raise ContainerError(f"cgroup {root} not removable: {exc}") from None
            time.sleep(0.05)


def leftovers() -> list[str]:
    """Mounts and cgroups of ours still present on the host (should always be empty)."""
    found = [line for line in Path("/proc/mounts").read_text().splitlines() if "txf-container" in line]
    found += [str(p) for p in CGROUP2_ROOT.glob("txf-container-*")]
    found += [str(p) for p in Path(tempfile.gettempdir()).glob("txf-container-*")]
    return found
