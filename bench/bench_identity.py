"""How often two distinct quotes would share an arbiter identity (txf_arbiter.identity.quote_key).

Shioaji has no exchange sequence number, so the arbiter recognises the second copy of a quote by its
content. A collision is two DISTINCT quotes with one key inside the arbiter's window
(TXF_ARBITER_WINDOW_S, 300 s): the second would be dropped as a duplicate, a hole nobody sees.

Runs the simulated market (the producer's own model, the real intraday shape, day and night
sessions) through the producer's exact conversion (convert.build_tick / build_bidask) for
--days trading days, keys every quote as the arbiter does, and counts per stream:
- quotes, and quotes sharing their exchange microsecond with an earlier one of the same stream
  (why the timestamp alone is not an identity);
- exact repeats: a quote identical to the one before it (same content, same microsecond), which the
  arbiter numbers (identity.RepeatCounter) instead of dropping;
- collisions: an arbiter key (numbered as the arbiter numbers it) seen before within the window.

The simulated market emits each quote once, so every repeated arbiter key is a collision. Prints a table and
a JSON line; exits 1 if any collision is found. Its limit: the model, not the exchange, decides how
alike neighbouring quotes are (a real day's recording replayed through `--recording` says more).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from google.protobuf.message import Message  # noqa: E402

from txf_arbiter.identity import RepeatCounter, quote_key  # noqa: E402
from txf_kit import calendar  # noqa: E402
from txf_producer.convert import build_bidask, build_tick  # noqa: E402
from txf_producer.quotes import TICK, bidask_from_array, tick_from_array  # noqa: E402
from txf_producer.recording import open_recording  # noqa: E402
from txf_producer.recording.format import KIND_BIDASK, KIND_TICK  # noqa: E402
from txf_producer.simulation.market import SimMarket  # noqa: E402
from txf_producer.sources.base import QuoteType  # noqa: E402
from txf_producer.sources.simulated import SimConfig  # noqa: E402

STREAMS = (("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))
START = dt.datetime(2026, 11, 23, 8, 30, tzinfo=calendar.TAIPEI)  # a Monday's pre-open


def simulated(days: int, seed: int) -> Iterator[tuple[str, Message]]:
    """("tick" | "bidask", the txf.v1 message the producer would publish) for `days` trading days."""
    end = calendar.to_ns(START + dt.timedelta(days=days)) // 1000
    market = SimMarket(SimConfig(seed=seed, streams=STREAMS), calendar.to_ns(START))
    for kind, time_us, arr in market:
        if time_us >= end:
            return
        if kind == TICK:
            yield "tick", build_tick(tick_from_array(arr), 0, 0)
        else:
            yield "bidask", build_bidask(bidask_from_array(arr), 0, 0)


def recorded(path: Path) -> Iterator[tuple[str, Message]]:
    """The same from a recording (`txf-producer run --record`): a real day when you have one."""
    with open_recording(path) as recording:
        for kind, _receive_ns, payload in recording.records():
            if kind == KIND_TICK:
                yield "tick", build_tick(tick_from_array(payload), 0, 0)
            elif kind == KIND_BIDASK:
                yield "bidask", build_bidask(bidask_from_array(payload), 0, 0)


def count(quotes: Iterator[tuple[str, Message]], window_s: float) -> dict[str, dict[str, int]]:
    window_us = int(window_s * 1_000_000)
    out: dict[str, dict[str, int]] = {}
    seen: dict[str, dict[bytes, int]] = {}
    order: dict[str, deque[tuple[int, bytes]]] = {}
    last_us: dict[str, int] = {}
    last_base: dict[str, bytes] = {}
    counters: dict[str, RepeatCounter] = {}
    for kind, msg in quotes:
        stats = out.setdefault(kind, {"quotes": 0, "same_microsecond": 0, "exact_repeats": 0, "collisions": 0})
        repeats = counters.setdefault(kind, RepeatCounter())
        keys, fifo = seen.setdefault(kind, {}), order.setdefault(kind, deque())
        t = int(msg.exchange_time_us)  # type: ignore[attr-defined]
        while fifo and fifo[0][0] < t - window_us:  # the arbiter forgets identities older than the window
            old_t, old_key = fifo.popleft()
            if keys.get(old_key) == old_t:
                del keys[old_key]
        base = quote_key(msg)
        key = repeats.key(base)
        stats["exact_repeats"] += int(last_base.get(kind) == base)
        last_base[kind] = base
        stats["quotes"] += 1
        stats["same_microsecond"] += int(last_us.get(kind) == t)
        stats["collisions"] += int(key in keys)
        keys[key] = t
        fifo.append((t, key))
        last_us[kind] = t
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=1, help="simulated trading days (day + night session each)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--window-s", type=float, default=300.0, help="the arbiter's TXF_ARBITER_WINDOW_S")
    ap.add_argument("--recording", type=Path, help="key a recording instead of the simulator")
    args = ap.parse_args()
    source = recorded(args.recording) if args.recording else simulated(args.days, args.seed)
    result = count(source, args.window_s)
    print(f"{'stream':<8}{'quotes':>10}{'same us':>10}{'exact repeats':>15}{'collisions':>12}")
    for kind, s in result.items():
        print(f"{kind:<8}{s['quotes']:>10,}{s['same_microsecond']:>10,}{s['exact_repeats']:>15,}{s['collisions']:>12}")
    out: dict[str, Any] = {
        "window_s": args.window_s,
        "source": str(args.recording or f"sim {args.days} day(s)"),
        **result,
    }
    print(json.dumps(out, sort_keys=True))
    return 1 if any(s["collisions"] for s in result.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
