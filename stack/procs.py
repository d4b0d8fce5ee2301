"""The stack's processes: started detached, remembered by PID file, signalled only when provably ours.

A PID file can outlive its process and the PID be reused by anything. So a process is "ours" only
while its command line carries this state directory's tag (`-Dtxfstream.stack=<state dir>`) and
the mark of what it should be (a Kafka node's own properties file, the registry's jar); nothing is
ever signalled by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from stack.config import Log, StackConfig


def cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:  # no /proc (macOS)
        res = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True, text=True)
        return res.stdout.strip() or None
    except OSError:
        return None


def alive(pid: int) -> bool:
    try:  # reap it if it is our own child (pytest fixture), so a zombie does not count as running
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def marks(cfg: StackConfig, name: str) -> tuple[str, ...]:
    """What the command line of our process `name` must contain besides the state dir's tag."""
    if name == "registry":
        return ("quarkus-run.jar",)
    return ("kafka.Kafka", str(cfg.properties_file(name)))


def is_ours(cfg: StackConfig, pid: int, name: str) -> bool:
    cmd = cmdline(pid)
    return bool(cmd) and cfg.tag in str(cmd) and all(m in str(cmd) for m in marks(cfg, name))


def running_pid(cfg: StackConfig, name: str) -> int | None:
    """PID from <state>/<name>.pid if that process is alive and is ours; a stale file is removed."""
    pf = cfg.pid_file(name)
    try:
        pid = int(pf.read_text().strip())
    except (OSError, ValueError):
        return None
    if alive(pid) and is_ours(cfg, pid, name):
        return pid
    pf.unlink(missing_ok=True)
    return None


def spawn(cfg: StackConfig, name: str, cmd: list[str], cwd: Path, fresh_log: bool = False) -> int:
    """Start `cmd` detached (own session, output to <name>.log), write <name>.pid; returns the PID."""
    log_path = cfg.log_file(name)
    with open(log_path, "wb" if fresh_log else "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    cfg.pid_file(name).write_text(f"{proc.pid}\n")
    return proc.pid


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def stop_processes(cfg: StackConfig, names: list[str], log: Log, grace: float = 30.0) -> list[str]:
    """SIGTERM every one of our processes `names` at once, SIGKILL those still there `grace` seconds
    later; returns the names that were running. Stale or foreign PID files are removed, never signalled."""
    targets: dict[str, int] = {}
    for name in names:
        pf = cfg.pid_file(name)
        try:
            pid = int(pf.read_text().strip())
        except (OSError, ValueError):
            pf.unlink(missing_ok=True)
            continue
        if not alive(pid):
            log(f"{name}: not running (stale PID file {pid} removed)")
            pf.unlink(missing_ok=True)
        elif not is_ours(cfg, pid, name):
            log(f"{name}: PID {pid} from {pf} is not our {name} process any more; not signalling it, removing the file")
            pf.unlink(missing_ok=True)
        else:
            targets[name] = pid
    for pid in targets.values():
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, pid in targets.items():
        how = "stopped"
        if not _wait_gone(pid, max(0.0, deadline - time.monotonic())):
            if is_ours(cfg, pid, name):
                os.kill(pid, signal.SIGKILL)
                how = f"killed (no exit {grace:.0f} s after SIGTERM)"
            _wait_gone(pid, 10)
        cfg.pid_file(name).unlink(missing_ok=True)
        log(f"{name}: {how} (PID {pid})")
    return list(targets)


def stop_process(cfg: StackConfig, name: str, log: Log, grace: float = 30.0) -> bool:
    """SIGTERM our process `name`, SIGKILL it `grace` seconds later; False when none of ours ran."""
    return bool(stop_processes(cfg, [name], log, grace))


def kill_process(cfg: StackConfig, name: str) -> int:
    """SIGKILL our process `name` by its PID (a crash: no shutdown, no flush); returns the PID."""
    from stack.config import StackError

    pid = running_pid(cfg, name)
    if pid is None:
        raise StackError(f"no {name} of ours is running for {cfg.state_dir}")
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, 10)
    cfg.pid_file(name).unlink(missing_ok=True)
    return pid


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
