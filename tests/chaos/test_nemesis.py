"""The nemesis campaign's CI profile, as `make chaos` runs it: every fault kind over a compressed day, 0 violations.

A shorter day (`--profile ci`: ~170 s of market, ~100,000 quotes a seed) on fixed seeds; the full day
(`make chaos`: ~1.1 M quotes, five seeds) runs on demand and its reports are in the README.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEEDS = "1"

pytestmark = pytest.mark.integration


def test_a_compressed_day_of_every_fault_kind_violates_no_invariant(cluster_stack: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.chaos", "--profile", "ci", "--seeds", SEEDS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(done.stdout[-6000:])
    run = next(line.split("logs in ")[1] for line in done.stdout.splitlines() if "logs in " in line)
    report = json.loads((Path(run) / "report.json").read_text())
    kinds = {f["kind"] for f in report["schedule"]}
    assert len(kinds) == 10, kinds  # every fault kind happened
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    inv = report["invariants"]
    assert inv["exactly_once"]["canonical_records"] > 50_000
    assert all(i["violations"] == 0 for i in inv.values()), inv
