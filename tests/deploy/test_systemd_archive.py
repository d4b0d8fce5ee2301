"""txf-archive.service under a real systemd (one container boot; containerkit.py): installed by
`install.sh --archive` as on a server, with every line of the shipped unit in force (hardening, the
user, the state directory). It archives what the producer published, comes back by itself after a
SIGKILL without losing or doubling a row, and stops cleanly (exit 0) on `systemctl stop`.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from containerkit import DEV_PYTHON, PRODUCER, ProducerContainer, booted
from systemd_container import wait_until

pytestmark = pytest.mark.integration
UNIT = "txf-archive.service"
ROOT = "/var/lib/txf-archive"
QUOTES = 3000
COUNT = f"""
import json, sys
from txf_archive import Archive
a = Archive("{ROOT}")
offsets = lambda k: [o for d in a.days(k) for o in a.arrow(k, d).column("kafka_offset").to_pylist()]
rows = {{k: offsets(k) for k in ("tick", "bidask")}}
print(json.dumps({{k: [len(v), len(set(v))] for k, v in rows.items()}}))
"""


@pytest.fixture(scope="module")
def host() -> Iterator[ProducerContainer]:
    with booted("archive") as c:
        c.installed = c.install("--schedule", "none", "--archive")  # type: ignore[attr-defined]
        c.start_stack()
        yield c


def _counts(c: ProducerContainer) -> dict[str, list[int]]:
    out = c.run(str(DEV_PYTHON), "-c", COUNT, timeout=60, check=False)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def _archived(c: ProducerContainer) -> int:
    counts = _counts(c)
    assert all(n == unique for n, unique in counts.values()), counts  # never a duplicate offset
    return sum(n for n, _ in counts.values())


def test_archive_unit_archives_comes_back_after_sigkill_and_stops_cleanly(host: ProducerContainer) -> None:
    c = host
    assert "done: pip install txf-consumer + txf-archive" in c.installed.stdout  # type: ignore[attr-defined]
    c.run(
        PRODUCER,
        "run",
        "--source",
        "sim",
        "--max-messages",
        str(QUOTES),
        timeout=120,
        env={"TXF_STATE_DIR": "/tmp/producer", "TXF_METRICS_PORT": "0"},
    )
    # the archive's own settings file (optional, EnvironmentFile=-): segments every second, not every 30
    c.write("/etc/txfstream/archive.env", "TXF_ARCHIVE_ROLL_S=1\n", mode=0o640)
    c.systemctl("start", UNIT)
    wait_until(lambda: _archived(c) == QUOTES, 60, f"{QUOTES} quotes archived")
    pid = c.main_pid(UNIT)
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    assert status["NoNewPrivs"].strip() == "1" and int(status["CapEff"], 16) == 0
    metrics = c.probe("http", "http://127.0.0.1:9466/metrics")  # the unit's TXF_ARCHIVE_METRICS_PORT
    assert metrics["status"] == 200, metrics
    for series in (
        'txf_archive_rows_written_total{type="bidask"}',
        "txf_archive_files_written_total",
        "txf_archive_bytes_written_total",
        'txf_archive_lag_records{partition="0",topic="txf-bidask"} 0.0',
    ):
        assert series in metrics["body"], series
    owner = c.run("stat", "-c", "%U %a", *c.sh(f"find {ROOT} -name '*.parquet'").stdout.split()).stdout.split("\n")
    assert {line for line in owner if line} == {"txf 640"}  # UMask=0027, as txf

    os.kill(pid, signal.SIGKILL)  # Restart=always brings it back
    wait_until(
        lambda: c.show(UNIT, "NRestarts", "ActiveState") == {"NRestarts": "1", "ActiveState": "active"},
        30,
        "the archiver restarted after SIGKILL",
    )
    c.run(
        PRODUCER,
        "run",
        "--source",
        "sim",
        "--max-messages",
        str(QUOTES),
        "--seed",
        "2",
        timeout=120,
        env={"TXF_STATE_DIR": "/tmp/producer", "TXF_METRICS_PORT": "0"},
    )
    wait_until(lambda: _archived(c) == 2 * QUOTES, 60, "the second batch archived after the restart")

    c.systemctl("stop", UNIT)
    shown = c.show(UNIT, "Result", "ExecMainStatus", "ActiveState")
    assert (shown["Result"], shown["ExecMainStatus"], shown["ActiveState"]) == ("success", "0", "inactive"), shown
    assert _archived(c) == 2 * QUOTES
