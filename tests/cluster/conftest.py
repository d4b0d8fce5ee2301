"""The cluster fault tests share one three-node cluster (stack/cluster.py) beside the session's registry.

The cluster runs on TXF_CLUSTER_KAFKA_PORT / TXF_CLUSTER_CONTROLLER_PORT (node i: + i - 1) from the
state dir of the `stack` fixture: the session's `cluster_stack` (stack_fixtures.py), shared with the
nemesis campaign's test, reuses one already running there (`make up BROKERS=3`) or starts it once and
stops it by PID at the session's end. Each test kills nodes and heals the cluster again before it ends.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so tests can `import clusterkit` under any pytest import mode
    sys.path.insert(0, str(HERE))

from clusterkit import ClusterUnderTest, figure  # noqa: E402

from stack import cluster, localstack  # noqa: E402


def _log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr)


@pytest.fixture(scope="module")
def where(cluster_stack: localstack.StackInfo) -> Iterator[ClusterUnderTest]:
    """The session's cluster (shared with tests/chaos), healed after this module's faults."""
    cfg = localstack.StackConfig.from_env()
    info = cluster_stack
    started = "reused a running one" if not info.started_nodes else f"started {', '.join(info.started_nodes)}"
    figure(f"cluster of 3 nodes answering after {info.total_seconds:.1f} s ({started}), {info.bootstrap_servers}")
    try:
        yield ClusterUnderTest(cfg, info.bootstrap_servers, info.registry_url)
    finally:  # leave it as it was found, every node running (the session's fixture stops it)
        cluster.ensure_cluster(cfg, 3, log=_log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)
