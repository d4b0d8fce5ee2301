"""The cluster profile: N KRaft nodes on 127.0.0.1, each broker and controller, one quorum of N voters.

`localstack.py up --brokers 3` (`make up BROKERS=3`) starts it beside the registry; the single-node
profile stays the default. Node i is process `kafka-<i>` (PID file, log, properties, data dir in the
state directory) on client port TXF_CLUSTER_KAFKA_PORT + i - 1 and controller port
TXF_CLUSTER_CONTROLLER_PORT + i - 1. `cluster.json` remembers the size and cluster id, so a node can
be killed (SIGKILL by PID) and started again on its data, which is what the fault tests do.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import time

from stack import procs
from stack.config import CLUSTER_SIZES, HOST, Log, StackConfig, StackError
from stack.downloads import fetch, find_kafka_java
from stack.kafka_node import (
    CLUSTER_JVM_OPTS,
    KafkaNode,
    format_storage,
    launch,
    new_cluster_id,
    quorum_state,
    wait_formatted,
)
from stack.probes import broker_listed, cluster_metadata, wait_port_free

STATE_FILE = "cluster.json"


def nodes(cfg: StackConfig, size: int) -> list[KafkaNode]:
    """The nodes of a cluster of `size` under `cfg`'s ports."""
    if size not in CLUSTER_SIZES:
        raise StackError(f"a cluster has {' or '.join(map(str, CLUSTER_SIZES))} nodes (an odd quorum), not {size}")
    voters = tuple((i, cfg.cluster_controller_port + i - 1) for i in range(1, size + 1))
    return [
        KafkaNode(f"kafka-{i}", i, cfg.cluster_kafka_port + i - 1, port, voters, tuple(CLUSTER_JVM_OPTS))
        for i, port in voters
    ]


def bootstrap(cfg: StackConfig, size: int) -> str:
    """Every node's client address: what TXF_KAFKA_BOOTSTRAP holds for the cluster."""
    return ",".join(n.bootstrap for n in nodes(cfg, size))


def recorded_size(cfg: StackConfig) -> int | None:
    """The size of the cluster formatted in this state dir (None: none)."""
    try:
        return int(json.loads((cfg.state_dir / STATE_FILE).read_text())["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def recorded_nodes(cfg: StackConfig) -> list[KafkaNode]:
    size = recorded_size(cfg)
    return nodes(cfg, size) if size else []


def node(cfg: StackConfig, node_id: int) -> KafkaNode:
    for n in recorded_nodes(cfg):
        if n.node_id == node_id:
            return n
    raise StackError(f"no cluster node {node_id} in {cfg.state_dir} (start one with `localstack.py up --brokers 3`)")


@dataclasses.dataclass
class ClusterInfo:
    """What `ensure_cluster` found or did; `pids` holds every running node's PID by name."""

    bootstrap_servers: str
    size: int
    pids: dict[str, int]
    started: list[str]
    seconds: float = 0.0


def listed_nodes(cfg: StackConfig, size: int, timeout: float = 2.0) -> set[int]:
    """Node ids the cluster lists as live brokers (asked through every node's address)."""
    try:
        md = cluster_metadata(bootstrap(cfg, size), timeout=timeout)
    except ConnectionError:
        return set()
    return {node_id for node_id, _h, _p in md["brokers"]}


def _wait_listed(cfg: StackConfig, wanted: list[KafkaNode], size: int, t0: float) -> None:
    """Until the cluster lists every wanted node (registered, unfenced), or a node dies, or the deadline."""
    deadline = t0 + cfg.timeout
    while True:
        waiting = [n for n in wanted if not broker_listed(n.port, timeout=2.0)]
        if not waiting:
            return
        for n in waiting:
            if procs.running_pid(cfg, n.name) is None:
                raise StackError(
                    f"{n.name} exited during start-up; see {cfg.log_file(n.name)}:\n{procs.tail(cfg.log_file(n.name))}"
                )
        if time.monotonic() > deadline:
            raise StackError(
                f"{', '.join(n.name for n in waiting)} not listed by the cluster within {cfg.timeout:.0f} s "
                f"(TXF_STACK_TIMEOUT); see " + ", ".join(str(cfg.log_file(n.name)) for n in waiting)
            )
        time.sleep(0.25)


def ensure_cluster(cfg: StackConfig, size: int = 3, log: Log = print) -> ClusterInfo:
    """Start what is missing of a `size`-node cluster and wait until every node is listed.

    A cluster already formatted here with running nodes keeps its data: stopped nodes start again on
    it. Otherwise every node is formatted afresh (in parallel) and started. Idempotent.
    """
    t0 = time.monotonic()
    want = nodes(cfg, size)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    have = recorded_size(cfg)
    running = {n.name: pid for n in want if (pid := procs.running_pid(cfg, n.name)) is not None}
    if have is not None and have != size and (running or any(procs.running_pid(cfg, n.name) for n in nodes(cfg, have))):
        raise StackError(
            f"a {have}-node cluster runs from {cfg.state_dir}; stop it first (`localstack.py down`) to start {size}"
        )
    fresh = not running
    missing = [n for n in want if n.name not in running]
    busy = [
        (p, what)
        for n in missing
        for p, what in ((n.port, "TXF_CLUSTER_KAFKA_PORT"), (n.controller_port, "TXF_CLUSTER_CONTROLLER_PORT"))
        if not wait_port_free(p)
    ]
    if busy:
        desc = ", ".join(f"{HOST}:{p} ({what} + node - 1)" for p, what in busy)
        raise StackError(
            f"port busy: {desc} is taken by another program than this state dir's cluster. Fix: stop it "
            f"(`ss -ltnp | grep PORT` shows it) or move the cluster, e.g. {busy[0][1]}={busy[0][0] + 100}."
        )
    if not missing:
        _wait_listed(cfg, want, size, t0)
        return ClusterInfo(bootstrap(cfg, size), size, running, [], time.monotonic() - t0)
    java = find_kafka_java()
    fetch(cfg, log, ("kafka",))
    started: list[str] = []
    try:
        if fresh:
            cluster_id = new_cluster_id()
            formats = [(n, format_storage(cfg, n, cluster_id, java)) for n in want]
            _wait_all_formatted(cfg, formats)
            (cfg.state_dir / STATE_FILE).write_text(json.dumps({"size": size, "cluster_id": cluster_id}) + "\n")
        for n in missing:
            running[n.name] = launch(cfg, n, java)
            started.append(n.name)
        _wait_listed(cfg, want, size, t0)
    except BaseException:  # failed, timed out or interrupted: stop what this call started
        for name in started:
            procs.stop_process(cfg, name, log, grace=5)
        raise
    return ClusterInfo(bootstrap(cfg, size), size, running, started, time.monotonic() - t0)


def _wait_all_formatted(cfg: StackConfig, formats: list[tuple[KafkaNode, subprocess.Popen[bytes]]]) -> None:
    errors = []
    for n, proc in formats:
        try:
            wait_formatted(cfg, n, proc)
        except StackError as exc:
            errors.append(str(exc))
    if errors:
        raise StackError("\n".join(errors))


def stop_cluster(cfg: StackConfig, log: Log = print, only: set[str] | None = None) -> list[str]:
    """Stop this state dir's cluster nodes by PID, all at once (the last node of a quorum stopped on its
    own would wait for a controller that is gone); with every node down, delete their data. Returns the
    names stopped."""
    members = [n.name for n in recorded_nodes(cfg) if only is None or n.name in only]
    stopped = procs.stop_processes(cfg, members, log, grace=15)
    if all(procs.running_pid(cfg, n.name) is None for n in recorded_nodes(cfg)):
        for n in recorded_nodes(cfg):
            shutil.rmtree(cfg.data_dir(n.name), ignore_errors=True)
        (cfg.state_dir / STATE_FILE).unlink(missing_ok=True)
    return stopped


# --------------------------------------------------------------------------- fault injection


def kill_node(cfg: StackConfig, node_id: int) -> int:
    """SIGKILL cluster node `node_id` by its PID (a crash: no controlled shutdown); returns the PID."""
    return procs.kill_process(cfg, node(cfg, node_id).name)


def start_node(cfg: StackConfig, node_id: int) -> float:
    """Start a stopped or killed node again on its data; wait until the cluster lists it. Returns seconds."""
    t0 = time.monotonic()
    n = node(cfg, node_id)
    launch(cfg, n)
    _wait_listed(cfg, [n], len(n.voters), t0)
    return time.monotonic() - t0


def active_controller(cfg: StackConfig) -> int | None:
    """Node id of the quorum's active controller, as the running voters last recorded it; None while they
    elect one (no running voter knows a leader)."""
    views = [
        s
        for n in recorded_nodes(cfg)
        if procs.running_pid(cfg, n.name) is not None and (s := quorum_state(cfg, n)) is not None
    ]
    leaders = [s for s in views if s["leaderId"] >= 0]
    return max(leaders, key=lambda s: s["leaderEpoch"])["leaderId"] if leaders else None


def partition_state(cfg: StackConfig, topic: str, partition: int = 0) -> tuple[int, list[int], list[int]]:
    """(leader, replicas, in-sync replicas) of one partition, from the cluster's metadata."""
    size = recorded_size(cfg)
    if size is None:
        raise StackError(f"no cluster in {cfg.state_dir}")
    md = cluster_metadata(bootstrap(cfg, size), timeout=5.0)["topics"].get(topic)
    if md is None or partition not in md.partitions:
        raise StackError(f"topic {topic} partition {partition} is not in the cluster's metadata")
    p = md.partitions[partition]
    return p.leader, sorted(p.replicas), sorted(p.isrs)


def wait_in_sync(cfg: StackConfig, topics: list[str], timeout: float = 60.0) -> float:
    """Until every partition of `topics` has a leader and all its replicas in sync; returns seconds."""
    t0 = time.monotonic()
    size = recorded_size(cfg) or 0
    while True:
        lagging = []
        try:
            md = cluster_metadata(bootstrap(cfg, size), timeout=5.0)["topics"]
            for t in topics:
                parts = md[t].partitions if t in md else {}
                lagging += [
                    f"{t}[{i}]" for i, p in parts.items() if p.leader < 0 or sorted(p.isrs) != sorted(p.replicas)
                ]
                lagging += [t] if not parts else []
        except ConnectionError as exc:
            lagging.append(str(exc))
        if not lagging:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise StackError(f"not back in sync within {timeout:.0f} s: {', '.join(lagging[:5])}")
        time.sleep(0.2)
