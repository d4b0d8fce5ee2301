"""Process-wide test set-up and the shared fixtures (`stack`, `new_topic`).

shioaji opens its log file when it is first imported (./shioaji.log unless
SJ_LOG_PATH says otherwise), so point it at a temporary folder before any test
module imports it.
"""

import os
import tempfile
from pathlib import Path

import pytest

_SJ_LOG_DIR = Path(tempfile.mkdtemp(prefix="txf-test-shioaji-"))
os.environ.setdefault("SJ_LOG_PATH", str(_SJ_LOG_DIR / "shioaji.log"))


from stack_fixtures import cluster_stack, new_topic, stack, stop_started_cluster  # noqa: E402,F401 - fixtures


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    config.addinivalue_line("markers", "integration: needs the real local stack (Kafka + registry)")


@pytest.hookimpl(trylast=True)  # after the fixtures' own teardown (tests/cluster heals the cluster first)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """The shared three-node cluster goes as soon as the next test does not need it (it is started once,
    for tests/chaos and tests/cluster, which run one after the other)."""
    if nextitem is not None and "cluster_stack" not in getattr(nextitem, "fixturenames", ()):
        if "cluster_stack" in getattr(item, "fixturenames", ()):
            stop_started_cluster()
