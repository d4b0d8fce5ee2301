"""The benchmarks' code runs and reports what it claims (tiny sizes; their figures are not judged here).

`make bench` is run by hand, not in CI, so without this a change to the
publisher or the simulator could leave it broken unnoticed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import bench_producer  # noqa: E402
import live_consumers  # noqa: E402
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402


@pytest.mark.integration
def test_micro_and_paced_benchmarks_report_every_variant(stack) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(
        [str(Path(sys.executable).parent / "txf-registry"), "register"],
        check=True,
        capture_output=True,
        env={**os.environ, "TXF_REGISTRY_URL": stack.registry_url},
    )
    registry = SchemaRegistryClient({"url": stack.registry_url, "timeout": 10})
    micro = bench_producer.micro(argparse.Namespace(messages=300, rounds=2), registry)
    assert set(micro) == {"ours_us", "seed_style_us", "seed_style_full_us", "floor_us", "serializing_producer_us"}
    assert all(v > 0 for v in micro.values()), micro
    paced = bench_producer.paced_side_by_side(argparse.Namespace(paced_seconds=1))
    for name in ("read_only", "seed_style", "ours"):
        assert 0 < paced[f"paced_{name}_p50_us"] <= paced[f"paced_{name}_p99_us"], paced


@pytest.mark.integration
def test_consumer_benchmark_measures_the_python_consumers_as_shipped(stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`make bench-live`'s consumer phases, tiny: the probes, the pipe reader, the live view in tmux, the acks."""
    cmds = live_consumers.build(tmp_path, compile_=False)
    names = ("python-lib", "python-jsonl", "live-view")
    r = live_consumers.latency_phase(stack, cmds, rate=200, seconds=3, tmp=tmp_path, label="smoke", names=names)
    assert r["published"] == 600 and r[live_consumers.BASELINE]["n"] > 0
    for name in names:
        f = r[name]
        assert f["handed_over"] == f["unique"] == 600, (name, f)
        assert 0 < f["p50_ms"] <= f["p99_ms"] <= f["p999_ms"] and f["over_ack_p50_ms"] is not None, (name, f)
    assert r["live-view"]["exit_line"] == "[exit 0]" and r["live-view"]["tracker_loss"] == 0
    topics = live_consumers.new_topics(stack, "smoke")
    live_consumers.finish_producer(live_consumers.start_producer(stack, topics, tmp_path, 3000, None), 120)
    n = live_consumers.high_watermarks(stack, topics)
    up = live_consumers.catch_up(stack, cmds, topics, n, tmp_path, "smoke", ("python-lib", "python-jsonl"))
    assert n == 3000 and all(c["records"] == n and c["records_per_s"] > 0 for c in up.values()), up
    live_consumers.delete_topics(stack, topics)
