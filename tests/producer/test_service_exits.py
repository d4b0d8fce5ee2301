"""Service exit counts: recorded by ExecStopPost (deploy/bin/txf-record-exit), exported by the producer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from txf_kit import exits as service_exits
from txf_producer.metrics import LatencyHistogram, ProducerCollector

RECORDER = Path(__file__).resolve().parents[2] / "deploy" / "bin" / "txf-record-exit"


def test_counts_start_at_zero_for_every_result_and_survive_a_bad_file(tmp_path: Path) -> None:
    assert service_exits.counts(tmp_path) == dict.fromkeys(service_exits.RESULTS, 0)
    (tmp_path / service_exits.FILE_NAME).write_text("{not json")
    assert service_exits.counts(tmp_path)["watchdog"] == 0


def test_recorder_counts_what_systemd_reports(tmp_path: Path) -> None:
    env = {**os.environ, "TXF_STATE_DIR": str(tmp_path), "EXIT_CODE": "killed", "EXIT_STATUS": "ABRT"}
    for result in ("watchdog", "watchdog", "success"):
        proc = subprocess.run(
            [sys.executable, str(RECORDER)],
            env={**env, "SERVICE_RESULT": result},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
    assert "result=success code=killed status=ABRT (success #1)" in proc.stderr
    counts = service_exits.counts(tmp_path)
    assert (counts["watchdog"], counts["success"], counts["exit-code"]) == (2, 1, 0)
    outside = subprocess.run(
        [sys.executable, str(RECORDER)], env={k: v for k, v in env.items()}, capture_output=True, text=True, timeout=30
    )
    assert outside.returncode == 0 and "nothing recorded" in outside.stderr
    assert service_exits.counts(tmp_path)["watchdog"] == 2


def test_collector_exports_exits_feed_state_and_queue_capacity(tmp_path: Path) -> None:
    service_exits.record(tmp_path, "watchdog")
    snapshot = {"feed": "stalled", "queue": 7, "queue_max": 100_000, "service_exits": service_exits.counts(tmp_path)}
    registry = CollectorRegistry()
    registry.register(ProducerCollector(lambda: snapshot, LatencyHistogram()))
    text = generate_latest(registry).decode()
    assert 'txf_service_exits_total{result="watchdog"} 1.0' in text
    assert 'txf_service_exits_total{result="exit-code"} 0.0' in text
    assert 'txf_feed_state{state="stalled"} 1.0' in text and 'txf_feed_state{state="flowing"} 0.0' in text
    assert "txf_queue_max_messages 100000.0" in text and "txf_queue_depth 7.0" in text
