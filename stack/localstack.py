#!/usr/bin/env python3
"""Local development stack: Apache Kafka (KRaft) + Apicurio Registry (Confluent API).

Usage:  python stack/localstack.py up [--brokers 3 | --secure] | down | status | fetch | kill-node ID | start-node ID

Profiles: one KRaft node (the default, `make up`), a cluster of three (`--brokers 3`, `make up
BROKERS=3`): every node broker and controller, a controller quorum of three, or the secured profile
(`--secure`, `make up SECURE=1`): one node with SASL_SSL (SCRAM-SHA-512) and ACLs, see stack/secure.py.
Each runs beside one registry, and they can run at once (different ports).

Standard library, plus confluent-kafka for the Kafka readiness probe (a real client's metadata
request). Binaries come from Maven Central through `mvn` (versions pinned in
stack/pom.xml) into a cache outside the repository; processes bind to 127.0.0.1 only.

Environment:
  TXF_STACK_CACHE              download cache          (default ~/.cache/txfstream/stack)
  TXF_STACK_STATE              PID files, logs, data   (default <repo>/.stack)
  TXF_KAFKA_PORT               Kafka client port       (default 19092)
  TXF_KAFKA_CONTROLLER_PORT    KRaft controller port   (default 19093)
  TXF_CLUSTER_KAFKA_PORT       cluster node 1's client port, node i +i-1      (default 19192)
  TXF_CLUSTER_CONTROLLER_PORT  cluster node 1's controller port, node i +i-1  (default 19292)
  TXF_SECURE_KAFKA_PORT        secured profile: SASL_SSL client port           (default 19094)
  TXF_SECURE_CONTROLLER_PORT   secured profile: KRaft controller (mutual TLS)  (default 19095)
  TXF_REGISTRY_PORT            registry HTTP port      (default 18081)
  TXF_REGISTRY_MGMT_PORT       registry management     (default registry port + 1)
  TXF_JAVA21_HOME              JDK (21+) for Apicurio  (default: newest 21+ JDK found)
  TXF_STACK_TIMEOUT            start-up wait, seconds  (default 120)

Importable: ``from stack.localstack import ensure_up, stop, probe, StackConfig, StackInfo``; the cluster's
node control is in ``stack.cluster`` (kill_node, start_node, active_controller, partition_state).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script (python stack/localstack.py): make `stack` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stack import acls, cluster, procs, secure
from stack.config import HOST, REPO_ROOT, SECURE, SINGLE, Log, StackConfig, StackError, StackInfo
from stack.downloads import fetch, find_kafka_java, find_registry_java, kafka_home, registry_home, versions
from stack.kafka_node import KAFKA_JVM_OPTS, KafkaNode, launch, new_cluster_id, start_fresh
from stack.probes import kafka_metadata, kafka_ready, port_free, probe, registry_ready, wait_port_free

__all__ = [
    "REPO_ROOT",
    "StackConfig",
    "StackError",
    "StackInfo",
    "ensure_up",
    "fetch",
    "kafka_home",
    "kafka_metadata",
    "kafka_ready",
    "kill_kafka",
    "port_free",
    "probe",
    "registry_home",
    "registry_ready",
    "restart_kafka",
    "running_pid",
    "stop",
    "stop_registry",
    "versions",
]

EXIT_NOT_READY = 3
REGISTRY_JVM_OPTS = ["-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
running_pid = procs.running_pid
_cluster_id = new_cluster_id  # kept for callers of the old name


def single_node(cfg: StackConfig) -> KafkaNode:
    """The single-node profile: node 1, its own quorum."""
    return KafkaNode(SINGLE, 1, cfg.kafka_port, cfg.controller_port, ((1, cfg.controller_port),), tuple(KAFKA_JVM_OPTS))


def _start_registry(cfg: StackConfig, java: str) -> int:
    home = registry_home(cfg)
    cmd = [
        java,
        *REGISTRY_JVM_OPTS,
        cfg.tag,
        f"-Dquarkus.http.host={HOST}",
        f"-Dquarkus.http.port={cfg.registry_port}",
        f"-Dquarkus.management.host={HOST}",
        f"-Dquarkus.management.port={cfg.registry_mgmt_port}",
        "-Dquarkus.http.access-log.enabled=false",
        "-Dquarkus.log.level=WARN",
        "-jar",
        str(home / "quarkus-run.jar"),
    ]
    return procs.spawn(cfg, "registry", cmd, cfg.state_dir, fresh_log=True)


def ensure_up(cfg: StackConfig | None = None, log: Log = print, brokers: int = 1, secured: bool = False) -> StackInfo:
    """Start what is not already answering; wait (bounded) until Kafka and the registry answer.

    `brokers` 1 is the single-node profile, 3 the cluster profile (stack/cluster.py); `secured` the
    secured profile (stack/secure.py: one SASL_SSL node with ACLs for the topic map's topics) instead
    of the single node. Idempotent: services that already answer on the configured ports are left
    alone (and not marked as started, so a caller's stop() leaves them running).
    """
    cfg = cfg or StackConfig.from_env()
    t0 = time.monotonic()
    if secured and brokers != 1:
        raise StackError("the secured profile is one node: give --secure or --brokers, not both")
    single = brokers == 1
    if not single:
        cluster.nodes(cfg, brokers)  # refuses an unsupported size before anything starts
    name = SECURE if secured else SINGLE
    address = secure.bootstrap(cfg) if secured else cfg.bootstrap_servers
    info = StackInfo(address if single else cluster.bootstrap(cfg, brokers), cfg.registry_url)
    info.brokers, info.secured = brokers, secured
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    r_ok = registry_ready(cfg)
    r_pid = procs.running_pid(cfg, "registry")
    k_ok = _kafka_answers(cfg, secured) if single else True
    k_pid = procs.running_pid(cfg, name) if single else None
    info.kafka_pid, info.registry_pid = k_pid, r_pid
    start_kafka = single and not k_ok and k_pid is None
    start_registry = not r_ok and r_pid is None

    # everything that can fail fast before starting anything
    ports = []
    if start_kafka and secured:
        ports += [
            (cfg.secure_kafka_port, "TXF_SECURE_KAFKA_PORT"),
            (cfg.secure_controller_port, "TXF_SECURE_CONTROLLER_PORT"),
        ]
    elif start_kafka:
        ports += [(cfg.kafka_port, "TXF_KAFKA_PORT"), (cfg.controller_port, "TXF_KAFKA_CONTROLLER_PORT")]
    if start_registry:
        ports += [(cfg.registry_port, "TXF_REGISTRY_PORT"), (cfg.registry_mgmt_port, "TXF_REGISTRY_MGMT_PORT")]
    busy = [(p, what) for p, what in ports if not wait_port_free(p)]
    if busy:
        desc = ", ".join(f"{HOST}:{p} ({what})" for p, what in busy)
        raise StackError(
            f"port busy: {desc} is taken by another program that is not this stack answering. "
            f"Fix: stop that program (`ss -ltnp | grep PORT` shows it) or choose free ports, "
            f"e.g. {busy[0][1]}={busy[0][0] + 100}."
        )
    kafka_java = find_kafka_java() if start_kafka else None
    registry_java = find_registry_java() if start_registry else None
    need = tuple(n for n, s in (("kafka", start_kafka or not single), ("registry", start_registry)) if s)
    if need:
        fetch(cfg, log, need)

    t_start = time.monotonic()
    try:
        if start_registry:  # the registry's JVM boots while Kafka formats its storage
            assert registry_java is not None
            info.registry_pid = _start_registry(cfg, registry_java)
            info.started_registry = True
        if start_kafka:
            assert kafka_java is not None
            if secured:
                info.kafka_pid = secure.start(cfg, kafka_java, log)
            else:
                info.kafka_pid = start_fresh(cfg, single_node(cfg), kafka_java, log)
            info.started_kafka = True
        if not single:
            nodes = cluster.ensure_cluster(cfg, brokers, log)
            info.nodes, info.started_nodes = nodes.pids, nodes.started
            info.kafka_seconds = nodes.seconds if nodes.started else None
        _wait_ready(cfg, info, t_start, waiting={"kafka": single and not k_ok, "registry": not r_ok})
        if secured and info.started_kafka:
            acls.grant(cfg)  # the topic map's topics, unprefixed; tests grant their own prefixes
    except BaseException:  # failed, timed out or interrupted: stop what this call started
        _cleanup_failed(cfg, info, log)
        raise
    info.total_seconds = time.monotonic() - t0
    return info


def _kafka_answers(cfg: StackConfig, secured: bool, timeout: float = 3.0) -> bool:
    """The single node (or the secured node) answers a metadata request and lists itself."""
    return secure.ready(cfg, timeout) if secured else kafka_ready(cfg, timeout)


def _wait_ready(cfg: StackConfig, info: StackInfo, t_start: float, waiting: dict[str, bool]) -> None:
    deadline = t_start + cfg.timeout
    kafka = info.kafka_name
    while any(waiting.values()):
        for name, check in (
            (SINGLE, lambda c, timeout: _kafka_answers(c, info.secured, timeout)),
            ("registry", registry_ready),
        ):
            if not waiting[name]:
                continue
            pid = info.kafka_pid if name == SINGLE else info.registry_pid
            shown = kafka if name == SINGLE else name
            if check(cfg, timeout=2.0):
                waiting[name] = False
                took = time.monotonic() - t_start
                if name == SINGLE:
                    info.kafka_seconds = took
                else:
                    info.registry_seconds = took
            elif pid is not None and not procs.alive(pid):
                raise StackError(
                    f"{shown} exited during start-up; see {cfg.log_file(shown)}:\n{procs.tail(cfg.log_file(shown))}"
                )
        if any(waiting.values()):
            if time.monotonic() > deadline:
                late = [kafka if n == SINGLE else n for n, w in waiting.items() if w]
                raise StackError(
                    f"{' and '.join(late)} did not answer within {cfg.timeout:.0f} s "
                    f"(TXF_STACK_TIMEOUT); see " + ", ".join(str(cfg.log_file(n)) for n in late)
                )
            time.sleep(0.25)


def _cleanup_failed(cfg: StackConfig, info: StackInfo, log: Log) -> None:
    kafka = info.kafka_name
    started = {n for n, s in ((kafka, info.started_kafka), ("registry", info.started_registry)) if s}
    if started:
        stop(cfg, only=started, log=log)
    if info.started_nodes:
        cluster.stop_cluster(cfg, log, only=set(info.started_nodes))


def stop(cfg: StackConfig | None = None, only: set[str] | None = None, log: Log = print) -> None:
    """Stop what this state dir started: everything, or just `only` ("kafka", "registry", "cluster",
    "kafka-secure"); delete the Kafka data (and the secured profile's secrets)."""
    cfg = cfg or StackConfig.from_env()
    if only is None or "cluster" in only:
        cluster.stop_cluster(cfg, log)
    if only is None or SECURE in only:
        secure.stop(cfg, log)
    names = [n for n in ("registry", SINGLE) if only is None or n in only]
    for name in names:
        procs.stop_process(cfg, name, log)
    if SINGLE in names and procs.running_pid(cfg, SINGLE) is None and cfg.kafka_data.exists():
        shutil.rmtree(cfg.kafka_data, ignore_errors=True)


# --------------------------------------------------------------------------- fault injection


def kill_kafka(cfg: StackConfig) -> int:
    """SIGKILL our single-node broker by its PID (a crash: no shutdown, no flush); returns the PID."""
    return procs.kill_process(cfg, SINGLE)


def restart_kafka(cfg: StackConfig, log: Log = print) -> int:
    """Start our single-node broker again on its existing data (no format) and wait until it answers."""
    if procs.running_pid(cfg, SINGLE) is not None:
        raise StackError("Kafka is still running; kill_kafka() or stop() it first")
    info = StackInfo(cfg.bootstrap_servers, cfg.registry_url)
    info.kafka_pid = launch(cfg, single_node(cfg))
    info.started_kafka = True
    _wait_ready(cfg, info, time.monotonic(), waiting={SINGLE: True, "registry": False})
    return info.kafka_pid


def stop_registry(cfg: StackConfig, log: Log = print) -> None:
    """Stop only our registry (by PID). For fault tests."""
    procs.stop_process(cfg, "registry", log)


# --------------------------------------------------------------------------- CLI


def cmd_up(cfg: StackConfig, brokers: int, secured: bool = False) -> int:
    info = ensure_up(cfg, brokers=brokers, secured=secured)
    kafka = info.kafka_name
    rows = [(kafka, info.started_kafka, info.kafka_pid, info.kafka_seconds, info.bootstrap_servers)]
    if brokers > 1:
        rows = [
            (n.name, n.name in info.started_nodes, info.nodes.get(n.name), info.kafka_seconds, n.bootstrap)
            for n in cluster.nodes(cfg, brokers)
        ]
    rows.append(("registry", info.started_registry, info.registry_pid, info.registry_seconds, cfg.registry_url))
    for name, started, pid, secs, addr in rows:
        if started:
            when = f"answered after {secs:.1f} s" if secs is not None else "answers"
            print(f"{name:8s} started  PID {pid}  {addr}  {when}  (log {cfg.log_file(name)})")
        else:
            print(f"{name:8s} already answering  {addr}")
    print(f"stack up in {info.total_seconds:.1f} s (state {cfg.state_dir})")
    print("\n".join(info.env_lines))
    if secured:
        print(f"# SASL_SSL, {secure.MECHANISM}, ACLs on; one settings file per principal (0600), e.g. the producer's:")
        print("\n".join(secure.env_lines(cfg, secure.principal("producer").name)))
        print("# " + ", ".join(f"{p.name} ({p.role})" for p in secure.PRINCIPALS) + f": {cfg.secure_dir}/<name>.env")
    return 0


def cmd_down(cfg: StackConfig) -> int:
    names = [SINGLE, SECURE, "registry", *(n.name for n in cluster.recorded_nodes(cfg))]
    before = [n for n in names if cfg.pid_file(n).exists()]
    stop(cfg)
    if not before:
        print(f"nothing to stop (no PID files in {cfg.state_dir})")
    return 0


def cmd_status(cfg: StackConfig) -> int:
    k_ok, r_ok = probe(cfg)
    rows = [(SINGLE, k_ok, cfg.bootstrap_servers, f"client {cfg.kafka_port}, controller {cfg.controller_port}")]
    members = cluster.recorded_nodes(cfg)
    listed = cluster.listed_nodes(cfg, len(members)) if members else set()
    rows += [
        (n.name, n.node_id in listed, n.bootstrap, f"client {n.port}, controller {n.controller_port}") for n in members
    ]
    secure_ok = procs.running_pid(cfg, SECURE) is not None and secure.ready(cfg)
    if procs.running_pid(cfg, SECURE) is not None:
        ports = f"sasl_ssl {cfg.secure_kafka_port}, controller {cfg.secure_controller_port}"
        rows.append((SECURE, secure_ok, secure.bootstrap(cfg), ports))
    rows.append(("registry", r_ok, cfg.registry_url, f"http {cfg.registry_port}, management {cfg.registry_mgmt_port}"))
    for name, ok, addr, ports in rows:
        pid = procs.running_pid(cfg, name)
        proc = f"PID {pid}" if pid else "not started here"
        print(f"{name:8s} {proc:18s} ports {ports:32s} {'answers' if ok else 'NOT answering'}  {addr}")
    if members:
        controller = cluster.active_controller(cfg)
        print(f"cluster of {len(members)}: brokers listed {sorted(listed)}, active controller {controller or 'none'}")
    print(f"state {cfg.state_dir}  cache {cfg.cache_dir}")
    cluster_ok = bool(members) and len(listed) == len(members)
    return 0 if r_ok and (k_ok or cluster_ok or secure_ok) else EXIT_NOT_READY


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="localstack.py", description=(__doc__ or "").split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start (idempotent) and wait until everything answers")
    up.add_argument(
        "--brokers", type=int, default=1, help="1: one KRaft node (default); 3: the cluster profile (quorum of three)"
    )
    up.add_argument(
        "--secure", action="store_true", help="the secured profile: one node, SASL_SSL + SCRAM-SHA-512, ACLs on"
    )
    sub.add_parser("down", help="stop everything this state dir started (by PID), delete the Kafka data")
    sub.add_parser("status", help="PIDs, ports, answers?  exit 0 = the registry and a Kafka profile answer, 3 = not")
    sub.add_parser("fetch", help="only fill the download cache")
    for name, what in (("kill-node", "SIGKILL cluster node ID by its PID"), ("start-node", "start node ID again")):
        p = sub.add_parser(name, help=what)
        p.add_argument("node_id", type=int)
    args = ap.parse_args(argv)
    try:
        cfg = StackConfig.from_env()
        if args.command == "up":
            return cmd_up(cfg, args.brokers, args.secure)
        if args.command == "down":
            return cmd_down(cfg)
        if args.command == "status":
            return cmd_status(cfg)
        if args.command == "kill-node":
            print(f"kafka-{args.node_id}: killed (PID {cluster.kill_node(cfg, args.node_id)})")
            return 0
        if args.command == "start-node":
            print(f"kafka-{args.node_id}: listed again after {cluster.start_node(cfg, args.node_id):.1f} s")
            return 0
        find_kafka_java()
        find_registry_java()
        fetch(cfg)
        print(f"cache complete: {kafka_home(cfg)}, {registry_home(cfg)}")
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
