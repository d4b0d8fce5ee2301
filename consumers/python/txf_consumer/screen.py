"""The live view's screen: a child process that draws snapshots with `rich`, off the consume path.

Why a process, not a thread: rendering a full-screen layout takes milliseconds
of Python (~15 ms at 160x45), and a drawing thread would hold the interpreter
lock while quotes wait. The process also runs at a lower priority (nice 10).
Here the consumer (live.py) sends a `Snapshot` over a socket pair when a
frame is due and the screen has taken the previous one; this process keeps the
newest and `rich.live.Live` redraws it at a fixed frame rate in the terminal's
alternate screen, which it restores on exit (also on SIGTERM, or when the
consumer goes away without a word: EOF on the socket).

Layout (what a trader looks at): a header with the clock, messages per second
and the health of the feed (loss, duplicates, reordering, restarts, malformed
records, STALE when a session is open and nothing arrives) and its latency; per
contract the five-level book ladder with sizes, the session's
last/open/high/low/change/volume and under it the session's 1-minute bars as a
small chart; the tape of the last ticks (time, price, size, buyer or seller
initiated); recent problems at the bottom. Every time on the screen is the
exchange's, Taipei (UTC+8), and says so.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.layout import Layout
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from txf_consumer.output import format_price, taipei_clock_text
from txf_consumer.snapshot import Book, Candle, Health, Latency, Session, Snapshot, Trade

SIDES = {1: ("BUY", "green"), 2: ("SELL", "red")}  # txf.v1.TickType numbers


class ScreenProcess:
    """The screen process, from the consumer's side: start it, offer snapshots (a SnapshotSink), stop it.

    One snapshot at most is in flight: `ready()` is True only once the screen
    has acknowledged the last one, so `send()` never waits on a slow terminal.
    If the process dies, `failed` says why and `on_failure` is called once.
    """

    def __init__(self, fps: float, on_failure: Callable[[str], None] | None = None) -> None:
        ours, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[1])  # the child imports txf_consumer from here too
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
        }
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "txf_consumer.screen", "--fd", str(theirs.fileno()), "--fps", f"{fps:g}"],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self._in_flight = False
        self._on_failure = on_failure
        self.failed: str | None = None

    @property
    def pid(self) -> int:
        """The screen process's PID."""
        return self._proc.pid

    def ready(self) -> bool:
        """True when the screen has taken the last snapshot (or none was sent yet)."""
        if self.failed is not None:
            return False
        if self._in_flight:
            try:
                if not self._conn.poll(0):
                    return False
                self._conn.recv_bytes()
            except (EOFError, OSError) as exc:
                self._fail(exc)
                return False
            self._in_flight = False
        return True

    def send(self, snapshot: Snapshot) -> None:
        """Hand a snapshot over (after ready(): the socket is empty, so this does not block)."""
        try:
            self._conn.send(snapshot)
            self._in_flight = True
        except OSError as exc:
            self._fail(exc)

    def close(self, timeout_s: float = 5.0) -> int | None:
        """Ask the screen to restore the terminal and exit; stop it by its PID if it does not. Its exit code.

        Safe to call again (returns the same code).
        """
        if self._conn.closed:
            return self._proc.returncode
        try:
            self._conn.send(None)
        except OSError:
            pass
        try:
            code = self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.terminate()
            try:
                code = self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                code = self._proc.wait()
        self._conn.close()
        return code

    def _fail(self, exc: BaseException) -> None:
        code = self._proc.poll()
        self.failed = f"the live view's screen process (PID {self._proc.pid}) " + (
            f"exited with code {code}" if code is not None else f"stopped answering: {exc}"
        )
        if self._on_failure is not None:
            self._on_failure(self.failed)


# --- drawing (in the screen process) ------------------------------------------------------------


def _signed(scaled: int) -> str:
    text = format_price(scaled)
    return text if text.startswith("-") or text == "0" else "+" + text


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _int(v: int) -> str:
    return f"{v:,}"


def render(s: Snapshot) -> RenderableType:
    """The whole screen for one snapshot."""
    header = _header(s)
    parts = [Layout(Panel(header, padding=(0, 1)), name="header", size=len(header.renderables) + 2)]
    books = {b.code: b for b in s.books}
    sessions = {x.code: x for x in s.sessions}
    charts = dict(s.bars)
    market = Table.grid(padding=(0, 1))
    market.add_column(min_width=44)
    market.add_column(min_width=44)
    for code in sorted(books.keys() | sessions.keys()):
        market.add_row(
            _ladder(books[code]) if code in books else Panel(Text("no book yet", style="dim"), title=f"{code} book"),
            Group(_session(sessions[code]), bars_chart(code, charts.get(code, ())))
            if code in sessions
            else Panel(Text("no trade yet", style="dim"), title=f"{code} session"),
        )
    body = Layout(name="body")
    body.split_row(
        Layout(
            market if market.row_count else Panel(Text("waiting for the first quote", style="dim")),
            name="market",
            ratio=3,
        ),
        Layout(_tape(s.tape), name="tape", ratio=2),
    )
    parts.append(body)
    if s.events:
        parts.append(Layout(_events(s.events), name="events", size=len(s.events) + 2))
    layout = Layout()
    layout.split_column(*parts)
    return layout


def _header(s: Snapshot) -> Group:
    """Clock, rate, health and latency lines (render() frames them)."""
    h = s.health
    top = Text.assemble(
        ("txf-consume", "bold"),
        "  ",
        taipei_clock_text(int(s.wall_time * 1_000_000))[:8],
        (" Taipei", "dim"),
        "  ",
        (f"{h.rate:,.0f} msg/s", "bold cyan"),
        f"  messages {_int(h.messages)}",
    )
    return Group(top, _health_line(h), *_latency_lines(h.latency))


def _health_line(h: Health) -> Text:
    bad = h.lost or h.duplicates or h.malformed
    if h.stale_s:  # a session is open and nothing arrives: whatever came before, the screen is old
        badge = (f"● STALE {h.stale_s:.0f} s", "bold white on red")
    elif bad:
        badge = (f"● LOSS {_int(h.lost)}" if h.lost else "● PROBLEMS", "bold white on red")
    else:
        badge = ("● FEED OK", "bold green")
    red = "bold red"
    return Text.assemble(
        badge,
        "  ",
        (f"loss {_int(h.lost)} in {h.gaps} gap(s)", red if h.lost else ""),
        "  ",
        (f"dup {_int(h.duplicates)}", red if h.duplicates else ""),
        f"  reordered {h.reordered}",
        f"  restarts {h.restarts}",
        "  ",
        (f"malformed {h.malformed}", red if h.malformed else ""),
    )


def _latency_lines(latency: Sequence[Latency]) -> list[Text]:
    if not latency:
        return [Text("latency: no messages yet", style="dim")]
    short = {lat.type_name: lat.type_name.rsplit(".", 1)[-1] for lat in latency}
    producer = "  ".join(
        f"{short[lat.type_name]} p50 {_ms(lat.producer_p50)} p99 {_ms(lat.producer_p99)} max {_ms(lat.producer_max)}"
        for lat in latency
    )
    exchange = "  ".join(
        f"{short[lat.type_name]} p50 {_ms(lat.exchange_p50)} p99 {_ms(lat.exchange_p99)}" for lat in latency
    )
    return [Text(f"latency ms  producer→here  {producer}"), Text(f"latency ms  exchange→here  {exchange}", style="dim")]


def _ladder(b: Book) -> Panel:
    """The five-level ladder: asks above (highest first), bids below, sizes on their own side."""
    t = Table(box=None, pad_edge=False, padding=(0, 2))
    t.add_column("bid size", justify="right", style="green", min_width=8)
    t.add_column("price", justify="center", style="bold", min_width=10)
    t.add_column("ask size", justify="left", style="red", min_width=8)
    for lvl in reversed(b.asks):
        t.add_row("", Text(format_price(lvl.price), style="red"), _int(lvl.volume))
    for lvl in b.bids:
        t.add_row(_int(lvl.volume), Text(format_price(lvl.price), style="green"), "")
    spread = format_price(b.asks[0].price - b.bids[0].price) if b.asks and b.bids else "-"
    summary = Text(
        f"bid total {_int(b.bid_total)}  ask total {_int(b.ask_total)}  spread {spread}\n"
        f"at {taipei_clock_text(b.exchange_time_us)}",
        style="dim",
    )
    return Panel(Group(t, summary), title=f"{b.code} book")


def _session(s: Session) -> Panel:
    """Last, change, high, low, open and volume of the session, as the exchange reports them."""
    colour = "green" if s.change > 0 else "red" if s.change < 0 else ""
    t = Table.grid(padding=(0, 2))
    for _ in range(4):
        t.add_column()
    t.add_row(
        Text("last", style="dim"),
        Text(format_price(s.last), style=f"bold {colour}".strip()),
        Text("change", style="dim"),
        Text(f"{_signed(s.change)} ({_signed(s.pct_change)}%)", style=colour),
    )
    t.add_row(Text("high", style="dim"), format_price(s.high), Text("open", style="dim"), format_price(s.open))
    t.add_row(Text("low", style="dim"), format_price(s.low), Text("volume", style="dim"), _int(s.total_volume))
    return Panel(t, title=f"{s.code} session" + (" (simulated trade)" if s.simtrade else ""))


#: rows of the bars chart, and the most bars it draws (one column each, the newest on the right)
CHART_ROWS, CHART_WIDTH = 8, 42


def bars_chart(code: str, candles: Sequence[Candle]) -> Panel:
    """The session's 1-minute bars as a small candle chart: a column a bar, its wick from low to high and
    its body from open to close, green when it closed up."""
    if not candles:
        return Panel(Text("no bar yet", style="dim"), title=f"{code} 1-minute bars")
    shown = candles[-CHART_WIDTH:]
    lo, hi = min(c.low for c in shown), max(c.high for c in shown)
    span = max(hi - lo, 1)
    step = span / CHART_ROWS
    lines = []
    for row in range(CHART_ROWS):  # top row first
        top = hi - row * step
        bottom = top - step
        line = Text()
        for c in shown:
            colour = "green" if c.close >= c.open else "red"
            body_lo, body_hi = min(c.open, c.close), max(c.open, c.close)
            if body_lo <= top and body_hi >= bottom:
                line.append("█", style=colour)
            elif c.low <= top and c.high >= bottom:
                line.append("│", style=colour)
            else:
                line.append(" ")
        lines.append(line)
    first, last = taipei_clock_text(shown[0].end_ns // 1000)[:5], taipei_clock_text(shown[-1].end_ns // 1000)[:5]
    caption = Text(f"{first}-{last} Taipei  high {format_price(hi)}  low {format_price(lo)}", style="dim")
    return Panel(Group(*lines, caption), title=f"{code} 1-minute bars")


def _tape(tape: Sequence[Trade]) -> Panel:

    codes = {tr.code for tr in tape}
    t = Table(expand=True, box=None, pad_edge=False)
    t.add_column("time (Taipei)")
    if len(codes) > 1:
        t.add_column("code")
    t.add_column("price", justify="right")
    t.add_column("size", justify="right")
    t.add_column("side")
    for tr in tape:
        side, colour = SIDES.get(tr.side, ("-", "dim"))
        cells: list[RenderableType] = [taipei_clock_text(tr.exchange_time_us)]
        if len(codes) > 1:
            cells.append(tr.code)
        cells += [Text(format_price(tr.price), style=colour), _int(tr.volume), Text(side, style=colour)]
        t.add_row(*cells)
    return Panel(t, title="tape (newest first)")


def _events(events: Sequence[str]) -> Panel:

    return Panel(Text("\n".join(events), style="yellow"), title="recent problems")


# --- the process --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Receive snapshots on --fd and draw the newest at --fps until told to stop (None) or EOF."""

    ap = argparse.ArgumentParser(prog="txf_consumer.screen", description=__doc__.split("\n\n")[0])
    ap.add_argument("--fd", type=int, required=True, help="socket from the consumer (inherited)")
    ap.add_argument("--fps", type=float, default=4.0)
    args = ap.parse_args(argv)
    conn = Connection(args.fd)
    # the consumer first: when both want a CPU, drawing waits (a frame late is fine, a quote late is not)
    os.nice(10)
    # Ctrl-C is for the consumer, which then tells us to stop; SIGTERM leaves the screen tidy too
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Live(
        Text("txf-consume: waiting for the first records ..."),
        console=Console(),
        screen=True,
        auto_refresh=True,
        refresh_per_second=args.fps,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        while True:
            try:
                snapshot = conn.recv()
                conn.send_bytes(b".")
            except (EOFError, OSError):
                break
            if snapshot is None:
                break
            live.update(render(snapshot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
