"""`make pipeline`: the whole pipeline on this machine in one command, a leg killed, nothing lost.

Two capture legs of one seeded simulated market (the shipped `txf-producer run --source sim` as
TXF_CAPTURE_LEG=a and =b, paced on one shared anchor: the same quotes at the same moments; leg a
misses 1% of them, as a flaky connection does), the arbiter writing each quote once to the canonical
topics, the archiver writing them to Parquet, the bar builder publishing 1-minute bars, and the live
view on the canonical topics. The market is the last minutes of the most recent trading day's day
session up to its 13:45 close, replayed at `--speed` (an earlier day: bars close by the market's
time, not the wall clock). Midway, leg a is killed with SIGKILL.

At the end an independent checker (tools/checker: its own decode of proto/, a plain Kafka read, the
seeded market's truth) judges the canonical topics: every quote some leg captured is there exactly
once, none is missing; then the archive is queried (`txf-archive query`, as a user does) and the
session's 1-minute bars are drawn. Exit 0 when the checker found no violation.

Everything runs on the local stack (`make up`, started if needed) under a topic prefix of its own;
logs, the archive and the verdict go to state/pipeline/<run>/.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from stack import localstack
from tools.checker import readback, truth, verdict
from tools.checker.protocol import Contract
from tools.runner import Runner
from txf_archive import Archive
from txf_consumer.screen import bars_chart
from txf_consumer.snapshot import Candle
from txf_kit import calendar

ROOT = Path(__file__).resolve().parents[2]
LEGS = (truth.Leg("a", seed=11, drop=0.01), truth.Leg("b", seed=22, drop=0.0))


def last_trading_day(today: date) -> date:
    d = today - timedelta(days=1)
    while not calendar.is_trading_day(d):
        d -= timedelta(days=1)
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make pipeline", description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=20.0, help="market minutes up to the 13:45 close (default 20)")
    ap.add_argument("--speed", type=float, default=10.0, help="market seconds per wall second (default 10)")
    ap.add_argument("--kill-at", type=float, default=0.5, help="share of the run after which leg a is killed")
    ap.add_argument("--seed", type=int, default=7, help="the simulated market's seed")
    ap.add_argument("--live", choices=("auto", "yes", "no"), default="auto", help="the live view (auto: on a terminal)")
    args = ap.parse_args(argv)
    live = args.live == "yes" or (args.live == "auto" and sys.stdout.isatty())
    out = Console(highlight=False)

    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]
    work = ROOT / "state" / "pipeline" / run_id
    prefix = f"pipe{uuid.uuid4().hex[:6]}-"
    day = last_trading_day(datetime.now(calendar.TAIPEI).date())
    session = calendar.day_session(day)
    assert session is not None
    end_ns = session.close_ns
    start_ns = end_ns - int(args.minutes * 60e9)
    market_s = (end_ns - start_ns) / 1e9 / args.speed

    out.print(f"pipeline: 1/6 local stack (Kafka + registry on 127.0.0.1), run {run_id}, topics {prefix}*")
    info = localstack.ensure_up(log=lambda m: None)
    runner = Runner(
        work / "logs",
        {
            "TXF_KAFKA_BOOTSTRAP": info.bootstrap_servers,
            "TXF_REGISTRY_URL": info.registry_url,
            "TXF_TOPIC_PREFIX": prefix,
            "TXF_ARBITER_METRICS_PORT": "0",
            "TXF_METRICS_PORT": "0",
            "TXF_ARCHIVE_ROOT": str(work / "archive"),
            "TXF_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        },
    )
    try:
        return _run(args, out, runner, info, work, prefix, day, start_ns, end_ns, market_s, live)
    finally:
        runner.close()


def _run(
    args: argparse.Namespace,
    out: Console,
    runner: Runner,
    info: Any,
    work: Path,
    prefix: str,
    day: date,
    start_ns: int,
    end_ns: int,
    market_s: float,
    live: bool,
) -> int:
    kafka = {"bootstrap.servers": info.bootstrap_servers}
    start_iso = calendar.taipei(start_ns).replace(tzinfo=None).isoformat()
    end_iso = calendar.taipei(end_ns).replace(tzinfo=None).isoformat()
    out.print("pipeline: 2/6 contract registered, topics and the capture legs' topics created (txf-registry)")
    done = runner.start("registry", ["txf-registry", "register", "--topics"])
    if done.wait(120) != 0:
        raise SystemExit(f"txf-registry failed: {runner.log('registry')[-2000:]}")

    out.print(
        f"pipeline: 3/6 the market of {day} {start_iso[11:16]}-{end_iso[11:16]} Taipei at {args.speed:g}x "
        f"(~{market_s:.0f} s): legs a (1% drops) and b, the arbiter, the archiver, the bar builder"
    )
    runner.start("arbiter", ["txf-arbiter", "run"], TXF_STATE_DIR=str(work / "state-arbiter"))
    runner.start("archiver", ["txf-archive", "run"])
    runner.start("bars", ["txf-archive", "bars"])
    runner.wait_for_log("arbiter", "arbiter: active")
    anchor_ns = time.time_ns() + 3_000_000_000
    for leg in LEGS:
        runner.start(
            f"leg-{leg.name}",
            [
                "txf-producer",
                "run",
                "--source",
                "sim",
                "--seed",
                str(args.seed),
                "--sim-start",
                start_iso,
                "--sim-end",
                end_iso,
                "--speed",
                f"{args.speed:g}",
                "--sim-anchor-ns",
                str(anchor_ns),
                "--leg-seed",
                str(leg.seed),
                "--leg-drop",
                str(leg.drop),
            ],
            TXF_CAPTURE_LEG=leg.name,
            TXF_STATE_DIR=str(work / f"state-{leg.name}"),
        )
    kill_wall_ns = anchor_ns + int(args.kill_at * market_s * 1e9)
    kill_market_ns = start_ns + int(args.kill_at * market_s * 1e9 * args.speed)
    killer = threading.Thread(target=_kill_at, args=(runner, "leg-a", kill_wall_ns), daemon=True)
    killer.start()

    group = f"{prefix}live"
    topics = f"{prefix}txf-tick,{prefix}txf-bidask"
    view = [
        "txf-consume",
        "--bootstrap",
        info.bootstrap_servers,
        "--registry",
        info.registry_url,
        "--topics",
        topics,
        "--group",
        group,
        "--from-beginning",
        "--idle-exit-ms",
        "8000",
        "--output",
        "live" if live else "quiet",
    ]
    if live:
        out.print("pipeline: 4/6 the live view (Ctrl-C leaves it early; the run goes on)")
    else:
        out.print("pipeline: 4/6 a consumer reads the canonical topics (no terminal: its summary at the end)")
    consumer = runner.start("consumer", view, foreground=live)
    contract = Contract.from_proto()
    _finish(runner, contract, kafka, prefix, end_ns, market_s)
    try:
        consumer.wait(120)
    except KeyboardInterrupt:
        runner.stop("consumer", signal.SIGINT)
    killer.join()
    out.print(f"pipeline: leg a was SIGKILLed at {calendar.taipei(kill_market_ns):%H:%M:%S} market time")

    out.print("pipeline: 5/6 the checker: the canonical topics against the seeded market and the legs' topics")
    truth_ = truth.truth(contract, args.seed, start_ns, end_ns, LEGS)
    names = {"txf.v1.Tick": "txf-tick", "txf.v1.BidAsk": "txf-bidask"}
    legs_ids: dict[str, list[bytes]] = {leg.name: [] for leg in LEGS}
    canonical: list[bytes] = []
    for message, topic in names.items():
        for leg in LEGS:
            for r in readback.read_topic(kafka, f"{prefix}leg-{leg.name}.{topic}"):
                legs_ids[leg.name].append(contract.identity(contract.decode(message, r.value)))
        for r in readback.read_topic(kafka, f"{prefix}{topic}"):
            canonical.append(contract.identity(contract.decode(message, r.value)))
    gaps = [
        (g.start_ns, g.end_ns)
        for g in (contract.decode("txf.v1.Gap", r.value) for r in readback.read_topic(kafka, f"{prefix}txf-gaps"))
    ]
    judged = verdict.judge(truth_.quotes, legs_ids, canonical, gaps)
    report = {
        "run": work.name,
        "topics": prefix,
        "market": {"day": str(day), "from": start_iso, "to": end_iso, "speed": args.speed, "seed": args.seed},
        "legs": {leg.name: {"drop": leg.drop, "records": len(legs_ids[leg.name])} for leg in LEGS},
        "leg_a_killed_at": calendar.taipei(kill_market_ns).isoformat(),
        "verdict": judged.summary(),
    }
    (work / "verdict.json").write_text(json.dumps(report, indent=2))
    s = judged.summary()
    out.print(
        f"  market {s['market_quotes']:,} quotes; leg a wrote {len(legs_ids['a']):,} (1% drops, then killed), "
        f"leg b {len(legs_ids['b']):,}; canonical {s['canonical_records']:,}"
    )
    out.print(
        f"  missing though captured {s['missing_though_captured']}, duplicates {s['duplicates']}, "
        f"written but never captured {s['not_captured_but_written']}, holes without a Gap "
        f"{s['holes_without_a_gap']}: "
        + ("[bold green]nothing lost[/]" if not judged.violations else "[bold red]VIOLATIONS[/]")
    )
    for example in s["examples"]:
        out.print(f"    {example}")

    out.print("pipeline: 6/6 the archive, queried as a user does (txf-archive query), and the session's 1-minute bars")
    root = work / "archive"
    for kind in ("tick", "bidask", "bar"):
        q = runner.start(
            f"query-{kind}",
            [
                "txf-archive",
                "query",
                "--root",
                str(root),
                "--type",
                kind,
                "--day",
                str(day),
                "--sql",
                "SELECT count(*) AS rows, min(code) AS code FROM rows",
                "--format",
                "csv",
            ],
        )
        q.wait(120)
        out.print(f"  {kind:<7} {runner.log(f'query-{kind}').strip().splitlines()[-1]}")
    bars = Archive(root).polars("bar", str(day)).sort("end_time_ms")
    for code in sorted(set(bars["code"].to_list())):
        rows = bars.filter(bars["code"] == code).to_dicts()
        candles = [
            Candle(r["end_time_ms"] * 1_000_000, r["open"], r["high"], r["low"], r["close"], r["volume"]) for r in rows
        ]
        out.print(bars_chart(code, candles))
    out.print(f"pipeline: verdict, logs and the archive in {work.relative_to(ROOT)}/ (make down stops the stack)")
    return 0 if not judged.violations else 1


def _kill_at(runner: Runner, name: str, wall_ns: int) -> None:
    """SIGKILL `name` at `wall_ns` (the schedule of the fault, not a wait for something to happen)."""
    delay = (wall_ns - time.time_ns()) / 1e9
    if delay > 0:
        time.sleep(delay)
    runner.send_signal(name, signal.SIGKILL)


def _finish(
    runner: Runner, contract: Contract, kafka: dict[str, Any], prefix: str, end_ns: int, market_s: float
) -> None:
    """Wait for the market to end (leg b's end of feed), the arbiter to drain, the last bar to be
    final; then stop the arbiter, the bar builder and the archiver (which writes what it holds)."""
    if runner.procs["leg-b"].wait(market_s + 120) != 0:
        raise SystemExit(f"leg b failed: {runner.log('leg-b')[-2000:]}")
    topics = [f"{prefix}txf-tick", f"{prefix}txf-bidask"]
    last, since = None, time.monotonic()
    while time.monotonic() - since < 3:  # the canonical topics stopped growing: the arbiter wrote everything
        now = readback.end_offsets(kafka, topics)
        if now != last:
            last, since = now, time.monotonic()
        time.sleep(0.2)
    runner.stop("arbiter")
    deadline = time.monotonic() + 60
    while not _bar_of_the_close(contract, kafka, prefix, end_ns):  # final by the market's clock
        if time.monotonic() > deadline:
            raise SystemExit(f"no bar of the close within 60 s: {runner.log('bars')[-2000:]}")
        time.sleep(0.5)
    runner.stop("bars")
    runner.stop("archiver")


def _bar_of_the_close(contract: Contract, kafka: dict[str, Any], prefix: str, end_ns: int) -> bool:
    """Whether the bars topic holds a bar ending at the session's close."""
    return any(
        contract.decode("txf.v1.Bar", r.value).end_time_ms * 1_000_000 == end_ns
        for r in readback.read_topic(kafka, f"{prefix}txf-bars-1m")
    )


if __name__ == "__main__":
    sys.exit(main())
