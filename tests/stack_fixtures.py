"""Session fixtures for every test against the real local stack (Kafka KRaft + Apicurio Registry).

The session fixture `stack` reuses a stack that already answers on the configured ports
(`make up`, or env TXF_KAFKA_PORT / TXF_REGISTRY_PORT ...), otherwise starts one with
stack/localstack.py and stops, at session end, only what it started.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from stack import localstack  # noqa: E402


@pytest.fixture(scope="session")
def stack() -> Iterator[localstack.StackInfo]:
    cfg = localstack.StackConfig.from_env()
    try:
        info = localstack.ensure_up(cfg, log=lambda m: print(f"[stack] {m}", file=sys.stderr))
    except localstack.StackError as exc:
        pytest.fail(f"local stack did not come up: {exc}", pytrace=False)
    started = {n for n, s in (("kafka", info.started_kafka), ("registry", info.started_registry)) if s}
    print(
        f"[stack] {info.bootstrap_servers} {info.registry_url} started here: {sorted(started) or 'nothing'} "
        f"({info.total_seconds:.1f} s)",
        file=sys.stderr,
    )
    try:
        yield info
    finally:
        if started:
            localstack.stop(cfg, only=started, log=lambda m: print(f"[stack] {m}", file=sys.stderr))


def _cluster_log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr)


#: the cluster `cluster_stack` started (None: none, or one that was running before): stopped as soon as
#: no later test needs it (conftest's pytest_runtest_teardown), so three idle brokers never slow the rest
STARTED_CLUSTER: list[localstack.StackConfig] = []


@pytest.fixture(scope="session")
def cluster_stack(stack: localstack.StackInfo) -> Iterator[localstack.StackInfo]:
    """The three-node cluster beside the session's registry, started once for every test that needs it
    (tests/chaos, tests/cluster) and stopped by PID after the last of them when it was started here."""
    cfg = localstack.StackConfig.from_env()
    try:
        info = localstack.ensure_up(cfg, log=_cluster_log, brokers=3)
    except localstack.StackError as exc:
        pytest.fail(f"the three-node cluster did not come up: {exc}", pytrace=False)
    if info.started_nodes:
        STARTED_CLUSTER.append(cfg)
    try:
        yield info
    finally:
        stop_started_cluster()


def stop_started_cluster() -> None:
    """Stop the cluster `cluster_stack` started, if it still runs (by PID)."""
    while STARTED_CLUSTER:
        localstack.stop(STARTED_CLUSTER.pop(), only={"cluster"}, log=_cluster_log)


@pytest.fixture
def new_topic(stack: localstack.StackInfo) -> Callable[..., str]:
    """Create a topic with a unique name (one partition by default); returns its name."""
    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})

    def make(prefix: str, partitions: int = 1) -> str:
        name = f"it-{prefix}-{uuid.uuid4().hex[:10]}"
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)], operation_timeout=30, request_timeout=30
        )
        futures[name].result(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the broker's metadata has the leader
            md = admin.list_topics(topic=name, timeout=5).topics.get(name)
            if (
                md is not None
                and md.error is None
                and len(md.partitions) == partitions
                and all(p.leader >= 0 for p in md.partitions.values())
            ):
                return name
            time.sleep(0.05)
        raise AssertionError(f"topic {name} has no leader after 30 s")

    return make
