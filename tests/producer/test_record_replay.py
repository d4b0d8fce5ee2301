"""Recorder -> file -> ReplaySource gives back the very quotes, and damaged files fail clearly."""

from __future__ import annotations

import asyncio
import io
import itertools
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack
import pytest

from txf_kit import calendar as S
from txf_kit.calendar import TAIPEI
from txf_producer.quotes import TICK, TICK_FIELDS, bidask_array, bidask_from_array, tick_array, tick_from_array
from txf_producer.recording import Recorder, RecordingError, open_recording
from txf_producer.recording.format import MAGIC
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteType, SourceError, Subscription
from txf_producer.sources.events import Connected, Disconnected, EndOfFeed, SourceEvent, SourceFault, Subscribed
from txf_producer.sources.replay import ReplaySource
from txf_producer.sources.simulated import SimConfig, SimulatedSource

MONDAY_OPEN = datetime(2026, 11, 16, 8, 45, tzinfo=TAIPEI)
SUBS = [Subscription("TXFR1", "TXFK6", QuoteType.TICK), Subscription("TXFR1", "TXFK6", QuoteType.BIDASK)]


class Collect:
    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.ended = threading.Event()
        self.got = threading.Event()
        self.got2 = threading.Event()  # two quotes arrived
        self.count = 0
        self.receive_ns: list[int] = []

    def on_tick(self, q: Any, receive_ns: int) -> None:
        self.log.append(("tick", q))
        self.receive_ns.append(receive_ns)
        self.count += 1
        self.got.set()
        if self.count >= 2:
            self.got2.set()

    def on_bidask(self, q: Any, receive_ns: int) -> None:
        self.log.append(("bidask", q))
        self.receive_ns.append(receive_ns)
        self.count += 1
        self.got.set()
        if self.count >= 2:
            self.got2.set()

    def on_event(self, e: SourceEvent) -> None:
        self.log.append(("event", e))
        if isinstance(e, EndOfFeed):
            self.ended.set()

    @property
    def events(self) -> list[SourceEvent]:
        return [x for k, x in self.log if k == "event"]

    def arrays(self) -> list[tuple[str, list[Any]]]:
        return [(k, tick_array(q) if k == "tick" else bidask_array(q)) for k, q in self.log if k != "event"]


def quotes(n: int, seed: int = 1) -> list[tuple[str, Any]]:
    """n real quote objects from the simulated market."""
    m = SimMarket(SimConfig(seed=seed, streams=tuple((s.alias, s.quote_type) for s in SUBS)), S.to_ns(MONDAY_OPEN))
    out = []
    for _ in range(n):
        kind, _, arr = next(m)
        out.append(("tick", tick_from_array(arr)) if kind == TICK else ("bidask", bidask_from_array(arr)))
    return out


def feed(rec: Recorder, qs: list[tuple[str, Any]], times: list[int] | None = None) -> None:
    for i, (k, q) in enumerate(qs):
        (rec.on_tick if k == "tick" else rec.on_bidask)(q, times[i] if times else time.time_ns())


def replay(path: Path, timeout: float = 10.0, **kw: Any) -> tuple[Collect, list[Subscription], ReplaySource]:
    sink = Collect()
    src = ReplaySource(path, **kw)

    async def main() -> list[Subscription]:
        subs = await src.start(sink)
        assert sink.ended.wait(timeout), "no END_OF_FEED"
        await src.stop()
        return subs

    return sink, asyncio.run(main()), src


def record_sim(path: Path, n: int, compress: bool) -> tuple[Collect, list[Subscription], Recorder]:
    inner = Collect()
    rec = Recorder(path, inner, compress=compress, source="simulated")

    async def main() -> list[Subscription]:
        src = SimulatedSource(SimConfig(seed=21, start=MONDAY_OPEN, max_messages=n))
        subs = await src.start(rec)
        rec.set_subscriptions(subs)
        assert inner.ended.wait(10)
        await src.stop()
        return subs

    subs = asyncio.run(main())
    rec.close()
    return inner, subs, rec


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_replay_gives_back_the_recorded_quotes_field_for_field(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "sim.txfrec"
    inner, subs, rec = record_sim(path, 5000, compress)
    assert rec.error is None and rec.dropped == 0 and rec.quotes == 5000
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if compress else MAGIC[:2])
    original = inner.arrays()
    assert len(original) == 5000  # the recorder forwarded every quote

    with open_recording(path) as r:
        assert r.header.subscriptions == tuple(subs)
        assert r.header.shioaji_version == "1.7.9" and r.header.format == 1 and r.header.source == "simulated"
        assert abs(r.header.start_time_ns - time.time_ns()) < 60e9

    sink, replay_subs, src = replay(path, speed=None)
    assert replay_subs == subs
    assert sink.arrays() == original
    assert sink.receive_ns == inner.receive_ns  # a replayed quote keeps its recorded receive time
    assert [type(e) for e in sink.events] == [Connected, Subscribed, EndOfFeed]
    assert list(sink.events[1].subscriptions) == subs
    assert sink.events[-1].count == 5000 and sink.events[-1].complete
    assert src.error is None and src.sent == 5000


def test_subscriptions_given_late_go_into_the_header_and_changes_into_records(tmp_path: Path) -> None:
    path = tmp_path / "late.txfrec"
    qs = quotes(30)
    rec = Recorder(path, header_wait_s=5.0)
    feed(rec, qs[:10])  # quotes before the subscriptions are known: the writer waits for them
    rec.set_subscriptions(SUBS)
    feed(rec, qs[10:20])
    rolled = [Subscription("TXFR1", "TXFL6", QuoteType.TICK)]
    rec.set_subscriptions(rolled)  # after the header: a subscriptions record
    down_at = time.time_ns()
    rec.on_event(Disconnected(down_at, "session down"))
    feed(rec, qs[20:])
    rec.close()
    rec.close()  # idempotent
    sink, subs, _ = replay(path, speed=None, replay_events=True)
    assert subs == SUBS
    assert [a for _, a in sink.arrays()] == [tick_array(q) if k == "tick" else bidask_array(q) for k, q in qs]
    ev = sink.events
    roll = [e for e in ev if isinstance(e, Subscribed) and e.roll]
    assert [e.subscriptions for e in roll] == [tuple(rolled)]
    down = [i for i, (k, x) in enumerate(sink.log) if k == "event" and isinstance(x, Disconnected)]
    assert len(down) == 1 and sum(1 for k, _ in sink.log[: down[0]] if k != "event") == 20
    assert sink.log[down[0]][1].time_ns == down_at and sink.log[down[0]][1].detail == "session down"


def test_recorder_callback_never_waits_for_a_slow_disk(tmp_path: Path) -> None:
    gate = threading.Event()
    writing = threading.Event()

    class SlowFile(io.BytesIO):
        def write(self, b: Any) -> int:
            writing.set()
            assert gate.wait(10)
            return super().write(b)

    f = SlowFile()
    inner = Collect()
    qs = quotes(2000)
    rec = Recorder(f, inner, subscriptions=SUBS, compress=False, flush_interval_s=0.01)
    feed(rec, qs[:1])
    assert writing.wait(5)  # the writer is now stuck in write()
    t0 = time.perf_counter()
    feed(rec, qs[1:])
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.5, elapsed  # ~1 us per call; the disk is blocked the whole time
    assert len(inner.log) == 2000 and rec.quotes < 2000
    gate.set()
    rec.close()
    assert rec.quotes == 2000 and rec.dropped == 0
    path = tmp_path / "slow.txfrec"
    path.write_bytes(f.getvalue())
    with open_recording(path) as r:
        assert sum(1 for k, _, _ in r.records() if k in (0, 1)) == 2000


def test_write_failure_stops_recording_not_forwarding() -> None:
    class Broken(io.BytesIO):
        def write(self, b: Any) -> int:
            raise OSError(28, "No space left on device")

    inner = Collect()
    rec = Recorder(Broken(), inner, subscriptions=SUBS, compress=False)
    qs = quotes(100)
    feed(rec, qs)
    rec.close()
    assert isinstance(rec.error, OSError)
    assert len(inner.log) == 100 and rec.quotes == 0


def _recording(tmp_path: Path, n: int, compress: bool) -> Path:
    path = tmp_path / f"r{n}{'z' if compress else ''}.txfrec"
    with Recorder(path, subscriptions=SUBS, compress=compress) as rec:
        feed(rec, quotes(n))
    return path


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_truncated_file_gives_a_clear_error_naming_the_file(tmp_path: Path, compress: bool) -> None:
    path = _recording(tmp_path, 300, compress)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - (len(data) // 3 if compress else 7)])
    with open_recording(path) as r, pytest.raises(RecordingError, match=r"truncated") as ei:
        for _ in r.records():
            pass
    assert str(path) in str(ei.value)
    # replay delivers every complete record, then reports the damage and ends
    sink, _, src = replay(path, speed=None)
    n = len(sink.arrays())
    assert 0 < n < 300 if compress else n == 299
    err = [e for e in sink.events if isinstance(e, SourceFault)]
    assert len(err) == 1 and str(path) in err[0].detail
    assert isinstance(sink.events[-1], EndOfFeed) and sink.events[-1].complete is False
    assert isinstance(src.error, RecordingError)


def test_corrupt_body_gives_a_clear_error(tmp_path: Path) -> None:
    path = _recording(tmp_path, 200, compress=False)
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 40] = b"\xc1" * 40  # 0xc1 is never used in msgpack
    path.write_bytes(bytes(data))
    with open_recording(path) as r, pytest.raises(RecordingError, match=r"corrupt") as ei:
        list(r.records())
    assert str(path) in str(ei.value) and "record #" in str(ei.value)
    sink, _, _ = replay(path, speed=None)
    assert 50 < len(sink.arrays()) < 200
    assert any(isinstance(e, SourceFault) and str(path) in e.detail for e in sink.events)

    # a well-formed msgpack record of the wrong shape is caught too
    bad = tmp_path / "shape.txfrec"
    good = _recording(tmp_path, 3, compress=False).read_bytes()
    bad.write_bytes(good + msgpack.packb([0, 1, ["TXFK6", "2026-11-16"]]))
    with open_recording(bad) as r, pytest.raises(RecordingError, match=r"record #4"):
        list(r.records())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a txfstream quote recording"),
        (b"hello world, not a recording at all", "not a txfstream quote recording"),
        (MAGIC + b"\x85", "truncated"),
        (MAGIC + msgpack.packb({"format": 2}), "unsupported format version 2"),
        (MAGIC + msgpack.packb({"format": 1, "tick_fields": list(reversed(TICK_FIELDS))}), "field order"),
        (MAGIC + msgpack.packb([1, 2, 3]), "corrupt header"),
    ],
    ids=["empty", "garbage", "short-header", "version", "fields", "header-type"],
)
def test_bad_header_fails_at_start_naming_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txfrec"
    path.write_bytes(content)
    src = ReplaySource(path, speed=None)
    with pytest.raises(SourceError, match=message) as ei:
        asyncio.run(src.start(Collect()))
    assert str(path) in str(ei.value)


def test_missing_file_fails_at_start() -> None:
    with pytest.raises(SourceError, match="cannot open") as ei:
        asyncio.run(ReplaySource("/nonexistent/day.txfrec").start(Collect()))
    assert "/nonexistent/day.txfrec" in str(ei.value)


def _timed_recording(tmp_path: Path, gaps_ms: list[int]) -> tuple[Path, list[tuple[str, Any]]]:
    """A recording whose receive times are spaced by `gaps_ms`."""
    qs = quotes(len(gaps_ms) + 1, seed=5)
    times = [1_800_000_000_000_000_000]
    for g in gaps_ms:
        times.append(times[-1] + g * 1_000_000)
    it = iter(times)
    path = tmp_path / "timed.txfrec"
    with Recorder(path, subscriptions=SUBS) as rec:
        feed(rec, qs, list(it))
    return path, qs


def test_paced_replay_keeps_order_and_recorded_gaps(tmp_path: Path) -> None:
    path, qs = _timed_recording(tmp_path, [10] * 39)  # 40 quotes over 390 ms
    sink = Collect()
    arrivals: list[float] = []
    orig_tick, orig_bidask = sink.on_tick, sink.on_bidask
    sink.on_tick = lambda q, r: (arrivals.append(time.monotonic()), orig_tick(q, r))  # type: ignore[method-assign]
    sink.on_bidask = lambda q, r: (arrivals.append(time.monotonic()), orig_bidask(q, r))  # type: ignore[method-assign]
    src = ReplaySource(path, speed=2.0)

    async def main() -> None:
        await src.start(sink)
        assert sink.ended.wait(5)
        await src.stop()

    asyncio.run(main())
    assert [a for _, a in sink.arrays()] == [tick_array(q) if k == "tick" else bidask_array(q) for k, q in qs]
    span = arrivals[-1] - arrivals[0]
    assert 0.17 < span < 1.0, span  # 390 ms recorded at speed 2 = 195 ms
    assert all(b >= a for a, b in itertools.pairwise(arrivals))


def test_max_gap_shortens_long_silences_and_stop_is_prompt(tmp_path: Path) -> None:
    path, _ = _timed_recording(tmp_path, [5, 100_000, 5])  # a 100 s silence
    t0 = time.monotonic()
    sink, _, _ = replay(path, speed=1.0, max_gap_s=0.05)
    assert time.monotonic() - t0 < 1.5 and len(sink.arrays()) == 4

    sink = Collect()
    src = ReplaySource(path, speed=1.0)  # without max_gap_s the replay waits 100 s: stop() must cut it short

    async def main() -> None:
        await src.start(sink)
        assert sink.got2.wait(5)
        t = time.monotonic()
        await src.stop()
        assert time.monotonic() - t < 0.5
        await src.stop()

    asyncio.run(main())
    assert src.done.is_set() and not sink.ended.is_set() and len(sink.arrays()) == 2


def test_recording_without_subscriptions_names_codes_by_the_exchange_calendar(tmp_path: Path) -> None:
    """A header without subscriptions (the live source wrote none before the typed events): TXFK6 was
    the near month on the quotes' own date (2026-11-16), so it is TXFR1, and routable again."""
    path = tmp_path / "nosubs.txfrec"
    with Recorder(path, header_wait_s=0.0) as rec:
        feed(rec, quotes(50))
    with open_recording(path) as r:
        assert r.header.subscriptions == ()
    sink, subs, _ = replay(path, speed=None, max_messages=10)
    assert set(subs) == {
        Subscription("TXFR1", "TXFK6", QuoteType.TICK),
        Subscription("TXFR1", "TXFK6", QuoteType.BIDASK),
    }
    assert len(sink.arrays()) == 10 and sink.events[-1].count == 10 and sink.events[-1].complete


def test_legacy_live_recording_replays_with_aliases_from_its_records(tmp_path: Path) -> None:
    """The shape the live source wrote before: no header subscriptions, an untyped SUBSCRIBED event
    carrying Solace codes, and a subscription record the app added later: the record wins."""
    path = tmp_path / "legacy.txfrec"
    qs = quotes(20)
    header = {
        "format": 1,
        "shioaji": "1.7.9",
        "start_time_ns": time.time_ns(),
        "source": "shioaji",
        "subscriptions": [],
        "tick_fields": list(TICK_FIELDS),
    }
    body = [msgpack.packb([3, 1, ["subscribed", "subscribe ok", {"resp_code": 200, "event_code": 16}]])]
    body += [
        msgpack.packb([0 if k == "tick" else 1, 2 + i, tick_array(q) if k == "tick" else bidask_array(q)])
        for i, (k, q) in enumerate(qs)
    ]
    body.append(msgpack.packb([2, 99, [["TXFR1", "TXFK6", "tick"], ["TXFR1", "TXFK6", "bidask"]]]))
    path.write_bytes(MAGIC + msgpack.packb(header) + b"".join(body))
    sink, subs, _ = replay(path, speed=None)
    assert subs == SUBS
    assert len(sink.arrays()) == 20 and sink.receive_ns == [2 + i for i in range(20)]
