"""What constrains a live feed, measured against the real local stack: added latency, CPU, memory.

1. Added latency, quote callback entered -> broker acknowledgement (acks=all, idempotent), from the
   receive_time_ns the producer stamps in each record to the delivery report's arrival:
   - real peak: 353 msgs/s (86% BidAsk) for --peak-seconds;
   - 10x burst: 3,530 msgs/s for 10 s;
   - the simulated session's opening burst (real time from 08:45:00).
2. The shipped consumers (Python library and `txf-consume`, Go, TypeScript, Java, the live view in a
   tmux pane) side by side against one shipped producer: producer receive -> hand-over at the real
   peak and the 10x burst, and catch-up throughput from a backlog (bench/live_consumers.py, --runs
   times, medians).
3. CPU and memory at real load: the producer (a subprocess) replays one simulated trading day
   (day + night session, ~410,000 messages, the real intraday shape) compressed --compress times;
   CPU seconds per trading hour (os.wait4 rusage), peak RSS, and RSS in the first vs the last
   tenth of the run (growth).

Prints tables, then one JSON line with every figure. Targets (exit 1 if missed): producer and every
consumer p99 < 5 ms at the peak, < 20 ms in the burst (consumers: medians over runs); the Python
library catches up at >= 150,000 records/s; every consumer hands over every record exactly once; CPU
< 2% of a core at the real rate; RSS < 150 MB and no growth beyond 10%.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("SJ_LOG_PATH", str(Path(tempfile.mkdtemp(prefix="txf-bench-")) / "shioaji.log"))


import live_consumers  # noqa: E402
from ack_clock import AckClock  # noqa: E402

from stack import localstack  # noqa: E402
from txf_producer.app import ProducerApp, run_app  # noqa: E402
from txf_producer.settings import load_settings  # noqa: E402
from txf_producer.sources.base import QuoteType  # noqa: E402
from txf_producer.sources.simulated import SimConfig, SimulatedSource  # noqa: E402
from txf_registry import provision, topic_settings  # noqa: E402

TAIPEI = dt.timezone(dt.timedelta(hours=8))
OPEN = dt.datetime(2026, 11, 24, 8, 45, tzinfo=TAIPEI)
STREAMS = (("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))
WARMUP_S = 1.0  # records of a phase's first second are excluded (producer start-up, see AckClock.take)


def pct(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p))]


def summary(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 0.50), 3),
        "p99_ms": round(pct(ms, 0.99), 3),
        "p999_ms": round(pct(ms, 0.999), 3),
        "max_ms": round(ms[-1], 3),
    }


def register(stack: Any, tmp: Path) -> dict[str, str]:
    prefix = f"live{uuid.uuid4().hex[:6]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    s = load_settings(**topic_settings(prefix))  # the names, resolved from the topic map
    return {
        "tick_topic": str(s.tick_topic),
        "bidask_topic": str(s.bidask_topic),
        "dead_letter_topic": str(s.dead_letter_topic),
    }


def phase(stack: Any, topics: dict[str, str], tmp: Path, clock: AckClock, config: SimConfig) -> dict[str, float]:
    settings = load_settings(
        kafka_bootstrap=stack.bootstrap_servers,
        registry_url=stack.registry_url,
        state_dir=tmp / "state",
        metrics_port=0,
        stats_interval_s=3600,
        log_level="WARNING",
        **topics,
    )
    result = run_app(lambda: ProducerApp(settings, SimulatedSource(config)))
    assert result.exit_code == 0, result.reason
    out = summary(clock.take(topics["tick_topic"], WARMUP_S))
    out["first_record_ms"] = clock.first_record_ms
    return out


def day_replay(stack: Any, topics: dict[str, str], tmp: Path, compress: float, messages: int) -> dict[str, Any]:
    """The producer as a subprocess over one simulated trading day; CPU and RSS from the kernel."""
    env = {
        **os.environ,
        "TXF_KAFKA_BOOTSTRAP": stack.bootstrap_servers,
        "TXF_REGISTRY_URL": stack.registry_url,
        "TXF_TICK_TOPIC": topics["tick_topic"],
        "TXF_BIDASK_TOPIC": topics["bidask_topic"],
        "TXF_DEAD_LETTER_TOPIC": topics["dead_letter_topic"],
        "TXF_STATE_DIR": str(tmp / "day"),
        "TXF_METRICS_PORT": "0",
        "TXF_LOG_LEVEL": "WARNING",
        "TXF_STATS_INTERVAL_S": "3600",
    }
    cmd = [
        str(REPO / ".venv/bin/txf-producer"),
        "run",
        "--source",
        "sim",
        "--speed",
        str(compress),
        "--max-messages",
        str(messages),
        "--sim-start",
        "2026-11-24T08:45:00",
    ]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rss: list[tuple[float, int]] = []
    while True:  # wait4 reaps the child and hands back its own CPU and peak RSS
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss.append((time.monotonic() - t0, int(line.split()[1])))
        except OSError:
            pass
        time.sleep(1.0)
    wall = time.monotonic() - t0
    exit_code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    cpu = usage.ru_utime + usage.ru_stime
    trading_hours = wall * compress / 3600
    tenth = max(1, len(rss) // 10)  # growth: the 2nd tenth (after start-up) against the last
    first, last = max(r for _t, r in rss[tenth : 2 * tenth] or rss), max(r for _t, r in rss[-tenth:])
    return {
        "day_messages": messages,
        "day_wall_s": round(wall, 1),
        "day_trading_hours": round(trading_hours, 2),
        "cpu_s_per_trading_hour": round(cpu / trading_hours, 2),
        "cpu_share_of_core_at_real_rate": round(cpu / trading_hours / 3600, 5),
        "rss_peak_mb": round(usage.ru_maxrss / 1024, 1),
        "rss_first_tenth_mb": round(first / 1024, 1),
        "rss_last_tenth_mb": round(last / 1024, 1),
        "day_exit": exit_code,
        "day_stderr_tail": err.strip().splitlines()[-1:] if err.strip() else [],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peak-seconds", type=int, default=30)
    ap.add_argument("--burst-seconds", type=int, default=10)
    ap.add_argument("--open-seconds", type=int, default=30)
    ap.add_argument("--compress", type=float, default=60.0, help="trading day replay speed-up")
    ap.add_argument("--day-messages", type=int, default=410_000)
    ap.add_argument("--skip-day", action="store_true")
    live_consumers.add_arguments(ap)
    ap.add_argument("--skip-consumers", action="store_true")
    args = ap.parse_args()

    stack = localstack.ensure_up(
        localstack.StackConfig.from_env(), log=lambda m: print(f"[stack] {m}", file=sys.stderr)
    )
    tmp = Path(tempfile.mkdtemp(prefix="txf-live-"))
    topics = register(stack, tmp)
    clock = AckClock()
    out: dict[str, Any] = {}
    out["peak_353"] = phase(
        stack,
        topics,
        tmp,
        clock,
        SimConfig(
            seed=1, start=OPEN + dt.timedelta(hours=1), streams=STREAMS, rate=353, max_messages=353 * args.peak_seconds
        ),
    )
    out["burst_3530"] = phase(
        stack,
        topics,
        tmp,
        clock,
        SimConfig(
            seed=2,
            start=OPEN + dt.timedelta(hours=2),
            streams=STREAMS,
            rate=3530,
            max_messages=3530 * args.burst_seconds,
        ),
    )
    open_n = int(sum(300 * 2.718281828 ** (-s / 40) + 51 for s in range(args.open_seconds)))
    out["open_burst"] = phase(
        stack,
        topics,
        tmp,
        clock,
        SimConfig(seed=3, start=OPEN, streams=STREAMS, speed=1.0, simulate_preopen=False, max_messages=open_n),
    )
    if not args.skip_consumers:
        out["consumers"] = live_consumers.run(stack, args)
    if not args.skip_day:
        out.update(day_replay(stack, topics, tmp, args.compress, args.day_messages))

    print(
        f"\nproducer: quote callback -> broker ack\n{'phase':<22}{'n':>8}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'p99.9 ms':>10}{'max ms':>10}"
    )
    for name in ("peak_353", "burst_3530", "open_burst"):
        s = out.get(name) or {}
        if s:
            print(f"{name:<22}{s['n']:>8}{s['p50_ms']:>10}{s['p99_ms']:>10}{s['p999_ms']:>10}{s['max_ms']:>10}")
    if not args.skip_day:
        print(
            f"day replay x{args.compress:g}: {out['day_messages']} msgs over {out['day_trading_hours']} trading hours "
            f"in {out['day_wall_s']} s; CPU {out['cpu_s_per_trading_hour']} s/trading hour "
            f"({out['cpu_share_of_core_at_real_rate'] * 100:.3f}% of a core); RSS peak {out['rss_peak_mb']} MB, "
            f"first/last tenth {out['rss_first_tenth_mb']}/{out['rss_last_tenth_mb']} MB"
        )
    checks = {
        "peak p99 < 5 ms": out["peak_353"]["p99_ms"] < 5,
        "open burst p99 < 20 ms": out["open_burst"]["p99_ms"] < 20,
        "burst p99 < 20 ms": out["burst_3530"]["p99_ms"] < 20,
    }
    if not args.skip_day:
        checks["CPU < 2% of a core at the real rate"] = out["cpu_share_of_core_at_real_rate"] < 0.02
        checks["RSS < 150 MB"] = out["rss_peak_mb"] < 150
        checks["no RSS growth (last tenth <= 1.1 x first)"] = (
            out["rss_last_tenth_mb"] <= 1.1 * out["rss_first_tenth_mb"]
        )
    if not args.skip_consumers:
        live_consumers.table(out["consumers"])
        checks.update(live_consumers.checks(out["consumers"]))
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")
    out["targets_met"] = all(checks.values())
    print(json.dumps(out, sort_keys=True))
    return 0 if out["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
