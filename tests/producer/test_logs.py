"""Journald priorities: every line of a record carries `<N>` only when stderr is the journal stream."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from txf_kit.logs import JournalFormatter, journal_prefix, stderr_is_journal, syslog_priority


@pytest.mark.parametrize(
    ("level", "priority"),
    [
        (logging.CRITICAL, 2),
        (logging.ERROR, 3),
        (logging.WARNING, 4),
        (logging.INFO, 6),
        (logging.DEBUG, 7),
        (25, 6),
        (35, 4),
    ],
)
def test_syslog_priority(level: int, priority: int) -> None:
    assert syslog_priority(level) == priority


def test_every_line_of_a_traceback_carries_the_priority() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("txf", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
    lines = JournalFormatter("%(levelname)s %(name)s: %(message)s").format(record).split("\n")
    assert lines[0] == "<3>ERROR txf: failed here"
    assert len(lines) > 3 and all(line.startswith("<3>") for line in lines)


def test_journal_is_recognised_only_by_the_stream_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(tmp_path / "stderr", "w") as fake:
        monkeypatch.setattr(sys, "stderr", fake)
        st = os.fstat(fake.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert stderr_is_journal() and journal_prefix(logging.ERROR) == "<3>"
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino + 1}")  # inherited, stderr redirected
        assert not stderr_is_journal() and journal_prefix(logging.ERROR) == ""
        monkeypatch.delenv("JOURNAL_STREAM")
        assert not stderr_is_journal()
