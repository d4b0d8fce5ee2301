"""respool claims a spool file a producer may still append to: every record ends in exactly one file.

Before the claim, a record appended between respool's read and its rename to `.done` went into the
`.done` file, republished never (the RUNBOOK allows respool while the producer streams).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from txf_producer.spool import Spool, claim, read_spool


def _values(path: Path) -> list[bytes | None]:
    return [value for _t, _k, value, _r, _ns in read_spool(path)] if path.exists() else []


def test_a_record_spooled_after_the_claim_goes_to_a_new_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.msgpack")
    spool.append("t", b"k", b"before", "purged")
    claimed = claim(spool.path)
    assert not spool.path.exists() and claimed.name.startswith("spool.msgpack.respooling-")
    spool.append("t", b"k", b"after", "purged")  # the producer's open file was taken: a new one
    spool.close()
    assert _values(claimed) == [b"before"]
    assert _values(spool.path) == [b"after"]


def test_claims_while_a_writer_appends_keep_every_record_exactly_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.msgpack")
    total = 20_000
    started = threading.Event()

    def writer() -> None:
        for i in range(total):
            spool.append("t", None, str(i).encode(), "queue full")
            if i == 100:
                started.set()

    t = threading.Thread(target=writer)
    t.start()
    assert started.wait(30)
    claimed: list[Path] = []

    def claimer() -> None:  # two respools at once, too
        while t.is_alive():
            try:
                claimed.append(claim(spool.path))
            except FileNotFoundError:  # between a claim and the writer's next record: no file yet
                continue

    claimers = [threading.Thread(target=claimer) for _ in range(2)]
    for c in claimers:
        c.start()
    t.join()
    for c in claimers:
        c.join()
    spool.close()
    seen = [v for path in [*claimed, spool.path] for v in _values(path)]
    assert len(claimed) > 1
    assert sorted(seen, key=lambda v: int(v or b"0")) == [str(i).encode() for i in range(total)]


def test_claiming_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        claim(tmp_path / "spool.msgpack")
