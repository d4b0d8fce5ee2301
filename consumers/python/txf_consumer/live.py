"""`--output live`: a terminal view redrawn about twice a second (ANSI, standard library only).

Why no `rich`: the view is a handful of fixed-width lines; redrawing them with
"cursor home + clear" costs nothing and keeps the consumer's dependencies at
confluent-kafka + protobuf. Handler calls only remember the last quote per
stream (a dict store); the drawing happens in `heartbeat()`, which the loop
calls after every poll batch or empty poll, at most every `interval_s`.
"""

from __future__ import annotations

import collections
import time
from typing import Callable, TextIO

from txf.v1 import BidAsk, Tick
from txf_consumer.handler import BaseHandler, RecordMeta
from txf_consumer.output import describe_event, format_price, latency_cells
from txf_consumer.tracker import SeqEvent, StreamState, Tracker

CLEAR = "\x1b[H\x1b[2J"
BOLD, RED, DIM, RESET = "\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m"


def _clock_text(exchange_time_us: int) -> str:
    """HH:MM:SS.mmm in Taipei time (UTC+8, no DST) of an exchange timestamp."""
    if not exchange_time_us:
        return "-"
    ms = (exchange_time_us // 1000 + 8 * 3600 * 1000) % 86_400_000
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


class LiveView(BaseHandler):
    """Last Tick and book per (topic, code), counters, loss/dup, latency: redrawn every `interval_s`."""

    def __init__(self, tracker: Tracker, out: TextIO, interval_s: float = 0.5,
                 malformed: Callable[[], int] = lambda: 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.tracker = tracker
        self.out = out
        self.interval_s = interval_s
        self._malformed = malformed
        self._clock = clock
        self._last_draw = 0.0
        self.ticks: dict[tuple[str, str], tuple[Tick, RecordMeta]] = {}
        self.books: dict[tuple[str, str], tuple[BidAsk, RecordMeta]] = {}
        self.events: collections.deque[str] = collections.deque(maxlen=6)
        self.started = clock()

    def on_tick(self, tick: Tick, meta: RecordMeta) -> None:
        self.ticks[(meta.topic, tick.code)] = (tick, meta)

    def on_bidask(self, bidask: BidAsk, meta: RecordMeta) -> None:
        self.books[(meta.topic, bidask.code)] = (bidask, meta)

    def on_malformed_record(self, text: str) -> None:
        """Show a malformed-record report among the recent events too (stderr scrolls away)."""
        self.events.append(text)

    def on_sequence_event(self, event: SeqEvent, state: StreamState, meta: RecordMeta, seq: int) -> None:
        """Keep the last few loss/duplicate/restart events for the screen."""
        line = describe_event(event, state, meta, seq)
        if line:
            self.events.append(line)

    def heartbeat(self) -> None:
        """Redraw when `interval_s` has passed since the last drawing."""
        if self._clock() - self._last_draw >= self.interval_s:
            self.draw()

    def draw(self) -> None:
        """Redraw now."""
        self._last_draw = self._clock()
        self.out.write(CLEAR + self.render() + "\n")
        self.out.flush()

    def render(self) -> str:
        """The screen as text (ANSI colours for problems)."""
        t = self.tracker
        totals = t.totals()
        elapsed = max(self._clock() - self.started, 1e-9)
        loss = f"loss {totals['lost']} in {totals['gaps']} gap(s)  dup {totals['duplicates']}"
        bad = self._malformed()
        lines = [
            f"{BOLD}txf-consume{RESET}  {time.strftime('%H:%M:%S')}  messages {t.messages} "
            f"({t.messages / elapsed:.0f}/s)  " + (f"{RED}malformed {bad}{RESET}" if bad else "malformed 0") + "  "
            + (f"{RED}{loss}{RESET}" if totals["lost"] or totals["duplicates"] else loss)
            + f"  reordered {totals['reordered']}  restarts {t.producer_restarts}",
            "",
            f"{BOLD}{'TICK':<22}{'code':<8}{'last':>12}{'vol':>6}{'total vol':>11}{'seq':>10}  exchange time{RESET}",
        ]
        for (topic, code), (tick, _meta) in sorted(self.ticks.items()):
            lines.append(f"{topic[:21]:<22}{code[:7]:<8}{format_price(tick.close):>12}{tick.volume:>6}"
                         f"{tick.total_volume:>11}{tick.sequence:>10}  {_clock_text(tick.exchange_time_us)}")
        lines += ["", f"{BOLD}{'BOOK':<22}{'code':<8}{'bid':>12}{'x':>5} | {'ask':<12}{'x':>5}{'seq':>10}  "
                      f"exchange time{RESET}"]
        for (topic, code), (book, _meta) in sorted(self.books.items()):
            bid = format_price(book.bid_price[0]) if book.bid_price else "-"
            ask = format_price(book.ask_price[0]) if book.ask_price else "-"
            bv = book.bid_volume[0] if book.bid_volume else 0
            av = book.ask_volume[0] if book.ask_volume else 0
            lines.append(f"{topic[:21]:<22}{code[:7]:<8}{bid:>12}{bv:>5} | {ask:<12}{av:>5}{book.sequence:>10}  "
                         f"{_clock_text(book.exchange_time_us)}")
        lines += ["", f"{BOLD}{'STREAM':<22}{'code':<8}{'run':>21}{'count':>9}{'lost':>7}{'dup':>6}{'late':>6}{RESET}"]
        for key, s in sorted(self.tracker.streams.items()):
            bad = s.lost or s.duplicates
            lines.append(f"{RED if bad else ''}{key.type_name:<22}{key.code[:7]:<8}{key.producer_run_id:>21}"
                         f"{s.count:>9}{s.lost:>7}{s.duplicates:>6}{s.reordered:>6}{RESET if bad else ''}")
        lines += ["", f"{BOLD}LATENCY ms{RESET}"]
        for type_name, pair in sorted(self.tracker.latency.items()):
            for label, h in (("exchange->consumer", pair.exchange), ("producer->consumer", pair.producer)):
                if h.count:
                    lines.append(f"  {type_name:<14} {label:<19} {latency_cells(h.summary_ms())}")
        if self.events:
            lines += ["", f"{BOLD}recent events{RESET}", *(f"  {DIM}{e}{RESET}" for e in self.events)]
        return "\n".join(lines)

