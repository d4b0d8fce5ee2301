"""Logging set-up ("smart logging") and a rate limiter for repeated warnings.

Under systemd, journald stamps every line itself, so the producer prints no
timestamp there (systemd sets JOURNAL_STREAM); run by hand, lines carry one.
Repeated problems (a burst of malformed quotes, a broker outage) are logged
once per interval per kind, with the number of lines suppressed meanwhile, so
a bad minute cannot flood the journal or slow the hot path.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger for the terminal or for journald."""
    under_journald = bool(os.environ.get("JOURNAL_STREAM")) and not sys.stderr.isatty()
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if under_journald
        else "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s"
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt, datefmt="%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # one line per registry request is noise at INFO; failures still surface as errors
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


class RateLimitedLog:
    """Log at most one line per `interval_s` for each key; count what was held back."""

    def __init__(self, logger: logging.Logger, interval_s: float = 10.0) -> None:
        self._logger = logger
        self._interval = interval_s
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def _log(self, level: int, key: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next.get(key, 0.0):
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            self._next[key] = now + self._interval
            held = self._suppressed.pop(key, 0)
        if held:
            msg += f" (+{held} similar in the last {self._interval:.0f}s)"
        self._logger.log(level, msg, *args)

    def warning(self, key: str, msg: str, *args: object) -> None:
        self._log(logging.WARNING, key, msg, *args)

    def error(self, key: str, msg: str, *args: object) -> None:
        self._log(logging.ERROR, key, msg, *args)
