"""txf_consumer.output / live: price text, the cross-language JSON line, the live screen (no Kafka needed)."""
from __future__ import annotations

import io
import json

import consumerkit  # noqa: F401 - puts consumers/python on sys.path
import pytest
from consumerkit import REPO, RUN_ID, bidask, tick

from txf.v1 import BidAsk, Tick
from txf_consumer.handler import RecordMeta
from txf_consumer.live import LiveView
from txf_consumer.output import format_price, json_line
from txf_consumer.tracker import Tracker

VECTORS = json.loads((REPO / "tests" / "vectors" / "txf_v1.json").read_text(encoding="utf-8"))["vectors"]


@pytest.mark.parametrize("scaled,text", [
    (234565000, "23456.5"), (234560000, "23456"), (0, "0"), (1, "0.0001"), (-1, "-0.0001"),
    (-23330000, "-2333"), (12345, "1.2345"), (2**63 - 1, "922337203685477.5807"), (-(2**63), "-922337203685477.5808"),
])
def test_format_price_is_exact_decimal_text(scaled, text):
    assert format_price(scaled) == text


def meta(topic="txf-tick", offset=0, type_name="txf.v1.Tick", schema_id=7) -> RecordMeta:
    return RecordMeta(topic, 0, offset, schema_id, type_name, b"TXFK6", 1, "create", 2)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_json_line_is_compact_and_canonical(vector):
    cls = {"txf.v1.Tick": Tick, "txf.v1.BidAsk": BidAsk}[vector["type"]]
    msg = cls.FromString(bytes.fromhex(vector["hex"]))
    line = json_line(msg, meta(offset=12, type_name=vector["type"]))
    assert json.loads(line) == {"topic": "txf-tick", "partition": 0, "offset": 12, "schemaId": 7,
                                "type": vector["type"], "message": vector["json"]}
    assert line == json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False)  # compact, UTF-8
    assert line.startswith('{"topic":"txf-tick","partition":0,"offset":12,"schemaId":7,"type":"txf.v1.')


def test_live_view_renders_last_quotes_and_problems():
    tracker = Tracker()
    out = io.StringIO()
    view = LiveView(tracker, out, interval_s=0.5, clock=lambda: 100.0)
    for seq in (1, 2, 4):
        m = tick(seq)
        tracker.observe("txf.v1.Tick", m, m.exchange_time_us * 1000 + 5_000_000)
        view.on_tick(m, meta(offset=seq))
    b = bidask(1)
    tracker.observe("txf.v1.BidAsk", b, b.exchange_time_us * 1000 + 7_000_000)
    view.on_bidask(b, meta("txf-bidask", 0, "txf.v1.BidAsk"))
    view.heartbeat()
    screen = out.getvalue()
    assert screen.startswith("\x1b[H\x1b[2J")
    assert format_price(tick(4).close) in screen and "TXFK6" in screen
    assert f"{format_price(b.bid_price[0])}" in screen and f"{format_price(b.ask_price[0])}" in screen
    assert "loss 1 in 1 gap(s)" in screen and str(RUN_ID) in screen
    assert "p50 5.000" in screen and "p50 7.000" in screen   # ms, exact for a single value
    view.heartbeat()                                          # same clock: not redrawn
    assert out.getvalue() == screen
