"""The container harness itself (systemd_container.py): a real systemd as PID 1, isolated from the
host, and nothing left behind (mounts, cgroups, processes, temp files) once powered off."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from systemd_container import SystemdContainer, leftovers

pytestmark = pytest.mark.integration


def test_boots_systemd_as_pid_1_isolated_and_leaves_nothing_behind() -> None:
    unit = "[Unit]\nDescription=probe\n[Service]\nType=oneshot\nExecStart=/bin/true\n"
    with SystemdContainer({"txf-probe.service": unit}, name="selftest") as c:
        pid, cgroup = c.pid, c.cgroup
        assert os.path.realpath(f"/proc/{pid}/exe") == os.path.realpath("/lib/systemd/systemd")
        assert c.run("cat", "/proc/1/comm").stdout.strip() == "systemd"
        assert c.run("systemctl", "is-system-running").stdout.strip() == "running"
        assert c.run("hostname").stdout.strip() == "txf-container"
        links = c.run("ip", "-o", "link").stdout.splitlines()
        assert len(links) == 1 and ": lo:" in links[0] and "UP" in links[0]  # private network, loopback up
        units = set(c.run("ls", "/etc/systemd/system").stdout.split())
        assert units == {"txf-probe.service", "txf-test.target"}  # none of the host's units
        assert c.run("readlink", "/etc/localtime").stdout.strip().endswith("Asia/Taipei")
        c.systemctl("start", "txf-probe.service")
        assert c.prop("txf-probe.service", "Result") == "success"
        c.write("/etc/txf-container-probe", "inside only\n")  # the overlay keeps it from the host
        assert not Path("/etc/txf-container-probe").exists()
        print(f"FIGURE container boot to running: {c.boot_seconds:.2f} s")
    assert not Path(f"/proc/{pid}").exists()
    assert not cgroup.exists()
    assert leftovers() == [] or all(c.id not in item for item in leftovers())
