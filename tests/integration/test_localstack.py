"""The launcher itself: probes, idempotent start, status CLI, refusal to signal foreign PIDs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stack import kafka_node, localstack

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_probe_speaks_kafka_protocol_and_registry_http(stack):
    cfg = localstack.StackConfig.from_env()
    assert localstack.probe(cfg) == (True, True)
    md = localstack.kafka_metadata(cfg.kafka_port)
    assert md["cluster_id"] and len(md["cluster_id"]) == 22
    assert md["brokers"] == [(1, "127.0.0.1", cfg.kafka_port)]
    assert md["controller_id"] == 1
    assert not localstack.port_free(cfg.kafka_port)
    assert not localstack.port_free(cfg.registry_port)


def test_ensure_up_is_idempotent(stack):
    again = localstack.ensure_up(localstack.StackConfig.from_env(), log=lambda _m: None)
    assert (again.started_kafka, again.started_registry) == (False, False)
    assert (again.bootstrap_servers, again.registry_url) == (stack.bootstrap_servers, stack.registry_url)


def test_status_cli_exit_codes(stack, tmp_path):
    env = dict(os.environ)
    res = subprocess.run(
        [sys.executable, str(REPO_ROOT / "stack" / "localstack.py"), "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [line for line in res.stdout.splitlines() if line.split(" ", 1)[0] in ("kafka", "registry")]
    assert len(rows) == 2 and all("answers" in row for row in rows), res.stdout  # a cluster may run beside
    # nothing listens on these: status must say so and exit 3
    env.update(
        TXF_KAFKA_PORT="1",
        TXF_KAFKA_CONTROLLER_PORT="2",
        TXF_REGISTRY_PORT="3",
        TXF_REGISTRY_MGMT_PORT="4",
        TXF_STACK_STATE=str(tmp_path),
    )
    res = subprocess.run(
        [sys.executable, str(REPO_ROOT / "stack" / "localstack.py"), "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 3, res.stdout + res.stderr
    assert res.stdout.count("NOT answering") == 2


def test_stop_never_signals_a_pid_that_is_not_ours(tmp_path):
    cfg = localstack.StackConfig(cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    cfg.state_dir.mkdir()
    # bystanders that even mention kafka.Kafka / quarkus-run.jar, but lack this state dir's tag
    bystanders = {
        name: subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()", marker], stdin=subprocess.PIPE)
        for name, marker in (("kafka", "kafka.Kafka"), ("registry", "quarkus-run.jar"))
    }
    try:
        for name, proc in bystanders.items():
            cfg.pid_file(name).write_text(f"{proc.pid}\n")
        messages: list[str] = []
        localstack.stop(cfg, log=messages.append)
        assert [p.poll() for p in bystanders.values()] == [None, None]  # both still alive
        assert not cfg.pid_file("kafka").exists() and not cfg.pid_file("registry").exists()
        assert any("not our kafka" in m for m in messages) and any("not our registry" in m for m in messages)
    finally:
        for proc in bystanders.values():
            proc.stdin.close()
            proc.wait(timeout=10)


def test_cluster_ids_never_look_like_an_option():
    # the storage tool's parser reads "-t -abc..." as a missing argument (1 in 64 random ids did fail)
    ids = {localstack._cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_cluster_nodes_are_numbered_on_their_own_ports_and_refuse_an_even_quorum(tmp_path):
    from stack import cluster

    cfg = localstack.StackConfig(
        cache_dir=tmp_path / "cache",
        state_dir=tmp_path / "state",
        cluster_kafka_port=29100,
        cluster_controller_port=29200,
    )
    nodes = cluster.nodes(cfg, 3)
    assert [(n.name, n.node_id, n.port, n.controller_port) for n in nodes] == [
        ("kafka-1", 1, 29100, 29200),
        ("kafka-2", 2, 29101, 29201),
        ("kafka-3", 3, 29102, 29202),
    ]
    assert all(n.voters == ((1, 29200), (2, 29201), (3, 29202)) for n in nodes)
    assert cluster.bootstrap(cfg, 3) == "127.0.0.1:29100,127.0.0.1:29101,127.0.0.1:29102"
    with pytest.raises(localstack.StackError, match="an odd quorum"):
        cluster.nodes(cfg, 2)
    props = kafka_node.server_properties(cfg, nodes[1])
    assert "controller.quorum.voters=1@127.0.0.1:29200,2@127.0.0.1:29201,3@127.0.0.1:29202" in props
    assert "node.id=2" in props and "min.insync.replicas=2" in props and "offsets.topic.replication.factor=3" in props


def test_cluster_ports_that_overlap_the_single_node_are_refused(monkeypatch):
    monkeypatch.setenv("TXF_KAFKA_PORT", "29101")
    monkeypatch.setenv("TXF_CLUSTER_KAFKA_PORT", "29100")
    with pytest.raises(localstack.StackError, match="29101 is both TXF_KAFKA_PORT and TXF_CLUSTER_KAFKA_PORT"):
        localstack.StackConfig.from_env()
