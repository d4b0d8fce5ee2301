"""The shipped consumers side by side against one producer: hand-over latency and catch-up throughput.

Part of `make bench-live` (bench_live.py calls `run()`); runnable alone too:
`python bench/live_consumers.py --runs 3`. Every figure comes from a program a
user runs, in the mode a user runs it:

  python-lib    the library (TxfConsumer) with a handler that does nothing but note
                when it was called (bench/python_probe.py): producer receive ->
                handler entry, taken inside the handler
  python-jsonl  `txf-consume --output jsonl`   \\
  go            consumers/go `txf-consume`      | JSON lines on stdout, read through a pipe
  ts            consumers/ts `node dist/main.js`| by this process: producer receive -> the
  java          consumers/java `txf-consumer.jar`/ line readable by the next program
  live-view     `txf-consume --output live` drawing in a 160x45 tmux pane, its view's
                handler noting the same two times (bench/python_probe.py --probe live-view)

Why the pipe for Go/TS/Java/jsonl: that is their user interface (a strategy reads
their stdout), so the latency that matters ends when a line can be read there;
it includes the write, the pipe and this reader waking up, so it is the stricter
figure. Each line's `receiveTimeNs` (the producer's clock at the quote's arrival,
same host) is subtracted from the time `os.read` returned it.

Latency phases: fresh topics, every consumer started first with its own group
(`--from-beginning`, `--max-messages N`), all groups Stable, then the shipped
producer (`txf-producer run --source sim --rate R`, a simulated session hour) for
R x seconds quotes. Every consumer must hand over every record exactly once
(topic, offset); the figures leave out records the producer received in its first
second (a new producer's idempotence handshake, the same rule as the producer's
own phases). Beside each: the producer's own quote callback -> broker ack of the
same records (bench/producer_probe.py), and the consumer's hand-over minus that
ack per record ("over ack"): what the consumer itself added.

Side by side runs the library, Go, TS, Java and the live view together (the
issue's set); each consumer alone (with python-jsonl) runs after it, so the
figures say both what a consumer costs and what a 2-core machine shared by six
readers, a producer and a broker does to all of them.

Catch-up: a backlog of --backlog records (the producer at full speed, in-session
quotes), then each consumer alone, from the beginning: records per second from its
first handed-over record to its last (decode and output included).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from confluent_kafka import ConsumerGroupState, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402
from tmux_pane import TmuxPane  # noqa: E402

from txf_producer.settings import load_settings  # noqa: E402
from txf_registry import provision, topic_settings  # noqa: E402

PIPE_CONSUMERS = ("python-jsonl", "go", "ts", "java")
LATENCY_CONSUMERS = ("python-lib", *PIPE_CONSUMERS, "live-view")
#: side by side against one producer: the issue's set (the library, Go, TS, Java, the live view drawing);
#: python-jsonl runs alone only: one more process saturates the 2-core machine (see README, Performance)
SIDE_BY_SIDE = ("python-lib", "go", "ts", "java", "live-view")
#: the baseline beside them: the producer's own quote callback -> broker ack of the same records
BASELINE = "producer-ack"
CATCH_UP_CONSUMERS = ("python-lib", *PIPE_CONSUMERS)
SESSION_HOUR = "2026-11-24T09:45:00"  # a Tuesday, an hour into the day session: no pre-open simtrade
WARMUP_NS = 1_000_000_000
RECEIVE_FIELD = b'"receiveTimeNs":"'
BIN = REPO / ".venv" / "bin"


def log(msg: str) -> None:
    print(f"[consumers] {msg}", file=sys.stderr, flush=True)


# --- the programs ---------------------------------------------------------------------------------


def build(tmp: Path, compile_: bool = True) -> dict[str, list[str]]:
    """Build the Go, TS and Java consumers as their READMEs say (unless not `compile_`); each consumer's command."""
    go_bin = tmp / "txf-consume-go"
    if compile_:
        log("building the Go, TypeScript and Java consumers")
        subprocess.run(
            ["go", "build", "-o", str(go_bin), "./cmd/txf-consume"], cwd=REPO / "consumers" / "go", check=True
        )
        subprocess.run(["npm", "run", "build", "--silent"], cwd=REPO / "consumers" / "ts", check=True)
        subprocess.run(
            [str(REPO / "consumers" / "java" / "build.sh"), "-DskipTests"], check=True, stdout=subprocess.DEVNULL
        )
    python = str(BIN / "python")
    return {
        "python-lib": [python, str(REPO / "bench" / "python_probe.py")],
        "python-jsonl": [str(BIN / "txf-consume"), "--output", "jsonl"],
        "go": [str(go_bin)],
        "ts": ["node", str(REPO / "consumers" / "ts" / "dist" / "main.js")],
        # as consumers/java/README.md runs it
        "java": [
            "java",
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            "-jar",
            str(REPO / "consumers" / "java" / "target" / "txf-consumer.jar"),
        ],
        "live-view": [python, str(REPO / "bench" / "python_probe.py"), "--output", "live"],
    }


def common_flags(stack: Any, topics: dict[str, str], group: str, n: int) -> list[str]:
    """The flags every consumer shares (the same names in all four languages)."""
    t, b = topics["tick_topic"], topics["bidask_topic"]
    return [
        "--bootstrap",
        stack.bootstrap_servers,
        "--registry",
        stack.registry_url,
        "--group",
        group,
        "--topics",
        f"{t},{b}",
        "--type",
        f"{t}=txf.v1.Tick",
        "--type",
        f"{b}=txf.v1.BidAsk",
        "--from-beginning",
        "--max-messages",
        str(n),
    ]


def new_topics(stack: Any, label: str) -> dict[str, str]:
    """A fresh prefixed set of topics; the names resolved from the topic map as the producer resolves them."""
    prefix = f"bc{label}{uuid.uuid4().hex[:6]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    s = load_settings(**topic_settings(prefix))
    return {
        "tick_topic": str(s.tick_topic),
        "bidask_topic": str(s.bidask_topic),
        "txfr2_tick_topic": str(s.txfr2_tick_topic),
        "dead_letter_topic": str(s.dead_letter_topic),
    }


def start_producer(
    stack: Any, topics: dict[str, str], tmp: Path, n: int, rate: float | None, ack_out: Path | None = None
) -> subprocess.Popen[str]:
    """The shipped producer on the simulator: n in-session quotes at `rate` (None: full speed, own process).

    With `ack_out`, through bench/producer_probe.py: the same CLI, noting each broker ack.
    """
    env = {
        **os.environ,
        "SJ_LOG_PATH": str(tmp / "shioaji.log"),
        "TXF_KAFKA_BOOTSTRAP": stack.bootstrap_servers,
        "TXF_REGISTRY_URL": stack.registry_url,
        "TXF_TICK_TOPIC": topics["tick_topic"],
        "TXF_BIDASK_TOPIC": topics["bidask_topic"],
        "TXF_TXFR2_TICK_TOPIC": topics["txfr2_tick_topic"],
        "TXF_DEAD_LETTER_TOPIC": topics["dead_letter_topic"],
        "TXF_STATE_DIR": str(tmp / "producer-state"),
        "TXF_METRICS_PORT": "0",
        "TXF_LOG_LEVEL": "WARNING",
        "TXF_STATS_INTERVAL_S": "3600",
    }
    pace = ["--rate", f"{rate:g}"] if rate else ["--sim-process"]
    args = ["run", "--source", "sim", *pace, "--max-messages", str(n), "--sim-start", SESSION_HOUR]
    cmd = (
        [str(BIN / "txf-producer"), *args]
        if ack_out is None
        else [str(BIN / "python"), str(REPO / "bench" / "producer_probe.py"), "--ack-out", str(ack_out), "--", *args]
    )
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp)


def finish_producer(proc: subprocess.Popen[str], timeout_s: float) -> None:
    """Wait for the producer's own exit (0, everything delivered), else stop it by its PID and fail."""
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stop_all([proc])  # type: ignore[list-item]
        raise RuntimeError(f"producer still running after {timeout_s:g} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"producer exited {proc.returncode}: {err.strip()[-500:]}")


def high_watermarks(stack: Any, topics: dict[str, str]) -> int:
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": f"hw-{uuid.uuid4().hex}"})
    try:
        return sum(
            c.get_watermark_offsets(TopicPartition(topics[k], 0), timeout=10)[1] for k in ("tick_topic", "bidask_topic")
        )
    finally:
        c.close()


def wait_groups_stable(stack: Any, groups: Sequence[str], partitions: int, timeout_s: float = 90.0) -> None:
    """Every group Stable with all `partitions` assigned: all consumers read before the producer starts."""
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    deadline = time.monotonic() + timeout_s
    while True:
        ready = []
        for gid, fut in admin.describe_consumer_groups(list(groups), request_timeout=10).items():
            try:
                d = fut.result()
            except Exception:  # noqa: BLE001 - not known to the coordinator yet
                continue
            assigned = sum(len(m.assignment.topic_partitions) for m in d.members if m.assignment)
            if d.state == ConsumerGroupState.STABLE and assigned == partitions:
                ready.append(gid)
        if len(ready) == len(groups):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"consumer groups not stable within {timeout_s:g} s: {sorted(set(groups) - set(ready))}")
        time.sleep(0.2)  # polling interval of a deadline-bounded wait


# --- reading the pipes ----------------------------------------------------------------------------


@dataclass
class PipeRecord:
    """What one pipe consumer handed over."""

    samples: list[tuple[int, int]] = field(default_factory=list)  # (producer receive ns, read ns)
    keys: set[bytes] = field(default_factory=set)  # '"topic":..,"partition":..,"offset":..'
    lines: int = 0
    first_s: float = 0.0
    last_s: float = 0.0


def read_pipes(
    procs: dict[str, subprocess.Popen[bytes]], parse: bool, expect: int, deadline_s: float
) -> dict[str, PipeRecord]:
    """Read every consumer's stdout until EOF: time each line (parse) or count lines (throughput)."""
    sel = selectors.DefaultSelector()
    out: dict[str, PipeRecord] = {}
    partial: dict[str, bytes] = {}
    for name, p in procs.items():
        assert p.stdout is not None
        os.set_blocking(p.stdout.fileno(), False)
        sel.register(p.stdout.fileno(), selectors.EVENT_READ, name)
        out[name] = PipeRecord()
        partial[name] = b""
    open_fds = len(procs)
    while open_fds:
        if time.monotonic() > deadline_s:
            log(f"deadline: still open: {[n for n, r in out.items() if r.lines < expect]}")
            break
        for key, _ in sel.select(timeout=1.0):
            name = key.data
            try:
                chunk = os.read(key.fd, 1 << 20)
            except BlockingIOError:
                continue
            now_ns = time.time_ns()
            now_s = time.perf_counter()
            rec = out[name]
            if not chunk:
                sel.unregister(key.fd)
                open_fds -= 1
                continue
            if not rec.lines and not partial[name]:
                rec.first_s = now_s
            if not parse:
                rec.lines += chunk.count(b"\n")
                if rec.lines >= expect and not rec.last_s:
                    rec.last_s = now_s
                continue
            data = partial[name] + chunk
            lines = data.split(b"\n")
            partial[name] = lines.pop()
            for line in lines:
                i = line.find(RECEIVE_FIELD) + len(RECEIVE_FIELD)
                rec.samples.append((int(line[i : line.index(b'"', i)]), now_ns))
                rec.keys.add(line[: line.index(b',"schemaId"')])
            rec.lines += len(lines)
            if rec.lines >= expect and not rec.last_s:
                rec.last_s = now_s
    sel.close()
    return out


def summarize(samples: Sequence[tuple[int, int]], start_ns: int, acks: dict[int, int] | None = None) -> dict[str, Any]:
    """p50/p99/p99.9/max (ms) of hand-over - producer receive, for records received >= WARMUP after the first.

    With `acks` (producer receive -> broker ack ns, per record), also the same of hand-over - ack:
    what the consumer added to the time its record took to be acknowledged (`over_ack_*`).
    """
    kept = [(rx, done) for rx, done in samples if rx - start_ns >= WARMUP_NS]
    if not kept:
        return {"n": 0}
    out: dict[str, Any] = {"n": len(kept), **_percentiles(sorted((done - rx) / 1e6 for rx, done in kept), "")}
    if acks is not None:
        over = sorted((done - acks[rx]) / 1e6 for rx, done in kept if rx in acks)
        if over:
            out.update(_percentiles(over, "over_ack_"))
    return out


def _percentiles(ms: list[float], prefix: str) -> dict[str, float]:
    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(len(ms) * p))], 3)

    return {
        f"{prefix}p50_ms": pct(0.50),
        f"{prefix}p99_ms": pct(0.99),
        f"{prefix}p999_ms": pct(0.999),
        f"{prefix}max_ms": round(ms[-1], 3),
    }


# --- phases ---------------------------------------------------------------------------------------


def start(cmd: list[str], log_path: Path, stdout: int | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=stdout, stderr=open(log_path, "wb"), stdin=subprocess.DEVNULL, cwd=REPO)


def stop_all(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    """Whatever is still running after its deadline: SIGTERM, then SIGKILL, by PID."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def latency_phase(
    stack: Any,
    cmds: dict[str, list[str]],
    rate: float,
    seconds: float,
    tmp: Path,
    label: str,
    names: Sequence[str] = LATENCY_CONSUMERS,
) -> dict[str, Any]:
    """Every consumer beside one producer at `rate`: producer receive -> hand-over, per consumer."""
    n = int(rate * seconds)
    topics = new_topics(stack, label)
    groups = {name: f"bench-{label}-{name}-{uuid.uuid4().hex[:6]}" for name in names}
    probe_out = tmp / f"{label}-python-lib.json"
    live_out = tmp / f"{label}-live-view.json"
    live_summary = tmp / f"{label}-live-view-summary.json"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    probe = pane = None
    if "python-lib" in names:
        probe = start(
            [
                *cmds["python-lib"],
                *common_flags(stack, topics, groups["python-lib"], n),
                "--probe",
                "latency",
                "--probe-out",
                str(probe_out),
            ],
            tmp / f"{label}-python-lib.log",
            None,
        )
    for name in PIPE_CONSUMERS:
        if name in names:
            procs[name] = start(
                [*cmds[name], *common_flags(stack, topics, groups[name], n)],
                tmp / f"{label}-{name}.log",
                subprocess.PIPE,
            )
    if "live-view" in names:
        pane = TmuxPane(
            [
                *cmds["live-view"],
                *common_flags(stack, topics, groups["live-view"], n),
                "--probe",
                "live-view",
                "--probe-out",
                str(live_out),
                "--summary-file",
                str(live_summary),
            ],
            width=160,
            height=45,
            cwd=REPO,
        )
    try:
        wait_groups_stable(stack, list(groups.values()), partitions=2)
        log(f"{label}: {len(groups)} consumers reading; producer: {n} quotes at {rate:g}/s")
        t0 = time.monotonic()
        producer = start_producer(stack, topics, tmp, n, rate, ack_out=tmp / f"{label}-acks.json")
        # read while it produces: a pipe nobody reads stops its writer
        piped = read_pipes(procs, parse=True, expect=n, deadline_s=t0 + seconds + 120)
        finish_producer(producer, timeout_s=60)
        producer_s = time.monotonic() - t0
        published = high_watermarks(stack, topics)
        screen = pane.wait_for(lambda s: "[exit " in s, timeout_s=120) if pane is not None else ""
        if probe is not None:
            probe.wait(120)
    finally:
        stop_all([p for p in (probe, *procs.values()) if p is not None])
        if pane is not None:
            pane.close()
        delete_topics(stack, topics)
    out: dict[str, Any] = {"rate": rate, "published": published, "producer_s": round(producer_s, 1)}
    result = json.loads(probe_out.read_text()) if probe is not None else {"receive_ns": [], "handled_ns": []}
    lib = list(zip(result["receive_ns"], result["handled_ns"], strict=True))
    acks = [(rx, ack) for rx, ack in json.loads((tmp / f"{label}-acks.json").read_text())]
    start_ns = min(rx for rx, _ in acks)  # the phase starts with the first quote the producer received
    out[BASELINE] = {**summarize(acks, start_ns), "acked": len(acks)}
    ack_of = dict(acks)
    if probe is not None:
        out["python-lib"] = {
            **summarize(lib, start_ns, ack_of),
            "handed_over": len(lib),
            "unique": len(lib),
            "tracker_loss": result["loss"],
            "tracker_duplicates": result["duplicates"],
        }
    for name, rec in piped.items():
        out[name] = {
            **summarize(rec.samples, start_ns, ack_of),
            "handed_over": rec.lines,
            "unique": len(rec.keys),
            "exit": procs[name].returncode,
        }
    if pane is None:
        return out
    live = json.loads(live_out.read_text()) if live_out.exists() else {"receive_ns": [], "handled_ns": []}
    tracker = json.loads(live_summary.read_text()) if live_summary.exists() else {}
    samples = list(zip(live["receive_ns"], live["handled_ns"], strict=True))
    out["live-view"] = {
        **summarize(samples, start_ns, ack_of),
        "handed_over": len(samples),
        "unique": len(samples),
        "tracker_loss": tracker.get("loss"),
        "tracker_duplicates": tracker.get("duplicates"),
        "exit_line": screen.strip().splitlines()[-1] if screen.strip() else "",
    }
    return out


def catch_up(
    stack: Any,
    cmds: dict[str, list[str]],
    topics: dict[str, str],
    n: int,
    tmp: Path,
    label: str,
    names: Sequence[str] = CATCH_UP_CONSUMERS,
) -> dict[str, Any]:
    """Each consumer alone, from the beginning of an n-record backlog: records per second."""
    out: dict[str, Any] = {}
    for name in names:
        group = f"bench-{label}-{name}-{uuid.uuid4().hex[:6]}"
        flags = common_flags(stack, topics, group, n)
        deadline = time.monotonic() + 600
        if name == "python-lib":
            probe_out = tmp / f"{label}-python-lib.json"
            p = start(
                [*cmds[name], *flags, "--probe", "throughput", "--probe-out", str(probe_out)],
                tmp / f"{label}-{name}.log",
                None,
            )
            try:
                p.wait(600)
            finally:
                stop_all([p])
            r = json.loads(probe_out.read_text())
            out[name] = {
                "records": r["records"],
                "records_per_s": round(r["records_per_s"] or 0),
                "tracker_loss": r["loss"],
                "tracker_duplicates": r["duplicates"],
            }
        else:
            p = start([*cmds[name], *flags], tmp / f"{label}-{name}.log", subprocess.PIPE)
            try:
                rec = read_pipes({name: p}, parse=False, expect=n, deadline_s=deadline)[name]
            finally:
                stop_all([p])
            secs = rec.last_s - rec.first_s
            out[name] = {"records": rec.lines, "records_per_s": round((rec.lines - 1) / secs) if secs > 0 else None}
        log(f"{label}: {name} {out[name]}")
    return out


def delete_topics(stack: Any, topics: dict[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    for fut in admin.delete_topics(list(topics.values()), operation_timeout=30).values():
        try:
            fut.result()
        except Exception as exc:  # noqa: BLE001 - best effort: the benchmark's own topics
            log(f"delete topic: {exc}")


# --- runs, medians, report ------------------------------------------------------------------------


def one_run(
    stack: Any,
    cmds: dict[str, list[str]],
    args: argparse.Namespace,
    backlog: tuple[dict[str, str], int],
    tmp: Path,
    i: int,
) -> dict[str, Any]:
    """Side by side, then each consumer alone, then catch-up: one run's figures by phase and consumer."""
    out: dict[str, Any] = {}
    for phase, rate, secs, alone_secs in (
        ("peak_353", 353, args.peak_seconds, args.alone_peak_seconds),
        ("burst_3530", 3530, args.burst_seconds, args.alone_burst_seconds),
    ):
        out[f"side_by_side_{phase}"] = latency_phase(stack, cmds, rate, secs, tmp, f"r{i}{phase}", SIDE_BY_SIDE)
        alone: dict[str, Any] = {}
        for name in LATENCY_CONSUMERS:
            r = latency_phase(stack, cmds, rate, alone_secs, tmp, f"r{i}{phase}{name}", (name,))
            alone[name] = {
                **r[name],
                "published": r["published"],
                **{f"producer_ack_{k}": v for k, v in r[BASELINE].items() if k.endswith("_ms")},
            }
        out[f"alone_{phase}"] = alone
    out["catch_up"] = catch_up(stack, cmds, backlog[0], backlog[1], tmp, f"r{i}catchup")
    return out


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per phase, consumer and numeric figure: the median over runs and [min, max]."""
    out: dict[str, Any] = {}
    for phase, consumers in runs[0].items():
        out[phase] = {}
        for name, figures in consumers.items():
            if not isinstance(figures, dict):
                continue
            out[phase][name] = {
                key: _median_spread(
                    [r[phase][name][key] for r in runs if isinstance(r[phase][name].get(key), (int, float))]
                )
                for key, value in figures.items()
                if isinstance(value, (int, float))
            }
    return out


def _median_spread(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"median": None}
    return {"median": round(statistics.median(values), 3), "min": min(values), "max": max(values)}


def run(stack: Any, args: argparse.Namespace) -> dict[str, Any]:
    """All consumer phases, `args.runs` times; the figures of every run and their medians."""
    tmp = Path(tempfile.mkdtemp(prefix="txf-bench-consumers-"))
    cmds = build(tmp)
    log(f"backlog: {args.backlog} quotes at full speed (logs in {tmp})")
    backlog_topics = new_topics(stack, "backlog")
    # 1% more quotes: past the session's close the simulator's pre-open trial matches are not published
    quotes = int(args.backlog * 1.01)
    finish_producer(start_producer(stack, backlog_topics, tmp, quotes, None), timeout_s=quotes / 10_000 + 120)
    backlog_n = high_watermarks(stack, backlog_topics)
    if backlog_n < args.backlog:
        raise RuntimeError(f"backlog: {backlog_n} records published, {args.backlog} wanted")
    per_run: list[dict[str, Any]] = []
    try:
        for i in range(args.runs):
            log(f"run {i + 1} of {args.runs}")
            per_run.append(one_run(stack, cmds, args, (backlog_topics, backlog_n), tmp, i))
    finally:
        delete_topics(stack, backlog_topics)
    return {
        "runs": per_run,
        "medians": medians(per_run),
        "backlog_records": backlog_n,
        "settings": {
            k: getattr(args, k)
            for k in ("runs", "peak_seconds", "burst_seconds", "alone_peak_seconds", "alone_burst_seconds", "backlog")
        },
    }


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The consumer phases' options (also bench_live.py's)."""
    ap.add_argument("--runs", type=int, default=3, help="runs of the consumer phases (medians, spread)")
    ap.add_argument("--alone-peak-seconds", type=float, default=15, help="each consumer alone at 353/s")
    ap.add_argument("--alone-burst-seconds", type=float, default=5, help="each consumer alone at 3,530/s")
    ap.add_argument("--backlog", type=int, default=1_000_000, help="records each consumer catches up from")


def table(result: dict[str, Any], print_: Callable[[str], None] = print) -> None:
    """Human-readable medians [min-max over runs] (the JSON line has everything)."""
    med = result["medians"]
    print_(
        f"\nshipped consumers: producer receive -> hand-over, ms, medians over {len(result['runs'])} run(s) "
        f"[min-max]; 'over ack' = hand-over - the producer's broker ack of the same record"
    )
    print_(f"{'phase':<24}{'consumer':<14}{'p50':>20}{'p99':>20}{'p99.9':>20}{'p99 over ack':>20}{'ack p99':>20}")
    for phase in ("side_by_side_peak_353", "alone_peak_353", "side_by_side_burst_3530", "alone_burst_3530"):
        names = (BASELINE, *SIDE_BY_SIDE) if phase.startswith("side") else LATENCY_CONSUMERS
        for name in names:
            f = med[phase].get(name, {})
            print_(
                f"{phase:<24}{name:<14}{_cell(f.get('p50_ms')):>20}{_cell(f.get('p99_ms')):>20}"
                f"{_cell(f.get('p999_ms')):>20}{_cell(f.get('over_ack_p99_ms')):>20}"
                f"{_cell(f.get('producer_ack_p99_ms')):>20}"
            )
    print_(f"catch-up from a backlog of {result['backlog_records']:,} records (decode and output), records/s:")
    for name in CATCH_UP_CONSUMERS:
        print_(f"  {name:<14}{_cell(med['catch_up'][name].get('records_per_s'), 0):>30}")


def _cell(ms: Any, digits: int = 2) -> str:
    if not isinstance(ms, dict) or ms.get("median") is None:
        return "-"
    if digits == 0:
        return f"{ms['median']:,.0f} [{ms['min']:,.0f}-{ms['max']:,.0f}]"
    return f"{ms['median']:.{digits}f} [{ms['min']:.{digits}f}-{ms['max']:.{digits}f}]"


def checks(result: dict[str, Any]) -> dict[str, bool]:
    """The targets, on the medians over runs; and nothing lost or duplicated in any run."""
    med = result["medians"]
    out: dict[str, bool] = {}
    for mode in ("alone", "side_by_side"):
        for phase, limit in (("peak_353", 5.0), ("burst_3530", 20.0)):
            names = LATENCY_CONSUMERS if mode == "alone" else SIDE_BY_SIDE
            for name in names:
                p99 = med[f"{mode}_{phase}"].get(name, {}).get("p99_ms", {}).get("median")
                out[f"{mode} {phase} {name} p99 < {limit:g} ms"] = p99 is not None and p99 < limit
    out["catch-up python-lib >= 150,000 records/s"] = (
        med["catch_up"]["python-lib"].get("records_per_s", {}).get("median") or 0
    ) >= 150_000
    complete = True
    for r in result["runs"]:
        for phase, consumers in r.items():
            if phase == "catch_up":
                complete &= all(c["records"] == result["backlog_records"] for c in consumers.values())
                continue
            for name, f in consumers.items():
                if not isinstance(f, dict) or name == BASELINE:
                    continue
                published = f.get("published", consumers.get("published"))
                complete &= f.get("handed_over") == published and f.get("unique", published) == published
                complete &= not f.get("tracker_loss") and not f.get("tracker_duplicates")
    out["every record handed over exactly once, by every consumer, in every run"] = bool(complete)
    return out


def main(argv: list[str] | None = None) -> int:
    from stack import localstack

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peak-seconds", type=float, default=30, help="side by side at 353/s")
    ap.add_argument("--burst-seconds", type=float, default=10, help="side by side at 3,530/s")
    add_arguments(ap)
    args = ap.parse_args(argv)
    stack = localstack.ensure_up(localstack.StackConfig.from_env(), log=lambda m: log(f"stack: {m}"))
    result = run(stack, args)
    table(result)
    result["checks"] = checks(result)
    for name, ok in result["checks"].items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")
    print(json.dumps(result, sort_keys=True))
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
