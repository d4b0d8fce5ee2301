"""`make pipeline` as a user runs it (without a terminal): two legs, one killed, nothing lost, queried, charted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_the_whole_pipeline_loses_nothing_when_a_leg_is_killed(stack: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.pipeline", "--minutes", "2", "--speed", "10", "--live", "no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "nothing lost" in done.stdout
    run = next(
        line.split("state/pipeline/")[1].split("/")[0] for line in done.stdout.splitlines() if "state/pipeline/" in line
    )
    report = json.loads((ROOT / "state" / "pipeline" / run / "verdict.json").read_text())
    v = report["verdict"]
    assert v["violations"] == 0 and v["canonical_records"] == v["market_quotes"] > 1000, v
    assert report["legs"]["a"]["records"] < report["legs"]["b"]["records"] == v["market_quotes"]  # a was killed
    assert "1-minute bars" in done.stdout and "bar " in done.stdout  # the archive query and the chart
