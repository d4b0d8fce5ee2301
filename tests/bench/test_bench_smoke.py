"""The producer benchmark's code runs and reports what it claims (tiny sizes; its figures are not judged here).

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
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402


@pytest.mark.integration
def test_micro_and_paced_benchmarks_report_every_variant(stack) -> None:  # type: ignore[no-untyped-def]
    subprocess.run([str(Path(sys.executable).parent / "txf-registry"), "register"], check=True, capture_output=True,
                   env={**os.environ, "TXF_REGISTRY_URL": stack.registry_url})
    registry = SchemaRegistryClient({"url": stack.registry_url, "timeout": 10})
    micro = bench_producer.micro(argparse.Namespace(messages=300, rounds=2), registry)
    assert set(micro) == {"ours_us", "seed_style_us", "seed_style_full_us", "floor_us", "serializing_producer_us"}
    assert all(v > 0 for v in micro.values()), micro
    paced = bench_producer.paced_side_by_side(argparse.Namespace(paced_seconds=1))
    for name in ("read_only", "seed_style", "ours"):
        assert 0 < paced[f"paced_{name}_p50_us"] <= paced[f"paced_{name}_p99_us"], paced
