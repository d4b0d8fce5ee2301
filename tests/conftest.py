"""Process-wide test set-up and the shared fixtures (`stack`, `new_topic`).

shioaji opens its log file when it is first imported (./shioaji.log unless
SJ_LOG_PATH says otherwise), so point it at a temporary folder before any test
module imports it.
"""

import os
import tempfile
from pathlib import Path

_SJ_LOG_DIR = Path(tempfile.mkdtemp(prefix="txf-test-shioaji-"))
os.environ.setdefault("SJ_LOG_PATH", str(_SJ_LOG_DIR / "shioaji.log"))


from stack_fixtures import new_topic, stack  # noqa: E402,F401 - fixtures for every test directory


def pytest_configure(config) -> None:  # type: ignore[no-untyped-def]
    config.addinivalue_line("markers", "integration: needs the real local stack (Kafka + registry)")
