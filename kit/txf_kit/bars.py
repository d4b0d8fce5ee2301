"""One-minute bars from trades, with the boundaries of Shioaji's `api.kbars` (REFERENCE.md §7).

- A bar is labelled by its right edge and holds the trades with exchange time in [end - 1 min, end)
  (the 08:45:00 opening trade is in the 08:46 bar).
- A session's close is a boundary of its own: a trade at or after the close (the closing print,
  stamped 13:45:00.x or 05:00:00.x; 13:30 for the expiring contract on its last day) belongs to the
  session's last bar, labelled with the close (13:45), not to a bar after it.
- Trial matches (simtrade) are never in a bar; a minute without trades has no bar.
- open/high/low/close/value/vwap are points x10000, exact integers: value = sum(price x volume),
  vwap = value / volume rounded half away from zero.
- A bar is final once the market's event time (txf_kit.clock.FeedClock, never the wall clock) is past
  its right edge by the grace: a trade older than that is late, counted and left out.
Pure functions and a builder without I/O, the one definition of a bar: the bar builder
(`txf-archive bars`) publishes them, the live view draws them, and tests compare them with an
independent SQL computation over the archived ticks.
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
    """Open bars per contract, closed by event time: a bar is final once the watermark passes its end.

    The watermark is the newest exchange time seen in the input, less `grace_ns` (trades may arrive out
    of exchange-time order by that much: a quote only a slower capture leg had is written later); the
    caller may also advance it with the market's clock (`close_due`, txf_kit.clock.FeedClock), e.g.
    to finish a session's last bar in the silence after its close. Never the wall clock: a replay of
    an earlier day, a backlog and a live feed give the same bars. A trade whose bar was already
    closed is *late*: left out and counted, so every bar is published once and final.

    `published` holds, per code, the right edge of the last bar already published (restored from the
    committed offsets' metadata after a restart): a trade of a bar at or before it is late too, so a
    restart that re-reads trades never publishes a bar twice.
    """

    def __init__(
        self, holidays: Collection[date] = (), published: dict[str, int] | None = None, grace_ns: int = 0
    ) -> None:
        self.holidays = holidays
        self.grace_ns = grace_ns
        self.open: dict[tuple[str, int], OpenBar] = {}  # (code, end_ns) -> the bar
        self.published: dict[str, int] = dict(published or {})  # code -> end_ns
        self.newest_ns = 0  # the newest exchange time seen (ns)

    def add(self, tick: Tick, tp: tuple[str, int], offset: int) -> AddResult:
        """Take one trade (in input order); the bars its exchange time makes final."""
        if tick.simtrade:
            return AddResult([], simtrade=True)
        code = tick.code
        t_us = tick.exchange_time_us
        end = bar_end_ns(t_us * 1000, code, self.holidays)
        if end <= self.published.get(code, -1):
            return AddResult([], late=True)
        bar = self.open.get((code, end))
        if bar is not None:
            bar.add(tick.close, tick.volume, t_us, tp, offset)
        else:
            c = tick.close
            self.open[(code, end)] = OpenBar(
                code, end, c, c, c, c, tick.volume, 1, c * tick.volume, t_us, t_us, {tp: offset}
            )
        self.newest_ns = max(self.newest_ns, t_us * 1000)
        return AddResult(self.close_due(self.newest_ns - self.grace_ns))

    def close_due(self, watermark_ns: int) -> list[OpenBar]:
        """Close every open bar whose right edge is at or before `watermark_ns` (event time), oldest first."""
        due = sorted((k for k in self.open if k[1] <= watermark_ns), key=lambda k: (k[1], k[0]))
        return [self._close(k) for k in due]

    def _close(self, key: tuple[str, int]) -> OpenBar:
        bar = self.open.pop(key)
        self.published[bar.code] = max(self.published.get(bar.code, -1), bar.end_ns)
        return bar

    def low_water(self, tp: tuple[str, int]) -> int | None:
        """The first offset of `tp` that an open bar still needs (None: no open bar holds trades of it)."""
        offsets = [b.first_offsets[tp] for b in self.open.values() if tp in b.first_offsets]
        return min(offsets) if offsets else None
