"""`make chaos`: a seeded nemesis over a compressed trading day, judged by an independent checker.

For each seed: the whole pipeline on the three-node cluster (two capture legs of one simulated market,
an active and a standby arbiter, the archiver, the bar builder, a consumer group), every fault kind
once at seeded times (schedule.py: leg SIGKILL and SIGSTOP, the active arbiter SIGKILLed, both
arbiters down longer than their window, the partition leader and the controller SIGKILLed, 2 of 3
brokers down with a leg SIGTERMed and respooled, the archiver, a compaction and the bar builder
SIGKILLed), then the checker's verdict (judge.py). Each seed's report goes to
state/chaos/<run>/seed-<n>/report.json (the seed, the schedule with its times, every invariant and
every violation) and is printed as a table. Exit 0 when no invariant was violated on any seed.

  python -m tools.chaos --profile ci --seeds 1,2      # make test's profile (~170 s of market a seed)
  python -m tools.chaos --profile full --seeds 1-5    # make chaos: ~12 minutes a seed, >1 M quotes
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from stack import localstack
from tools.chaos.campaign import PROFILES, Campaign, Run, stack_up
from tools.chaos.judge import judge

ROOT = Path(__file__).resolve().parents[2]


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += range(int(a), int(b) + 1)
        elif part:
            out.append(int(part))
    return out


def table(report: dict[str, Any]) -> str:
    """The report as a person reads it."""
    lines = [f"seed {report['seed']} ({report['profile']}): {report['verdict']}"]
    lines.append(f"  {'fault':<20} {'at s':>7} {'for s':>6}  target")
    for f in report["schedule"]:
        lines.append(f"  {f['kind']:<20} {f['at_s']:>7.1f} {f['duration_s']:>6.1f}  {f['target'] or '-'}")
    lines.append(f"  {'invariant':<24} {'violations':>10}  figures")
    for name, inv in report["invariants"].items():
        figures = ", ".join(f"{k} {v}" for k, v in inv.items() if k not in ("violations", "examples"))
        lines.append(f"  {name:<24} {inv['violations']:>10}  {figures}")
        for example in inv.get("examples", [])[:5]:
            lines.append(f"      {example}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make chaos", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", choices=sorted(PROFILES), default="full")
    ap.add_argument("--seeds", default="1-5", help="seeds, e.g. 1-5 or 3,7")
    args = ap.parse_args(argv)
    profile = PROFILES[args.profile]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = ROOT / "state" / "chaos" / f"{stamp}-{profile.name}"
    cfg, info = stack_up(log=lambda m: print(f"chaos: {m}", flush=True))
    kafka = {"bootstrap.servers": info.bootstrap_servers}
    failed = 0
    try:
        for seed in _seeds(args.seeds):
            run = Run(seed, profile, work / f"seed-{seed}")
            campaign = Campaign(run, cfg, info)
            print(f"chaos: seed {seed}: the market runs ~{profile.market_wall_s:.0f} s, logs in {run.work}", flush=True)
            try:
                faults = campaign.execute()
            finally:
                campaign.close()
                (run.work / "events.json").write_text(json.dumps(run.events, indent=2))
            invariants = judge(run, kafka)
            bad = sum(inv["violations"] for inv in invariants.values())
            failed += bad > 0
            report = {
                "seed": seed,
                "profile": profile.name,
                "speed": profile.speed,
                "intensity": profile.intensity,
                "topics": run.prefix,
                "verdict": f"{bad} violation(s)" if bad else "0 violations",
                "schedule": [f.to_json() for f in faults],
                "events": run.events,
                "invariants": invariants,
            }
            (run.work / "report.json").write_text(json.dumps(report, indent=2))
            print(table(report), flush=True)
    finally:
        started = ({"cluster"} if info.started_nodes else set()) | ({"registry"} if info.started_registry else set())
        if started:  # what this run started, by PID; a cluster that was running stays
            localstack.stop(cfg, only=started, log=lambda m: print(f"chaos: {m}", flush=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
