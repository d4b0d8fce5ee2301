"""1-minute bars recomputed from ticks, written here again from the rule, not from txf_kit.bars.

The rule (README "Archive"): a bar is labelled by its right edge and holds the trades with exchange
time in [end - 1 min, end); a trade at or after a session's close (the closing print) belongs to the
session's last bar, labelled with the close; trial matches are in no bar; open is the first trade in
topic order, close the last, value the sum of price x volume.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from txf_kit import calendar

MIN_NS = 60_000_000_000


@dataclass(frozen=True)
class Bar:
    code: str
    end_ns: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    count: int
    value: int


#: after a close, how long a trade is still that session's closing print (until the next pre-open)
AFTER_DAY_CLOSE_NS, AFTER_NIGHT_CLOSE_NS = 65 * MIN_NS, 180 * MIN_NS


def label(t_ns: int) -> int:
    """The right edge of the bar a trade at `t_ns` belongs to (the close for a closing print). The
    expiring contract's 13:30 stop on its last day is not modelled: the campaign's days are not it."""
    d = calendar.taipei(t_ns).date()
    day = calendar.day_session(d)
    if day is not None and day.close_ns <= t_ns < day.close_ns + AFTER_DAY_CLOSE_NS:
        return day.close_ns
    night = calendar.night_session(d - timedelta(days=1))
    if night is not None and night.close_ns <= t_ns < night.close_ns + AFTER_NIGHT_CLOSE_NS:
        return night.close_ns
    return (t_ns // MIN_NS + 1) * MIN_NS


def bars(ticks: Iterable[tuple[str, int, int, int, bool]]) -> dict[tuple[str, int], Bar]:
    """(code, exchange ns, price, volume, simtrade) in topic order -> the bars by (code, end)."""
    out: dict[tuple[str, int], list[int]] = {}
    order: list[tuple[str, int]] = []
    for code, t_ns, price, volume, simtrade in ticks:
        if simtrade:
            continue
        key = (code, label(t_ns))
        b = out.get(key)
        if b is None:
            out[key] = [price, price, price, price, volume, 1, price * volume]
            order.append(key)
        else:
            b[1], b[2], b[3] = max(b[1], price), min(b[2], price), price
            b[4] += volume
            b[5] += 1
            b[6] += price * volume
    return {k: Bar(k[0], k[1], *out[k]) for k in order}  # type: ignore[arg-type]
