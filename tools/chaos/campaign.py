"""One seeded run of the nemesis: the whole pipeline on the 3-broker cluster, faults on schedule, a verdict.

Two capture legs of one simulated market (a full trading day compressed: a night session and the day
session after it, closed hours skipped), leg a dropping 0.5% of the quotes, both with jitter; an
active and a standby arbiter; the archiver; the bar builder; a consumer group of two `txf-consume`
members; on the three-node cluster with the cluster durability profile. The schedule (schedule.py)
makes every fault kind once, at seeded times. At the end everything is drained and stopped by its
PID, a last compaction runs, and the checker (tools/checker) judges the topics, the archive and the
group's output against the seeded market's truth.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from stack import cluster, localstack
from tools.chaos.schedule import Fault, draw
from tools.runner import Runner
from txf_kit import calendar
from txf_registry import provision

#: the market: a Monday's night session and the Tuesday day session after it (one trading day, no expiry)
MARKET_START = datetime(2026, 11, 23, 14, 50, tzinfo=calendar.TAIPEI)
MARKET_END = datetime(2026, 11, 24, 13, 45, tzinfo=calendar.TAIPEI)
#: the market's run in market seconds (closed hours skipped: the night, the pre-opens, the day)
MARKET_S = (14 * 3600 + 10 * 60) + (5 * 3600 + 15 * 60)


@dataclass(frozen=True)
class Profile:
    name: str
    speed: float  # market seconds per wall second
    intensity: float  # x the intraday rate (1 ~ 410,000 quotes a day)
    window_s: float  # the arbiter's identity window, market seconds
    grace_s: float  # the bar builder's grace, market seconds
    gap_floor_s: float  # the shortest capture silence the arbiter may call a hole, market seconds
    leg_drop: float = 0.005  # leg a's share of quotes never received
    jitter_ms: float = 20.0

    @property
    def market_wall_s(self) -> float:
        return MARKET_S / self.speed

    def window_wall_s(self) -> float:
        return self.window_s / self.speed


#: A compressed day turns wall delays into long market ones: a leg frozen 3 s is 20 market minutes late
#: in a market run 400 times faster. So the window and the bars' grace are ~10-30 s of wall time (the
#: real defaults, 300 s and 5 s, hold for a feed at 1x), and the hole floor is raised where the market
#: runs below the activity model's real rate (intensity < 1: a quiet night's natural silence is then
#: longer than the model's bound, and would be a false hole).
PROFILES = {
    # make test: ~175 s of market, ~120,000 quotes
    "ci": Profile("ci", speed=400.0, intensity=0.3, window_s=4_000.0, grace_s=4_000.0, gap_floor_s=120.0),
    # make chaos: ~12 minutes of market, ~1.1 million quotes
    "full": Profile("full", speed=100.0, intensity=2.7, window_s=3_000.0, grace_s=3_000.0, gap_floor_s=10.0),
}
LEGS = {"a": 11, "b": 22}  # leg -> its seed


@dataclass
class Run:
    """One seed's run: where it writes, what it started, what happened when."""

    seed: int
    profile: Profile
    work: Path
    prefix: str = field(default_factory=lambda: f"chaos{uuid.uuid4().hex[:6]}-")
    anchor_ns: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    def note(self, what: str, **detail: Any) -> None:
        self.events.append({"t_s": round((time.time_ns() - self.anchor_ns) / 1e9, 2), "event": what, **detail})


class Campaign:
    """The processes and the faults of one run (`execute`), on a cluster that is up."""

    def __init__(self, run: Run, cfg: localstack.StackConfig, info: localstack.StackInfo) -> None:
        self.run = run
        self.cfg = cfg
        self.info = info
        p = run.profile
        self.runner = Runner(
            run.work / "logs",
            {
                "TXF_KAFKA_BOOTSTRAP": info.bootstrap_servers,
                "TXF_REGISTRY_URL": info.registry_url,
                "TXF_TOPIC_PREFIX": run.prefix,
                "TXF_METRICS_PORT": "0",
                "TXF_ARBITER_METRICS_PORT": "0",
                "TXF_ARBITER_WINDOW_S": f"{p.window_s:g}",
                "TXF_ARBITER_GAP_FLOOR_S": f"{p.gap_floor_s:g}",
                "TXF_BARS_GRACE_S": f"{p.grace_s:g}",
                "TXF_ARCHIVE_ROOT": str(run.work / "archive"),
                "TXF_FLUSH_TIMEOUT_S": "3",
                "TXF_STARTUP_DEADLINE_S": "60",
                "TXF_LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            },
        )
        self.kafka = {"bootstrap.servers": info.bootstrap_servers}
        self.down: set[str] = set()  # what the nemesis holds down now (the supervisor leaves it)
        self._lock = threading.Lock()
        self._supervising = threading.Event()

    # --- the processes ----------------------------------------------------------------------------

    def leg(self, name: str) -> None:
        p, run = self.run.profile, self.run
        self.runner.start(
            f"leg-{name}",
            [
                "txf-producer",
                "run",
                "--source",
                "sim",
                "--seed",
                str(run.seed),
                "--sim-start",
                calendar.taipei(calendar.to_ns(MARKET_START)).replace(tzinfo=None).isoformat(),
                "--sim-end",
                calendar.taipei(calendar.to_ns(MARKET_END)).replace(tzinfo=None).isoformat(),
                "--speed",
                f"{p.speed:g}",
                "--sim-anchor-ns",
                str(run.anchor_ns),
                "--sim-intensity",
                f"{p.intensity:g}",
                "--leg-seed",
                str(LEGS[name]),
                "--leg-drop",
                str(p.leg_drop if name == "a" else 0.0),
                "--leg-jitter-ms",
                f"{p.jitter_ms:g}",
            ],
            TXF_CAPTURE_LEG=name,
            TXF_STATE_DIR=str(run.work / f"state-{name}"),
        )

    def arbiter(self, name: str) -> None:
        self.runner.start(name, ["txf-arbiter", "run"], TXF_STATE_DIR=str(self.run.work / f"state-{name}"))

    def consumer(self, name: str) -> None:
        topics = ",".join(self.run.prefix + t for t in ("txf-tick", "txf-bidask"))
        self.runner.start(
            name,
            [
                "txf-consume",
                "--bootstrap",
                self.info.bootstrap_servers,
                "--registry",
                self.info.registry_url,
                "--topics",
                topics,
                "--group",
                self.run.prefix + "group",
                "--from-beginning",
                "--output",
                "jsonl",
                "--connect-timeout-s",
                "120",
            ],
        )

    # --- the run ----------------------------------------------------------------------------------

    def execute(self) -> list[Fault]:
        run, p = self.run, self.run.profile
        provision(self.info.bootstrap_servers, self.info.registry_url, run.prefix, legs=True)
        cluster.wait_in_sync(self.cfg, [run.prefix + "txf-bidask", run.prefix + "txf-tick"], timeout=120)
        for name in ("arbiter-1", "arbiter-2"):
            self.arbiter(name)
        self.runner.start("archiver", ["txf-archive", "run"])
        self.runner.start("bars", ["txf-archive", "bars"])
        deadline = time.monotonic() + 120
        while not any("arbiter: active" in self.runner.log(n) for n in ("arbiter-1", "arbiter-2")):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no arbiter became active: {self.runner.log('arbiter-1')[-2000:]}")
            time.sleep(0.2)
        for name in ("consumer-1", "consumer-2"):
            self.consumer(name)
        # the market starts when both legs are surely up: a leg delivers nothing that was due before it
        # started (a late one would miss the opening quotes, and so would the truth's capture record)
        run.anchor_ns = time.time_ns() + 20_000_000_000
        for name in LEGS:
            self.leg(name)
        for name in LEGS:
            self.runner.wait_for_log(f"leg-{name}", "producing: run id", 60)
        if time.time_ns() > run.anchor_ns:
            raise RuntimeError("the legs were not producing before the market started: a set-up this slow is no run")
        faults = draw(run.seed, p.market_wall_s, p.window_wall_s())
        run.note("market starts", wall_s=round(p.market_wall_s, 1))
        supervisor = threading.Thread(target=self._supervise, name="chaos-supervisor", daemon=True)
        self._supervising.set()
        supervisor.start()
        try:
            for fault in sorted(faults, key=lambda f: f.at_s):
                self._wait_until(fault.at_s)
                self._fault(fault)
            self._finish()
        finally:
            self._supervising.clear()
            supervisor.join(10)
        return faults

    def _supervise(self) -> None:
        """systemd's Restart= for every service of the run: one that ended on its own (a fatal error,
        exit 1) while the nemesis was not holding it down is started again 2 s later (the units'
        RestartSec=), and noted. A leg that ended with its feed (exit 0) is done."""
        starts = {"leg-a": self.leg, "leg-b": self.leg}
        while self._supervising.wait(1.0) and self._supervising.is_set():
            with self._lock:
                for name in ("arbiter-1", "arbiter-2", "archiver", "bars", "leg-a", "leg-b"):
                    proc = self.runner.procs.get(name)
                    if proc is None or name in self.down or proc.poll() is None:
                        continue
                    if name.startswith("leg") and proc.returncode == 0:
                        continue
                    self.run.note(f"{name} ended on its own (exit {proc.returncode}): restarted, as systemd does")
                    time.sleep(2.0)
                    if name in starts:
                        starts[name](name.removeprefix("leg-"))
                    elif name.startswith("arbiter"):
                        self.arbiter(name)
                    else:
                        self.runner.start(name, ["txf-archive", "run" if name == "archiver" else "bars"])

    def _wait_until(self, at_s: float) -> None:
        """The schedule: a fault happens at its time (a plan, not a wait for something to be ready)."""
        delay = self.run.anchor_ns / 1e9 + at_s - time.time()
        if delay > 0:
            time.sleep(delay)

    def _fault(self, f: Fault) -> None:
        held = {
            "leg_sigkill": {f"leg-{f.target}"},
            "leg_sigstop": {f"leg-{f.target}"},
            "arbiter_sigkill": {"arbiter-1", "arbiter-2"},
            "arbiter_outage": {"arbiter-1", "arbiter-2"},
            "two_brokers_down": {f"leg-{f.target}"},
            "archiver_sigkill": {"archiver"},
            "bars_sigkill": {"bars"},
        }.get(f.kind, set())
        with self._lock:
            self.down |= held
        try:
            self._make(f)
        finally:
            with self._lock:
                self.down -= held

    def _make(self, f: Fault) -> None:
        run, r = self.run, self.runner
        run.note(f"{f.kind} begins", target=f.target, planned_s=f.at_s, duration_s=f.duration_s)
        if f.kind == "leg_sigkill":
            r.stop(f"leg-{f.target}", signal.SIGKILL)
            time.sleep(f.duration_s)
            self.leg(f.target)
        elif f.kind == "leg_sigstop":
            r.send_signal(f"leg-{f.target}", signal.SIGSTOP)
            time.sleep(f.duration_s)
            r.send_signal(f"leg-{f.target}", signal.SIGCONT)
        elif f.kind == "arbiter_sigkill":
            active = self._active_arbiter()
            r.stop(active, signal.SIGKILL)
            time.sleep(f.duration_s)
            self.arbiter(active)
        elif f.kind == "arbiter_outage":
            for name in ("arbiter-1", "arbiter-2"):
                r.stop(name, signal.SIGKILL)
            time.sleep(f.duration_s)
            for name in ("arbiter-1", "arbiter-2"):
                self.arbiter(name)
        elif f.kind in ("leader_sigkill", "controller_sigkill"):
            if f.kind == "leader_sigkill":
                node = cluster.partition_state(self.cfg, run.prefix + "txf-bidask")[0]
            else:
                node = cluster.active_controller(self.cfg) or 1
            cluster.kill_node(self.cfg, node)
            run.note(f"node {node} SIGKILLed")
            time.sleep(f.duration_s)
            cluster.start_node(self.cfg, node)
        elif f.kind == "two_brokers_down":
            leader = cluster.partition_state(self.cfg, run.prefix + "txf-bidask")[0]
            down = [leader, next(n for n in (1, 2, 3) if n != leader)]
            for node in down:
                cluster.kill_node(self.cfg, node)
            run.note(f"nodes {down} SIGKILLed")
            time.sleep(1.0)
            leg = f"leg-{f.target}"
            code = r.stop(leg, signal.SIGTERM, 60)  # its flush bound runs out: it spools what it holds
            run.note(f"{leg} SIGTERMed while 2 of 3 brokers are down", exit_code=code)
            time.sleep(max(0.0, f.duration_s - 1.0))
            for node in down:
                cluster.start_node(self.cfg, node)
            self._wait_writable()
            # the leg streams again first, as the RUNBOOK allows: its new records settle respool's read-back
            # of its topics within seconds (without them respool waits replica.lag.time.max.ms, 30 s)
            self.leg(f.target)
            spool = run.work / f"state-{f.target}" / "spool.msgpack"
            if spool.exists():
                done = r.start(
                    f"respool-{f.target}",
                    ["txf-producer", "respool", str(spool)],
                    TXF_CAPTURE_LEG=f.target,
                    TXF_STATE_DIR=str(run.work / f"state-{f.target}"),
                )
                run.note("respool", exit_code=done.wait(240), output=r.log(f"respool-{f.target}").strip()[-300:])
        elif f.kind == "archiver_sigkill":
            r.stop("archiver", signal.SIGKILL)
            time.sleep(f.duration_s)
            r.start("archiver", ["txf-archive", "run"])
        elif f.kind == "bars_sigkill":
            r.stop("bars", signal.SIGKILL)
            time.sleep(f.duration_s)
            r.start("bars", ["txf-archive", "bars"])
        elif f.kind == "compaction_sigkill":
            proc = r.start("compaction", ["txf-archive", "compact", "--keep-days", "0"])
            time.sleep(f.duration_s)
            killed = proc.poll() is None
            r.stop("compaction", signal.SIGKILL)
            run.note("compaction " + ("SIGKILLed midway" if killed else "had finished before its kill"))
        run.note(f"{f.kind} ends")

    def _wait_writable(self, timeout_s: float = 120) -> None:
        """Until every topic of the run has a leader and 2 replicas in sync (min.insync.replicas: writable)."""
        topics = [self.run.prefix + t for t in ("txf-tick", "txf-bidask")]
        topics += [f"{self.run.prefix}leg-{leg}.{t}" for leg in LEGS for t in ("txf-tick", "txf-bidask")]
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                states = [cluster.partition_state(self.cfg, t) for t in topics]
                if all(leader >= 0 and len(isr) >= 2 for leader, _replicas, isr in states):
                    return
            except Exception:  # noqa: BLE001 - the metadata is not there yet: ask again
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the topics were not writable again within {timeout_s:g} s")
            time.sleep(0.2)

    def _active_arbiter(self) -> str:
        """The arbiter whose log says it is active (its last word: active, not standby)."""

        def active(name: str) -> bool:
            text = self.runner.log(name)
            return text.rfind("arbiter: active") > max(text.rfind("standby"), text.rfind("membership lost"))

        return next((n for n in ("arbiter-1", "arbiter-2") if active(n)), "arbiter-1")

    def _finish(self) -> None:
        """Drain and stop everything by its PID, in the order that loses nothing; then a last compaction."""
        run, r = self.run, self.runner
        for name in LEGS:
            code = r.procs[f"leg-{name}"].wait(self.run.profile.market_wall_s + 300)
            run.note(f"leg-{name} ended", exit_code=code)
        self._wait_arbiter_done()
        with self._lock:
            self.down |= {"arbiter-1", "arbiter-2", "archiver", "bars", "leg-a", "leg-b"}
        for name in ("arbiter-1", "arbiter-2"):
            r.stop(name)
        ends = self._ends(("txf-tick", "txf-bidask"))
        self._wait_consumers(ends)
        for name in ("consumer-1", "consumer-2"):
            r.stop(name)
        r.stop("bars")
        r.stop("archiver")
        done = r.start("compaction-final", ["txf-archive", "compact", "--keep-days", "0"])
        run.note("final compaction", exit_code=done.wait(600))
        run.note("all stopped")

    def _ends(self, topics: tuple[str, ...], timeout_s: float = 120) -> dict[str, int]:
        c = Consumer({**self.kafka, "group.id": f"ends-{uuid.uuid4().hex}"})
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    return {
                        t: c.get_watermark_offsets(TopicPartition(self.run.prefix + t, 0), timeout=30)[1]
                        for t in topics
                    }
                except KafkaException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)  # no leader yet after the faults: ask again
        finally:
            c.close()

    def _wait_arbiter_done(self, timeout_s: float = 300) -> None:
        """Until the arbiters' group has committed every leg record (all of it is arbitrated)."""
        run = self.run
        legs = [f"{run.prefix}leg-{leg}.{t}" for leg in LEGS for t in ("txf-tick", "txf-bidask")]
        c = Consumer({**self.kafka, "group.id": run.prefix + "txf-arbiter", "enable.auto.commit": False})
        try:
            deadline = time.monotonic() + timeout_s
            committed: dict[str, int] = {}
            highs: dict[str, int] = {}
            while True:
                try:
                    parts = [TopicPartition(t, 0) for t in legs]
                    committed = {tp.topic: tp.offset for tp in c.committed(parts, timeout=30)}
                    highs = {t: c.get_watermark_offsets(TopicPartition(t, 0), timeout=30)[1] for t in legs}
                    if all(committed[t] >= highs[t] for t in legs):
                        run.note("the arbiters committed every leg record")
                        return
                except KafkaException:
                    pass  # the metadata is moving after the faults (no leader yet): ask again
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the arbiters did not catch up: committed {committed}, ends {highs}")
                time.sleep(0.5)
        finally:
            c.close()

    def _wait_consumers(self, ends: dict[str, int], timeout_s: float = 300) -> None:
        """Until the group's members handed over every canonical record (or the timeout: the checker says)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            seen = group_output(self.run.work / "logs", ("consumer-1", "consumer-2"))
            if all(len({o for _p, o in seen.get(self.run.prefix + t, [])}) >= n for t, n in ends.items()):
                return
            time.sleep(0.5)
        self.run.note("the consumer group did not hand over every record within the timeout")

    def close(self) -> None:
        self.runner.close()


def group_output(logs: Path, members: tuple[str, ...]) -> dict[str, list[tuple[int, int]]]:
    """(partition, offset) of every record the group's members handed over, per topic, in output order."""
    out: dict[str, list[tuple[int, int]]] = {}
    for name in members:
        path = logs / f"{name}.log"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith('{"topic"'):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut by a stop
                out.setdefault(rec["topic"], []).append((rec["partition"], rec["offset"]))
    return out


def stack_up(log: Any = print) -> tuple[localstack.StackConfig, localstack.StackInfo]:
    """The three-node cluster beside the registry (started if needed)."""
    cfg = localstack.StackConfig.from_env()
    info = localstack.ensure_up(cfg, log=log, brokers=3)
    return cfg, info
