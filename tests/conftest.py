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
    config.addinivalue_line("markers", "xdist_group(name): the pytest-xdist worker group (also without xdist)")


#: fixtures that stand for the host's stacks on fixed 127.0.0.1 ports (the session's single node, the
#: three-node cluster beside it, the secured profile, test_faults' private one)
_HOST_STACKS = frozenset({"stack", "cluster_stack", "secured", "private_stack"})
#: modules that boot their own systemd container (tests/deploy/containerkit.booted): a private
#: network namespace with its own Kafka and registry inside, so nothing on the host's ports
_CONTAINER_MODULES = frozenset(
    {
        "test_systemd_archive",
        "test_systemd_container",
        "test_systemd_faults",
        "test_systemd_schedule",
        "test_systemd_service",
        "test_monitoring",
    }
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    """Two groups for `pytest -n 2 --dist loadgroup` (make test): every test on the host's stacks runs in
    one worker, in file order, as without xdist (they share the session's stack and the cluster, and
    some stop brokers); the systemd containers, each in its own network namespace, run in the other
    beside it. Tests with no stack go to whichever worker is free."""
    for item in items:
        if item.path.parent.name == "deploy" and item.path.stem in _CONTAINER_MODULES:
            _group(config, item, "containers")
        elif _HOST_STACKS & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("integration"):
            _group(config, item, "host-stacks")


def _group(config, item, name: str) -> None:  # type: ignore[no-untyped-def]
    """The xdist_group mark, and the node id xdist's scheduler reads it from (`<id>@<group>`): xdist 3.8
    writes that id into `item._nodeid`, which pytest 9 no longer reads (the id lives in `item._id`), so
    its own hook would leave every group scattered over the workers."""
    item.add_marker(pytest.mark.xdist_group(name))
    if config.getoption("loadgroup", default=False) and "@" not in item.nodeid.rpartition("]")[2]:
        from _pytest.nodeid import coerce_node_id

        item._id = coerce_node_id(f"{item.nodeid}@{name}")


@pytest.hookimpl(trylast=True)  # after the fixtures' own teardown (tests/cluster heals the cluster first)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """The shared three-node cluster goes as soon as the next test does not need it (it is started once,
    for tests/chaos and tests/cluster, which run one after the other)."""
    if nextitem is not None and "cluster_stack" not in getattr(nextitem, "fixturenames", ()):
        if "cluster_stack" in getattr(item, "fixturenames", ()):
            stop_started_cluster()
