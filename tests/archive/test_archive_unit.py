"""txf-archive offline: file names and what readers see, crash recovery, frames and malformed records,
trading-day split, bar boundaries, price views and schema evolution, the unknown-field guard."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from google.protobuf import descriptor_pb2

from txf.v1 import Tick
from txf_archive import Archive, layout
from txf_archive.columns import archived_type
from txf_archive.recovery import ArchiveLock, StandbyStopped, recover
from txf_archive.segments import Pending, SegmentWriter
from txf_archive.service import ArchiveOptions, Archiver
from txf_consumer.schemas import RegisteredSchema, SchemaMismatchError
from txf_kit import calendar
from txf_kit.bars import BarBuilder, bar_end_ns, vwap
from txf_kit.calendar import TAIPEI
from txf_kit.records import scaled_fields
from txf_kit.service import ServiceExit

HEADER = b"\x00\x00\x00\x00\x07\x00"  # schema id 7, message [0]


def ns(*args: int) -> int:
    return calendar.to_ns(datetime(*args, tzinfo=TAIPEI))  # type: ignore[misc]


@dataclass
class FakeMessage:
    """What the archiver reads of a confluent-kafka Message."""

    _offset: int
    _value: bytes | None
    _key: bytes | None = b"TXFF6"

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_780_000_000_000 + self._offset)

    def __len__(self) -> int:
        return len(self._value or b"")


def tick(seq: int, t_ns: int, price: int = 280_000_000, **kw: Any) -> Tick:
    return Tick(
        code=kw.pop("code", "TXFF6"),
        exchange_time_us=t_ns // 1000,
        timestamp_ms=t_ns // 1_000_000,
        close=price,
        volume=kw.pop("volume", 2),
        sequence=seq,
        producer_run_id=2**64 - 5,
        **kw,
    )


def writer(root: Path, resolve: Any = None) -> SegmentWriter:
    t = archived_type(Tick, scaled_fields())
    resolvers = {"txf-tick": resolve or (lambda sid, idx: Tick)}
    return SegmentWriter(root, {"txf-tick": t}, resolvers, lambda x: calendar.trading_day_span(x))


def pending(values: list[bytes | None], first: int = 0) -> Pending:
    return Pending("txf-tick", 0, [FakeMessage(first + i, v) for i, v in enumerate(values)])


# --------------------------------------------------------------------- names and readers
def test_names_round_trip_and_a_compacted_file_hides_what_it_covers(tmp_path: Path) -> None:
    a = layout.FileName("txf-tick", 0, 0, 99, 1, 2)
    c = layout.FileName("txf-tick", 0, 0, 199)
    assert layout.parse_name(str(a)) == a and layout.parse_name(str(c)) == c and c.compacted
    assert layout.parse_name(".x.parquet.tmp") is None
    for n in (a, layout.FileName("txf-tick", 0, 100, 199, 1, 1), layout.FileName("txf-tick", 0, 200, 250, 1, 1)):
        (tmp_path / str(n)).write_bytes(b"")
    assert len(layout.live_files(tmp_path)) == 3
    (tmp_path / str(c)).write_bytes(b"")
    assert sorted(p.name for p in layout.live_files(tmp_path)) == sorted(
        [str(c), str(layout.FileName("txf-tick", 0, 200, 250, 1, 1))]
    )
    (tmp_path / str(layout.FileName("txf-tick", 0, 150, 220, 1, 1))).write_bytes(b"")
    with pytest.raises(ValueError, match="overlap"):
        layout.live_files(tmp_path)


# --------------------------------------------------------------------- segments
def test_segment_splits_by_trading_day_and_keeps_malformed_records_raw(tmp_path: Path) -> None:
    day_t = ns(2026, 5, 28, 13, 44, 59)
    night_t = ns(2026, 5, 28, 15, 0, 1)  # the night session: next trading day
    good = [HEADER + tick(1, day_t).SerializeToString(), HEADER + tick(2, night_t).SerializeToString()]
    bad = [None, b"\x01\x00\x00\x00\x07\x00xyz", b"\x00\x00", HEADER + b"\xff\xff"]
    w = writer(tmp_path)
    parts = w.write(pending([good[0], bad[0], bad[1], good[1], bad[2], bad[3]]))
    assert len(parts) == 3 and all(p.path.name.endswith(f"of{len(parts)}.parquet") for p in parts)
    rows = {
        p.path.parent.parent.name if p.path.parent.name.startswith("contract") else p.path.parent.name: pq.read_table(
            p.path
        )
        for p in parts
    }
    assert rows["day=2026-05-28"].column("kafka_offset").to_pylist() == [0]
    assert rows["day=2026-05-29"].column("kafka_offset").to_pylist() == [3]
    assert rows["day=2026-05-29"].column("trading_day").to_pylist() == [date(2026, 5, 29)]
    malformed = rows["malformed"].to_pylist()
    assert [m["kafka_offset"] for m in malformed] == [1, 2, 4, 5]
    assert [m["value"] for m in malformed] == [None, bad[1], bad[2], bad[3]]
    reasons = [m["reason"] for m in malformed]
    assert "tombstone" in reasons[0] and "magic" in reasons[1] and "truncated" in reasons[2]
    assert "not a valid txf.v1.Tick" in reasons[3]
    assert pq.read_table(parts[0].path).schema.field("close").metadata == {b"txf.scale": b"10000"}


def test_a_refused_schema_id_is_kept_as_malformed_with_the_reason(tmp_path: Path) -> None:
    def refuse(sid: int, idx: tuple[int, ...]) -> type[Tick]:
        raise SchemaMismatchError("txf-tick", sid, "message [0] is txf.v1.BidAsk")

    parts = writer(tmp_path, refuse).write(pending([HEADER + tick(1, ns(2026, 5, 28, 9, 0)).SerializeToString()]))
    (row,) = pq.read_table(parts[0].path).to_pylist()
    assert "schema id 7 refused" in row["reason"] and row["value"].startswith(HEADER)


# --------------------------------------------------------------------- recovery
def test_recovery_drops_an_incomplete_latest_segment_and_temporary_files(tmp_path: Path) -> None:
    w = writer(tmp_path)
    t1, t2 = ns(2026, 5, 28, 10, 0), ns(2026, 5, 28, 16, 0)
    w.write(pending([HEADER + tick(1, t1).SerializeToString()] * 3, first=0))
    parts = w.write(
        pending([HEADER + tick(2, t1).SerializeToString(), HEADER + tick(3, t2).SerializeToString()], first=3)
    )
    assert recover(tmp_path).positions == {("txf-tick", 0): 5}
    parts[1].path.unlink()  # killed between the two renames
    (parts[0].path.parent / ".x+0.parquet.tmp").write_bytes(b"half")
    got = recover(tmp_path)
    assert got.positions == {("txf-tick", 0): 3}  # read the segment again
    assert got.removed_incomplete == [parts[0].path] and len(got.removed_tmp) == 1
    assert recover(tmp_path).positions == {("txf-tick", 0): 3}


# --------------------------------------------------------------------- reading back
def test_price_views_and_an_older_file_without_a_newer_column(tmp_path: Path) -> None:
    w = writer(tmp_path)
    t = ns(2026, 5, 28, 10, 0)
    w.write(pending([HEADER + tick(1, t, price=280_012_345).SerializeToString()], first=0))
    (new,) = w.write(pending([HEADER + tick(2, t, price=280_000_000, gap_start_ns=9).SerializeToString()], first=1))
    old_path = next(p for p in new.path.parent.iterdir() if p.name.startswith("txf-tick+0+00000000000000000000"))
    old = pq.read_table(old_path)
    pq.write_table(old.drop_columns(["gap_start_ns"]), old_path)  # as written before the field existed
    df = Archive(tmp_path).polars("tick", "2026-05-28")
    assert df["close"].to_list() == [280_012_345, 280_000_000]
    assert [str(v) for v in df["close_dec"].to_list()] == ["28001.2345", "28000.0000"]
    assert df["close_f64"].to_list() == [28001.2345, 28000.0]
    assert df["gap_start_ns"].to_list() == [None, 9]
    assert Archive(tmp_path).resolve_days("tick", "latest") == [date(2026, 5, 28)]
    with pytest.raises(ValueError, match="archived days: 2026-05-28"):
        Archive(tmp_path).relation("tick", "2026-05-27")


# --------------------------------------------------------------------- bars
@pytest.mark.parametrize(
    ("t", "label"),
    [
        ((2026, 5, 28, 8, 45, 0), (2026, 5, 28, 8, 46)),  # the opening trade: first bar, right-labelled
        ((2026, 5, 28, 9, 0, 0), (2026, 5, 28, 9, 1)),
        ((2026, 5, 28, 13, 44, 59), (2026, 5, 28, 13, 45)),
        ((2026, 5, 28, 13, 45, 0), (2026, 5, 28, 13, 45)),  # the closing print: the 13:45 bar
        ((2026, 5, 28, 13, 46, 30), (2026, 5, 28, 13, 45)),
        ((2026, 5, 29, 5, 0, 0), (2026, 5, 29, 5, 0)),  # the night close
    ],
)
def test_bar_boundaries_are_shioajis(t: tuple[int, ...], label: tuple[int, ...]) -> None:
    assert bar_end_ns(ns(*t), "TXFF6") == ns(*label)


def test_the_expiring_contract_closes_at_1330() -> None:
    expiry = ns(2026, 5, 20, 13, 30, 0)  # third Wednesday of May 2026
    assert bar_end_ns(expiry, "TXFE6") == expiry
    assert bar_end_ns(expiry, "TXFF6") == ns(2026, 5, 20, 13, 31)


def test_builder_skips_simtrade_and_a_late_trade_and_rounds_vwap() -> None:
    b = BarBuilder()
    tp = ("txf-tick", 0)
    t0 = ns(2026, 5, 28, 9, 0, 1)
    assert b.add(tick(1, t0, 280_000_000, volume=1), tp, 0).closed == []
    assert b.add(tick(2, t0 + 10**9, 280_010_000, volume=2), tp, 1).closed == []
    assert b.add(tick(3, t0 + 2 * 10**9, 290_000_000, simtrade=True), tp, 2).simtrade
    assert b.low_water(tp) == 0
    (bar,) = b.add(tick(4, t0 + 60 * 10**9, 280_000_000), tp, 3).closed
    msg = bar.to_message(1, 5, 0)
    assert (msg.open, msg.high, msg.low, msg.close, msg.volume, msg.tick_count) == (
        280_000_000,
        280_010_000,
        280_000_000,
        280_010_000,
        3,
        2,
    )
    assert msg.value == 280_000_000 + 2 * 280_010_000 and msg.vwap == 280_006_667
    assert b.add(tick(5, t0 + 5 * 10**9, 1), tp, 4).late
    assert b.low_water(tp) == 3
    assert vwap(-5, 2) == -3 and vwap(5, 2) == 3 and vwap(4, 3) == 1 and vwap(1, 0) == 0


# --------------------------------------------------------------------- unknown fields
class ReaderWithNewerTick:
    """A registry answer: txf.v1.Tick with one more field than this archive knows."""

    def get_schema(self, schema_id: int) -> RegisteredSchema:
        fdp = descriptor_pb2.FileDescriptorProto()
        Tick.DESCRIPTOR.file.CopyToProto(fdp)
        fdp.message_type[0].field.add(name="added_later", number=99, type=3, label=1)
        return RegisteredSchema(schema_id, fdp, ())


def test_a_writer_schema_with_fields_the_archive_lacks_stops_it(tmp_path: Path) -> None:
    opts = ArchiveOptions(
        root=tmp_path, topics={"txf-tick": "txf.v1.Tick"}, kafka={}, day_span=lambda t: calendar.trading_day_span(t)
    )
    archiver = Archiver(opts, ReaderWithNewerTick())  # type: ignore[arg-type]
    resolve = archiver._complete_fields("txf-tick", Tick, lambda sid, idx: Tick)
    with pytest.raises(ServiceExit, match=r"added_later.*Upgrade txf-contracts"):
        resolve(7, (0,))


def test_a_gap_of_the_ledger_is_archived_by_the_trading_day_of_its_start(tmp_path: Path) -> None:
    from txf.v1 import Gap

    t = archived_type(Gap)
    w = SegmentWriter(
        tmp_path, {"txf-gaps": t}, {"txf-gaps": lambda sid, idx: Gap}, lambda x: calendar.trading_day_span(x)
    )
    gap = Gap(
        message_type="txf.v1.BidAsk",
        code="TXFF6",
        start_ns=ns(2026, 5, 28, 23, 0),
        end_ns=ns(2026, 5, 28, 23, 1),
        legs_down=["a", "b"],
        arbiter_run_id=2**64 - 1,
    )
    (part,) = w.write(Pending("txf-gaps", 0, [FakeMessage(7, HEADER + gap.SerializeToString())]))
    assert part.path.parent == layout.partition_dir(tmp_path, "gap", date(2026, 5, 29), "TXFF6")
    (row,) = pq.read_table(part.path).to_pylist()
    assert row["legs_down"] == ["a", "b"] and row["arbiter_run_id"] == 2**64 - 1 and row["kafka_offset"] == 7


def test_a_standby_lock_waits_alive_takes_over_when_released_and_can_be_stopped(tmp_path: Path) -> None:
    """ArchiveLock with wait=True: a second holder polls, calling while_waiting() each time (the service
    keeps systemd's watchdog fed there), gets the lock once the first lets go, and gives up with
    StandbyStopped when while_waiting() says stop. (flock conflicts between two open files even in
    one process, so one test process plays both archivers.)"""

    said = io.StringIO()
    first = ArchiveLock(tmp_path, say=said).__enter__()
    calls: list[int] = []

    def stop_after_three() -> bool:
        calls.append(1)
        return len(calls) < 3

    with pytest.raises(StandbyStopped):
        ArchiveLock(tmp_path, say=said, while_waiting=stop_after_three).__enter__()
    assert len(calls) == 3 and "waiting (standby)" in said.getvalue()

    def release_on_the_second_call() -> bool:
        calls.append(1)
        if len(calls) == 5:
            first.__exit__(None, None, None)  # the active archiver dies: the kernel drops its lock
        return True

    with ArchiveLock(tmp_path, say=said, while_waiting=release_on_the_second_call) as second:
        assert len(calls) == 5
        assert second.path.read_text().strip() == str(os.getpid())
    with pytest.raises(RuntimeError, match="one writer per archive directory"):
        with ArchiveLock(tmp_path, say=said):
            ArchiveLock(tmp_path, wait=False, say=said).__enter__()
