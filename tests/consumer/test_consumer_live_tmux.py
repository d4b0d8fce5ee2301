"""`txf-consume --output live` read as a person reads it: in a 160x45 tmux pane, against the real stack.

What is asserted is what the pane shows: the five-level ladder with sizes on
their sides, the tape (newest first, buyer or seller initiated), the session's
high/low/volume, the message count, and the health line, which turns to LOSS
when a sequence number is skipped while the view runs. Ctrl-C leaves the
alternate screen and prints the summary; the JSON summary file agrees.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from consumerkit import REPO, SerializingSender, bidask, cli_env, tick, unique

from txf_consumer.output import format_price

sys.path.insert(0, str(REPO / "bench"))
from tmux_pane import TmuxPane  # noqa: E402

pytestmark = pytest.mark.integration
N_TICK, N_BOOK = 30, 100


def session_tick(seq: int):  # type: ignore[no-untyped-def]
    """tick(seq) with the session's open/high/low filled in, alternating buyer/seller initiated."""
    return tick(seq, tick_type=1 + seq % 2, open=234_000_000, high=235_010_000 + seq * 10_000, low=232_990_000)


def test_live_view_shows_the_market_and_its_health_in_a_terminal(stack, new_topic, tmp_path):
    tick_topic, book_topic = new_topic("tick"), new_topic("book")
    sender = SerializingSender(stack)
    sender.send(tick_topic, [session_tick(i) for i in range(1, N_TICK + 1)])
    sender.send(book_topic, [bidask(i) for i in range(1, N_BOOK + 1)])
    sender.flush()
    summary_file = tmp_path / "summary.json"
    cmd = [
        sys.executable,
        "-m",
        "txf_consumer",
        "--bootstrap",
        stack.bootstrap_servers,
        "--registry",
        stack.registry_url,
        "--group",
        unique("live"),
        "--topics",
        f"{tick_topic},{book_topic}",
        "--type",
        f"{tick_topic}=txf.v1.Tick",
        "--type",
        f"{book_topic}=txf.v1.BidAsk",
        "--from-beginning",
        "--output",
        "live",
        "--summary-file",
        str(summary_file),
    ]
    with TmuxPane(cmd, width=160, height=45, env=cli_env(), cwd=REPO) as pane:
        # latency percentiles are redrawn once a second: wait for the BidAsk ones too
        # (a capture can catch a frame half redrawn: wait for one frame with every part asserted below)
        screen = pane.wait_for(
            lambda s: (
                f"messages {N_TICK + N_BOOK}" in s
                and re.search(r"producer→here\s+BidAsk p50 [\d.]+ p99 [\d.]+", s) is not None
                and "FEED OK" in s
                and "loss 0 in 0 gap(s)" in s
            )
        )
        rows = screen.splitlines()
        book, last = bidask(N_BOOK), session_tick(N_TICK)
        for price, volume in zip(book.ask_price, book.ask_volume, strict=True):  # asks: size right of the price
            assert any(re.search(rf"│\s+{format_price(price)}\s+{volume}\s", r) for r in rows), screen
        for price, volume in zip(book.bid_price, book.bid_volume, strict=True):  # bids: size left of the price
            assert any(re.search(rf"│\s+{volume}\s+{format_price(price)}\s", r) for r in rows), screen
        best_ask = next(i for i, r in enumerate(rows) if re.search(rf"│\s+{format_price(book.ask_price[0])}\s+\d", r))
        best_bid = next(i for i, r in enumerate(rows) if re.search(rf"\d\s+{format_price(book.bid_price[0])}\s", r))
        assert best_bid == best_ask + 1, screen
        tape = [r for r in rows if re.search(r"\d\d:\d\d:\d\d\.\d{3}\s+\d+\s+\d+\s+(BUY|SELL)", r)]
        assert len(tape) >= 20, screen  # the tape fills its column
        assert re.search(rf"{format_price(last.close)}\s+{last.volume}\s+BUY", tape[0]), tape[0]  # 30: buyer
        assert re.search(rf"{format_price(session_tick(N_TICK - 1).close)}\s+\d+\s+SELL", tape[1]), tape[1]
        assert f"high  {format_price(last.high)}" in screen and f"low   {format_price(last.low)}" in screen
        assert f"volume  {last.total_volume:,}" in screen and f"last  {format_price(last.close)}" in screen
        assert "FEED OK" in screen and "loss 0 in 0 gap(s)" in screen and "dup 0" in screen
        assert "msg/s" in screen

        # while it runs: sequence 32 never comes; the screen follows the market and says so
        sender.send(tick_topic, [session_tick(N_TICK + 1), session_tick(N_TICK + 3)])
        sender.flush()
        screen = pane.wait_for(
            lambda s: (
                f"messages {N_TICK + N_BOOK + 2}" in s
                and "LOSS 1" in s
                and "loss 1 in 1 gap(s)" in s
                and "recent problems" in s
            )
        )
        assert "loss 1 in 1 gap(s)" in screen and "recent problems" in screen
        top = next(r for r in screen.splitlines() if re.search(r"\d\d:\d\d:\d\d\.\d{3}\s+\d+\s+\d+\s+(BUY|SELL)", r))
        assert format_price(session_tick(N_TICK + 3).close) in top

        pane.send_keys("C-c")
        assert pane.wait_exit(timeout_s=30) == 0
        final = pane.capture()
    assert f"stopped (stopped): {N_TICK + N_BOOK + 2} records" in final and "loss 1 in 1 gap(s)" in final, final
    summary = json.loads(summary_file.read_text())
    assert (summary["messages"], summary["loss"], summary["duplicates"], summary["stopReason"]) == (
        N_TICK + N_BOOK + 2,
        1,
        0,
        "stopped",
    )
