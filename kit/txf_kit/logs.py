"""Logging set-up ("smart logging") and a rate limiter for repeated warnings.

Under systemd, journald stamps every line itself, so the producer prints no
timestamp there (systemd sets JOURNAL_STREAM); run by hand, lines carry one.
journald files a plain stdout/stderr line at priority info whatever it says, so
under journald every line (each line of a traceback too) starts with `<N>`, the
record's syslog priority, which journald strips and keeps as PRIORITY=
(SyslogLevelPrefix=, on by default): `journalctl -p warning` then shows exactly
the warnings and errors (tests/deploy/test_systemd_service.py proves it).
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

# logging level -> syslog priority (RFC 5424: 2 crit, 3 err, 4 warning, 6 info, 7 debug)
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a logging level (custom levels round down)."""
    return next((prio for level, prio in _PRIORITIES if levelno >= level), 7)


def stderr_is_journal() -> bool:
    """True when stderr is connected to journald: JOURNAL_STREAM names that stream's device:inode."""
    try:
        device, inode = (int(part) for part in os.environ.get("JOURNAL_STREAM", "").split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def journal_prefix(levelno: int) -> str:
    """`<N>` for a line written straight to stderr under journald (e.g. the exit line), else ""."""
    return f"<{syslog_priority(levelno)}>" if stderr_is_journal() else ""


class JournalFormatter(logging.Formatter):
    """No timestamp (journald adds its own); every line of a record starts with its `<priority>`."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger for the terminal or for journald."""
    handler = logging.StreamHandler(sys.stderr)
    if stderr_is_journal():
        handler.setFormatter(JournalFormatter("%(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s", datefmt="%Y-%m-%d %H:%M:%S"
            )
        )
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
