"""Process-wide test set-up.

shioaji opens its log file when it is first imported (./shioaji.log unless
SJ_LOG_PATH says otherwise), so point it at a temporary folder before any test
module imports it.
"""

import os
import tempfile
from pathlib import Path

_SJ_LOG_DIR = Path(tempfile.mkdtemp(prefix="txf-test-shioaji-"))
os.environ.setdefault("SJ_LOG_PATH", str(_SJ_LOG_DIR / "shioaji.log"))
