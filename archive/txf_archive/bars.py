"""One-minute bars from trades, with the boundaries of Shioaji's `api.kbars` (REFERENCE.md §7).

- A bar is labelled by its right edge and holds the trades with exchange time in [end - 1 min, end)
  (the 08:45:00 opening trade is in the 08:46 bar).
- A session's close is a boundary of its own: a trade at or after the close (the closing print,
  stamped 13:45:00.x or 05:00:00.x; 13:30 for the expiring contract on its last day) belongs to the
  session's last bar, labelled with the close (13:45), not to a bar after it.
- Trial matches (simtrade) are never in a bar; a minute without trades has no bar.
- open/high/low/close/value/vwap are points x10000, exact integers: value = sum(price x volume),
  vwap = value / volume rounded half away from zero.
Pure functions and a builder without I/O: the bar service (barservice.py) feeds it from Kafka, and
tests compare it with an independent SQL computation over the archived ticks.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, timedelta

from txf.v1 import Bar, Tick
from txf_kit import calendar

NS_PER_MIN = 60_000_000_000
_AFTER_DAY_CLOSE_NS = 65 * NS_PER_MIN  # 13:45 -> 14:50: the day session's closing prints
_AFTER_NIGHT_CLOSE_NS = 3 * 60 * NS_PER_MIN  # 05:00 -> 08:00: the night session's closing prints


def session_close_ns(t_ns: int, code: str, holidays: Collection[date] = ()) -> int | None:
    """The close that a trade at `t_ns` folds into when it is at/after it (see the module doc), else None."""
    s = calendar.session_at(t_ns, holidays)
    if s is not None:
        close = s.close_ns
        if s.expiry and code == calendar.contract_codes(s, holidays)[0]:
            close = s.near_close_ns  # the expiring contract stops at 13:30
        return close if t_ns >= close else None
    d = calendar.taipei(t_ns).date()
    day = calendar.day_session(d, holidays)
    if day is not None and day.close_ns <= t_ns < day.close_ns + _AFTER_DAY_CLOSE_NS:
        return day.close_ns
    night = calendar.night_session(d - timedelta(days=1), holidays)
    if night is not None and night.close_ns <= t_ns < night.close_ns + _AFTER_NIGHT_CLOSE_NS:
        return night.close_ns
    return None


def bar_end_ns(t_ns: int, code: str, holidays: Collection[date] = ()) -> int:
    """Right edge (label) of the bar a trade at `t_ns` belongs to."""
    close = session_close_ns(t_ns, code, holidays)
    if close is not None:
        return close
    return (t_ns // NS_PER_MIN + 1) * NS_PER_MIN


def vwap(value: int, volume: int) -> int:
    """value / volume rounded half away from zero (integers, x10000); 0 without volume."""
    if volume <= 0:
        return 0
    q, r = divmod(abs(value), volume)
    if 2 * r >= volume:
        q += 1
    return q if value >= 0 else -q


@dataclass
class OpenBar:
    """A bar still taking trades; `first_offsets` = where its trades start in each topic-partition."""

    code: str
    end_ns: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    count: int
    value: int
    first_us: int
    last_us: int
    first_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, price: int, volume: int, t_us: int, tp: tuple[str, int], offset: int) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += volume
        self.count += 1
        self.value += price * volume
        self.last_us = t_us
        self.first_offsets.setdefault(tp, offset)

    def to_message(self, sequence: int, run_id: int, publish_ns: int) -> Bar:
        return Bar(
            code=self.code,
            end_time_ms=self.end_ns // 1_000_000,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
            tick_count=self.count,
            value=self.value,
            vwap=vwap(self.value, self.volume),
            first_exchange_time_us=self.first_us,
            last_exchange_time_us=self.last_us,
            sequence=sequence,
            producer_run_id=run_id,
            publish_time_ns=publish_ns,
        )


@dataclass
class AddResult:
    closed: list[OpenBar]
    late: bool = False
    simtrade: bool = False


class BarBuilder:
    """Per contract code, the open bar; trades in topic order close the bars before them.

    `published` holds, per code, the right edge of the last bar already published (restored from the
    committed offsets' metadata after a restart): a trade of a bar at or before it is *late* and
    left out (counted), so a restart that re-reads trades never publishes a bar twice.
    """

    def __init__(self, holidays: Collection[date] = (), published: dict[str, int] | None = None) -> None:
        self.holidays = holidays
        self.open: dict[str, OpenBar] = {}
        self.published: dict[str, int] = dict(published or {})  # code -> end_ns

    def add(self, tick: Tick, tp: tuple[str, int], offset: int) -> AddResult:
        if tick.simtrade:
            return AddResult([], simtrade=True)
        code = tick.code
        t_us = tick.exchange_time_us
        end = bar_end_ns(t_us * 1000, code, self.holidays)
        if end <= self.published.get(code, -1):
            return AddResult([], late=True)
        bar = self.open.get(code)
        closed: list[OpenBar] = []
        if bar is not None:
            if end == bar.end_ns:
                bar.add(tick.close, tick.volume, t_us, tp, offset)
                return AddResult([])
            if end < bar.end_ns:
                return AddResult([], late=True)
            closed.append(self._close(code))
        self.open[code] = OpenBar(
            code,
            end,
            tick.close,
            tick.close,
            tick.close,
            tick.close,
            tick.volume,
            1,
            tick.close * tick.volume,
            t_us,
            t_us,
            {tp: offset},
        )
        return AddResult(closed)

    def close_due(self, now_ns: int) -> list[OpenBar]:
        """Close every open bar whose right edge is at or before `now_ns` (the caller adds its grace)."""
        return [self._close(code) for code, bar in list(self.open.items()) if bar.end_ns <= now_ns]

    def _close(self, code: str) -> OpenBar:
        bar = self.open.pop(code)
        self.published[code] = bar.end_ns
        return bar

    def low_water(self, tp: tuple[str, int]) -> int | None:
        """The first offset of `tp` that an open bar still needs (None: no open bar holds trades of it)."""
        offsets = [b.first_offsets[tp] for b in self.open.values() if tp in b.first_offsets]
        return min(offsets) if offsets else None
