"""A Shioaji client whose login freezes the whole process, for test_systemd_faults.py only.

Copied into the container with tests/producer/fake_shioaji.py and put on the producer's
PYTHONPATH by a test drop-in; Python imports `sitecustomize` at start-up. It swaps
`shioaji.Shioaji` for the project's fake client (every call checked against the installed
shioaji 1.7.9 signatures) whose login() never returns and takes the process with it, as reported
for the real library (shioaji #237: login hanging in native code; #203: a whole-process freeze
that ignores SIGTERM): the calling thread blocks in sigsuspend() with every signal masked while
holding the GIL (ctypes.PyDLL does not release it). No Python code runs after that, not the
producer's own 60 s login bound, not its SIGINT handler: only systemd's start timeout can end it.
Everything before login is the real start path: the settings, the registry and Kafka checks,
ShioajiSource.start (credentials, client creation in a worker thread, callbacks), and the real
shioaji package imported under the unit's hardening.
"""

import ctypes
import os
import sys

os.environ.setdefault("SJ_LOG_PATH", os.path.join(os.getcwd(), "shioaji.log"))  # as prepare_shioaji_log sets it

import shioaji  # noqa: E402
from fake_shioaji import FakeShioaji  # noqa: E402


class FrozenLoginShioaji(FakeShioaji):
    """FakeShioaji whose login() freezes the process in native code."""

    def login(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self._check("login", *args, **kwargs)
        print("hung-login: login() entered, freezing the process in native code", file=sys.stderr, flush=True)
        every_signal = ctypes.create_string_buffer(b"\xff" * 128)  # a full sigset_t
        ctypes.PyDLL(None).sigsuspend(every_signal)  # holds the GIL; no catchable signal can end it
        raise AssertionError("sigsuspend returned")


shioaji.Shioaji = FrozenLoginShioaji
