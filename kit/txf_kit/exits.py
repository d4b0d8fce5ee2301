"""How the service's earlier runs ended, as systemd saw them: a count per SERVICE_RESULT.

A producer killed by systemd's watchdog cannot know it: it was frozen. systemd tells the unit's
ExecStopPost= command how the main process ended ($SERVICE_RESULT: success, exit-code, signal,
core-dump, watchdog, timeout, ...), so deploy/bin/txf-record-exit (that ExecStopPost=) adds one
to a small JSON file in the state directory, and every later run exports the counts as
`txf_service_exits_total{result=...}`. The counts survive restarts, so Prometheus' increase()
turns "the watchdog killed the producer" into an alert (deploy/monitoring/txf-producer.rules.yml).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

#: systemd's SERVICE_RESULT values (systemd.exec(5)); each is exported, 0 until it happens.
RESULTS = (
    "success",
    "exit-code",
    "signal",
    "core-dump",
    "watchdog",
    "timeout",
    "start-limit-hit",
    "resources",
    "protocol",
    "oom-kill",
)
FILE_NAME = "service-exits.json"


def counts(state_dir: Path) -> dict[str, int]:
    """Exits per result so far (every known result present); an unreadable file counts as none."""
    out = dict.fromkeys(RESULTS, 0)
    try:
        stored = json.loads((state_dir / FILE_NAME).read_text())
        out.update({str(k): int(v) for k, v in stored.items()})
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    return out


def record(state_dir: Path, result: str) -> dict[str, int]:
    """Add one exit with `result` (written atomically); returns the new counts."""
    now = counts(state_dir)
    now[result] = now.get(result, 0) + 1
    tmp = state_dir / f".{FILE_NAME}.{os.getpid()}"
    tmp.write_text(json.dumps(now, sort_keys=True))
    tmp.replace(state_dir / FILE_NAME)
    return now
