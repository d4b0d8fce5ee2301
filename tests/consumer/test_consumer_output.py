"""txf_consumer.output / live / screen: price text, the JSON line, the live view's snapshots and screen (no Kafka)."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import consumerkit  # noqa: F401 - puts consumers/python on sys.path
import pytest
from consumerkit import REPO, bidask, tick
from rich.console import Console

from txf_consumer.consumer import MESSAGE_TYPES
from txf_consumer.handler import RecordMeta
from txf_consumer.live import LiveView
from txf_consumer.output import format_price, json_line
from txf_consumer.screen import ScreenProcess, render
from txf_consumer.snapshot import Snapshot
from txf_consumer.tracker import SeqEvent, Tracker

VECTORS = json.loads((REPO / "tests" / "vectors" / "txf_v1.json").read_text(encoding="utf-8"))["vectors"]


@pytest.mark.parametrize(
    "scaled,text",
    [
        (234565000, "23456.5"),
        (234560000, "23456"),
        (0, "0"),
        (1, "0.0001"),
        (-1, "-0.0001"),
        (-23330000, "-2333"),
        (12345, "1.2345"),
        (2**63 - 1, "922337203685477.5807"),
        (-(2**63), "-922337203685477.5808"),
    ],
)
def test_format_price_is_exact_decimal_text(scaled, text):
    assert format_price(scaled) == text


def meta(topic="txf-tick", offset=0, type_name="txf.v1.Tick", schema_id=7) -> RecordMeta:
    return RecordMeta(topic, 0, offset, schema_id, type_name, b"TXFK6", 1, "create", 2)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_json_line_is_compact_and_canonical(vector):
    cls = MESSAGE_TYPES[vector["type"]]
    msg = cls.FromString(bytes.fromhex(vector["hex"]))
    line = json_line(msg, meta(offset=12, type_name=vector["type"]))
    assert json.loads(line) == {
        "topic": "txf-tick",
        "partition": 0,
        "offset": 12,
        "schemaId": 7,
        "type": vector["type"],
        "message": vector["json"],
    }
    assert line == json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False)  # compact, UTF-8
    assert line.startswith('{"topic":"txf-tick","partition":0,"offset":12,"schemaId":7,"type":"txf.v1.')


class ListSink:
    """A SnapshotSink that keeps what it is sent; `ready` as the test sets it."""

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []
        self.is_ready = True

    def ready(self) -> bool:
        return self.is_ready

    def send(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)


def fed_view(clock: list[float]) -> tuple[LiveView, ListSink]:
    """A live view that saw ticks 1, 2, 4 (a gap of one) and one book, at 5 and 7 ms from the producer."""
    tracker, sink = Tracker(), ListSink()
    view = LiveView(tracker, sink, fps=4, clock=lambda: clock[0], wall_clock=lambda: 1_763_947_800.0)
    for seq in (1, 2, 4):
        m = tick(seq, tick_type=2 if seq == 4 else 1)
        event, state = tracker.observe("txf.v1.Tick", m, m.receive_time_ns + 5_000_000)
        if event is SeqEvent.GAP:
            view.on_sequence_event(event, state, meta(offset=seq), seq)
        view.on_tick(m, meta(offset=seq))
    b = bidask(1)
    tracker.observe("txf.v1.BidAsk", b, b.receive_time_ns + 7_000_000)
    view.on_bidask(b, meta("txf-bidask", 0, "txf.v1.BidAsk"))
    return view, sink


def test_live_view_snapshot_holds_book_tape_session_and_health():
    clock = [100.0]
    view, sink = fed_view(clock)
    view.heartbeat()
    [snap] = sink.snapshots
    b, last = bidask(1), tick(4)
    [book] = snap.books
    assert [tuple(lvl) for lvl in book.bids] == list(zip(b.bid_price, b.bid_volume, strict=True))
    assert [tuple(lvl) for lvl in book.asks] == list(zip(b.ask_price, b.ask_volume, strict=True))
    assert [t.price for t in snap.tape] == [tick(s).close for s in (4, 2, 1)]  # newest first
    assert (snap.tape[0].volume, snap.tape[0].side) == (last.volume, 2)
    [session] = snap.sessions
    assert (session.last, session.total_volume, session.change) == (last.close, last.total_volume, last.price_chg)
    h = snap.health
    assert (h.messages, h.lost, h.gaps, h.duplicates) == (4, 1, 1, 0)
    lat = {x.type_name: x for x in h.latency}
    assert (lat["txf.v1.Tick"].producer_p50, lat["txf.v1.BidAsk"].producer_p99) == (5.0, 7.0)  # exact, ms
    assert len(snap.events) == 1 and "gap in txf.v1.Tick TXFK6" in snap.events[0]

    view.heartbeat()  # the same instant: no frame due
    clock[0] += 0.25
    sink.is_ready = False  # the screen has not taken the last one: nothing is built or sent
    view.heartbeat()
    assert len(sink.snapshots) == 1
    sink.is_ready = True
    view.on_tick(tick(5), meta(offset=5))
    view.tracker.observe("txf.v1.Tick", tick(5), 0)
    view.heartbeat()
    assert len(sink.snapshots) == 2 and sink.snapshots[1].tape[0].price == tick(5).close
    assert sink.snapshots[1].health.rate == 4.0  # one more message in 0.25 s


def test_screen_draws_ladder_tape_session_and_problems():
    view, _sink = fed_view([100.0])
    console = Console(width=160, height=45, record=True, force_terminal=True, color_system="truecolor")
    console.print(render(view.snapshot()), height=45)
    screen = console.export_text()
    b, last = bidask(1), tick(4)
    rows = screen.splitlines()
    for price, volume in zip(b.ask_price, b.ask_volume, strict=True):  # ask size right of its price, bid size left
        assert any(re.search(rf"{format_price(price)}\s+{volume}\b", r) for r in rows), (price, screen)
    for price, volume in zip(b.bid_price, b.bid_volume, strict=True):
        assert any(re.search(rf"\b{volume}\s+{format_price(price)}", r) for r in rows), (price, screen)
    ask_rows = [i for i, r in enumerate(rows) if format_price(b.ask_price[0]) in r and "│" in r]
    bid_rows = [i for i, r in enumerate(rows) if re.search(rf"\b{b.bid_volume[0]}\s+{format_price(b.bid_price[0])}", r)]
    assert ask_rows and bid_rows and ask_rows[0] < bid_rows[0]  # best ask just above best bid
    tape_row = next(r for r in rows if "SELL" in r)  # tick 4, the newest, seller-initiated
    assert format_price(last.close) in tape_row and "09:" in tape_row
    assert f"high  {format_price(last.high)}" in screen and f"low   {format_price(last.low)}" in screen
    assert f"volume  {last.total_volume:,}" in screen
    assert "LOSS 1" in screen and "loss 1 in 1 gap(s)" in screen and "dup 0" in screen
    assert "BidAsk p50 7.00 p99 7.00" in screen and "Tick p50 5.00" in screen
    assert "recent problems" in screen and "gap in txf.v1.Tick TXFK6" in screen


def test_screen_process_failure_is_reported_once_and_never_blocks():
    failures: list[str] = []
    screen = ScreenProcess(fps=4, on_failure=failures.append)
    try:
        view, _sink = fed_view([100.0])
        assert screen.ready()
        screen.send(view.snapshot())
        os.kill(screen.pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while not failures and time.monotonic() < deadline:
            if screen.ready():
                screen.send(view.snapshot())
        assert len(failures) == 1 and f"(PID {screen.pid}) exited with code -9" in failures[0]
        assert not screen.ready()
    finally:
        screen.close()
