"""The simulated TXF market: real objects, determinism, book and session consistency, mix, roll, pacing, stop."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from shioaji import BidAskFOPv1, TickFOPv1

from txf_kit import calendar as S
from txf_kit.calendar import TAIPEI, Phase, day_rate, night_rate
from txf_producer.quotes import bidask_array, tick_array
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteType, SourceError, Subscription
from txf_producer.sources.events import Connected, EndOfFeed, SourceEvent, SourceFault, Subscribed
from txf_producer.sources.simulated import SimConfig, SimulatedSource

MONDAY_OPEN = datetime(2026, 11, 16, 8, 45, tzinfo=TAIPEI)


class Collect:
    """A sink keeping everything in arrival order; `ended` is set at END_OF_FEED, `got` at the first quote."""

    def __init__(self, raise_on_tick: bool = False) -> None:
        self.log: list[tuple[str, Any]] = []
        self.ended = threading.Event()
        self.got = threading.Event()
        self.raise_on_tick = raise_on_tick

    def on_tick(self, q: Any, receive_ns: int) -> None:
        self.log.append(("tick", q))
        self.got.set()
        if self.raise_on_tick:
            raise RuntimeError("sink bug")

    def on_bidask(self, q: Any, receive_ns: int) -> None:
        self.log.append(("bidask", q))
        self.got.set()

    def on_event(self, e: SourceEvent) -> None:
        self.log.append(("event", e))
        if isinstance(e, EndOfFeed):
            self.ended.set()

    @property
    def quotes(self) -> list[tuple[str, Any]]:
        return [(k, q) for k, q in self.log if k != "event"]

    @property
    def events(self) -> list[SourceEvent]:
        return [q for k, q in self.log if k == "event"]

    def arrays(self) -> list[list[Any]]:
        return [tick_array(q) if k == "tick" else bidask_array(q) for k, q in self.quotes]


def run(cfg: SimConfig, timeout: float = 10.0) -> tuple[Collect, list[Subscription]]:
    """Run a finite sim to END_OF_FEED."""
    sink = Collect()

    async def main() -> list[Subscription]:
        src = SimulatedSource(cfg)
        subs = await src.start(sink)
        assert sink.ended.wait(timeout), "no END_OF_FEED"
        await src.stop()
        assert src.done.is_set()
        return subs

    return sink, asyncio.run(main())


def dt(q: Any) -> int:
    return S.taipei_naive_to_ns(q.datetime)


def test_same_seed_same_quotes_other_seed_others() -> None:
    cfg = SimConfig(seed=7, start=MONDAY_OPEN, max_messages=3000)
    a, subs_a = run(cfg)
    b, subs_b = run(cfg)
    c, _ = run(SimConfig(seed=8, start=MONDAY_OPEN, max_messages=3000))
    assert subs_a == subs_b
    arr_a = a.arrays()
    assert len(arr_a) == 3000
    assert arr_a == b.arrays()
    assert arr_a != c.arrays()
    # pacing never changes content: a fixed-rate run yields the same prices (times differ by design)
    m1, m2 = SimMarket(cfg, S.to_ns(MONDAY_OPEN)), SimMarket(cfg, S.to_ns(MONDAY_OPEN))
    assert [next(m1) for _ in range(500)] == [next(m2) for _ in range(500)]


def _decimals_ok(v: Decimal) -> bool:
    return v.as_tuple().exponent >= -4  # type: ignore[operator]


@pytest.mark.parametrize(
    "start", [MONDAY_OPEN, datetime(2026, 11, 16, 13, 40, tzinfo=TAIPEI)], ids=["open", "close-night"]
)
def test_book_and_session_invariants_over_20000_messages(start: datetime) -> None:
    sink, subs = run(SimConfig(seed=3, start=start, max_messages=20_000, intensity=0.5))
    quotes = sink.quotes
    assert len(quotes) == 20_000
    assert {s.code for s in subs} == {"TXFK6", "TXFL6"}
    prev_vol: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([0] * 5, [0] * 5))
    book: dict[str, tuple[Decimal, Decimal, int]] = {}  # code -> best bid, best ask, ticks since snapshot
    state: dict[str, Any] = {}
    last_t = 0
    phases = Counter()
    one = Decimal(1)
    for kind, q in quotes:
        t = dt(q)
        assert t >= last_t
        last_t = t
        phase = S.phase_at(t)
        phases[phase] += 1
        assert phase is (Phase.PREOPEN if q.simtrade else Phase.OPEN)
        assert _decimals_ok(q.underlying_price) and q.underlying_price.as_tuple().exponent == -2
        if kind == "bidask":
            assert isinstance(q, BidAskFOPv1)
            bp, ap, bv, av = q.bid_price, q.ask_price, q.bid_volume, q.ask_volume
            assert len(bp) == len(ap) == len(bv) == len(av) == 5
            assert bp[0] < ap[0] <= bp[0] + 4
            assert all(bp[i] - bp[i + 1] == one and ap[i + 1] - ap[i] == one for i in range(4))
            assert all(v >= 1 for v in bv + av)
            assert q.bid_total_vol == sum(bv) and q.ask_total_vol == sum(av)
            pb, pa = prev_vol[q.code]
            assert q.diff_bid_vol == [n - p for n, p in zip(bv, pb, strict=True)]
            assert q.diff_ask_vol == [n - p for n, p in zip(av, pa, strict=True)]
            prev_vol[q.code] = (bv, av)
            if q.first_derived_bid_vol:
                assert bp[0] - 2 <= q.first_derived_bid_price <= bp[0]
            else:
                assert q.first_derived_bid_price == 0
            if q.first_derived_ask_vol:
                assert ap[0] <= q.first_derived_ask_price <= ap[0] + 2
            assert all(_decimals_ok(p) for p in bp + ap)
            assert abs(bp[0] - q.underlying_price) < 300
            book[q.code] = (bp[0], ap[0], 0)
            continue
        assert isinstance(q, TickFOPv1)
        for f in ("open", "close", "high", "low", "avg_price", "amount", "total_amount", "price_chg", "pct_chg"):
            assert _decimals_ok(getattr(q, f)), f
        assert q.volume >= 1 and q.tick_type in (0, 1, 2) and q.chg_type in (2, 3, 4)
        ref = q.close - q.price_chg
        assert q.pct_chg == (q.price_chg * 100 / ref).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert q.chg_type == (2 if q.price_chg > 0 else 4 if q.price_chg < 0 else 3)
        assert abs(q.close - q.underlying_price) < 300
        if q.simtrade:
            assert q.tick_type == 0
            continue
        st = state.get(q.code)
        if st is None or q.total_volume == q.volume:  # first trade of a session (or of the run)
            st = state[q.code] = {"tv": 0, "ta": Decimal(0), "ref": ref, "open": q.open}
            assert q.open == q.close
        assert q.total_volume == st["tv"] + q.volume
        assert q.amount == q.close * q.volume
        assert q.total_amount == st["ta"] + q.amount
        assert q.avg_price == (q.total_amount / q.total_volume).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert q.low <= q.close <= q.high and q.low <= q.open <= q.high and q.open == st["open"]
        assert q.bid_side_total_vol + q.ask_side_total_vol <= q.total_volume
        assert ref == st["ref"]
        st["tv"], st["ta"] = q.total_volume, q.total_amount
        if (
            q.code in book
        ):  # TXFR1: trades happen at the book's best prices (levels only recede until the next snapshot)
            bb, ba, since = book[q.code]
            if q.tick_type == 1:
                assert ba <= q.close <= ba + since
            elif q.tick_type == 2:
                assert bb - since <= q.close <= bb
            book[q.code] = (bb, ba, since + 1)
    kinds = Counter(k for k, _ in quotes)
    assert kinds["tick"] > 1000 and kinds["bidask"] > 10_000
    if start.hour == 13:
        assert phases[Phase.PREOPEN] > 100  # crossed the 14:50 auction into the night session


def test_message_mix_is_86_14() -> None:
    sink, _ = run(SimConfig(seed=11, start=MONDAY_OPEN, max_messages=20_000))
    kinds = Counter(k for k, _ in sink.quotes)
    share = kinds["bidask"] / 20_000
    assert abs(share - 0.86) < 0.015, share
    codes = Counter(q.code for k, q in sink.quotes if k == "tick")
    assert 0.01 < codes["TXFL6"] / kinds["tick"] < 0.06  # TXFR2 ticks are rare


def test_intraday_shape_matches_reference_load() -> None:
    # ~410,000 messages per trading day, peak ~350/s at the open
    day = sum(day_rate(s + 0.5) for s in range(18_000))
    night = sum(night_rate(s + 0.5) for s in range(50_400))
    total = day + night + 1.5 * (900 + 600)
    assert 370_000 < total < 450_000, total
    assert 320 < day_rate(0) < 360
    # the open burst shows in the simulated stream: first minute vs a midday minute
    first_minute = 0
    m = SimMarket(SimConfig(seed=5), S.to_ns(MONDAY_OPEN))
    end = S.to_ns(datetime(2026, 11, 16, 8, 46, tzinfo=TAIPEI)) // 1000
    per_second = Counter()
    for _, t_us, _ in m:
        if t_us >= end:
            break
        first_minute += 1
        per_second[t_us // 1_000_000] += 1
    midday = 0
    m = SimMarket(SimConfig(seed=5), S.to_ns(datetime(2026, 11, 16, 11, 0, tzinfo=TAIPEI)))
    end = S.to_ns(datetime(2026, 11, 16, 11, 1, tzinfo=TAIPEI)) // 1000
    for _, t_us, _ in m:
        if t_us >= end:
            break
        midday += 1
    assert first_minute > 10 * midday and 300 < midday < 1200
    assert 280 < max(per_second.values()) < 450


def test_month_code_rolls_after_third_wednesday() -> None:
    # 2026-11-18 is November's third Wednesday: TXFK6 expires at 13:30, the night session trades TXFL6 as near month
    cfg = SimConfig(seed=2, start=datetime(2026, 11, 18, 13, 20, tzinfo=TAIPEI), max_messages=12_000)
    sink, subs = run(cfg)
    assert subs == [
        Subscription("TXFR1", "TXFK6", QuoteType.TICK),
        Subscription("TXFR1", "TXFK6", QuoteType.BIDASK),
        Subscription("TXFR2", "TXFL6", QuoteType.TICK),
    ]
    expiry_close = S.to_ns(datetime(2026, 11, 18, 13, 30, tzinfo=TAIPEI))
    night_pre = S.to_ns(datetime(2026, 11, 18, 14, 50, tzinfo=TAIPEI))
    roll_at = None
    before: dict[str, set[str]] = defaultdict(set)
    after: dict[str, set[str]] = defaultdict(set)
    last_r2_close = last_r1_close = None
    first_r1_after = None
    for i, (kind, x) in enumerate(sink.log):
        if kind == "event":
            if isinstance(x, Subscribed) and x.roll:
                roll_at = roll_at if roll_at is not None else i
            continue
        t = dt(x)
        assert not expiry_close <= t < night_pre, "quotes in the expiry-day break"
        side = before if t < expiry_close else after
        side[kind].add(x.code)
        if t < expiry_close and kind == "tick":
            if x.code == "TXFL6":
                last_r2_close = x.close
            else:
                last_r1_close = x.close
        if t >= night_pre and kind == "bidask" and first_r1_after is None:
            first_r1_after = x.bid_price[0]
            assert roll_at is not None and roll_at < i  # the roll is announced before the new codes
    assert before == {"tick": {"TXFK6", "TXFL6"}, "bidask": {"TXFK6"}}
    assert after == {"tick": {"TXFL6", "TXFA7"}, "bidask": {"TXFL6"}}
    rolls = {
        (s.alias, s.quote_type.value, s.code)
        for e in sink.events
        if isinstance(e, Subscribed) and e.roll
        for s in e.subscriptions
    }
    assert rolls == {("TXFR1", "tick", "TXFL6"), ("TXFR1", "bidask", "TXFL6"), ("TXFR2", "tick", "TXFA7")}
    # the new near month continues at the old next month's price level
    assert last_r1_close is not None and last_r2_close is not None and first_r1_after is not None
    assert abs(first_r1_after - last_r2_close) < 15 < abs(first_r1_after - last_r1_close)


def test_end_of_feed_exactly_at_max_messages() -> None:
    sink, subs = run(SimConfig(seed=4, start=MONDAY_OPEN, max_messages=1234))
    assert len(sink.quotes) == 1234
    kinds = [k if k != "event" else type(x) for k, x in sink.log]
    assert kinds[:2] == [Connected, Subscribed] and len(subs) == 3
    assert kinds[-1] is EndOfFeed and sink.log[-1][1].count == 1234
    announced = [e for e in sink.events if isinstance(e, Subscribed)]
    assert len(announced) == 1 and list(announced[0].subscriptions) == subs  # typed: alias, code and type


def test_stop_is_prompt_and_idempotent() -> None:
    sink = Collect()

    async def main() -> None:
        src = SimulatedSource(SimConfig(start=datetime(2026, 11, 16, 11, 0, tzinfo=TAIPEI), speed=1.0))
        await src.start(sink)
        assert sink.got.wait(5), "no quote within 5 s at real-time speed"
        t0 = time.monotonic()
        await src.stop()
        assert time.monotonic() - t0 < 0.5
        assert src.done.is_set()
        n = len(sink.quotes)
        await src.stop()  # idempotent
        assert len(sink.quotes) == n
        with pytest.raises(SourceError):
            await src.start(sink)

    asyncio.run(main())
    assert not sink.ended.is_set()


def test_stop_before_start_is_a_noop() -> None:
    asyncio.run(SimulatedSource(SimConfig(start=MONDAY_OPEN)).stop())


def test_fixed_rate_mode_paces_messages() -> None:
    t0 = time.monotonic()
    sink, _ = run(SimConfig(start=MONDAY_OPEN, rate=400, max_messages=160))
    elapsed = time.monotonic() - t0
    assert 0.3 < elapsed < 2.0, elapsed
    times = [dt(q) for _, q in sink.quotes]
    gaps = {b - a for a, b in itertools.pairwise(times)}
    assert gaps <= {2_500_000 - 1000, 2_500_000, 2_500_000 + 1000}  # 1/400 s of simulated time each


def test_speed_multiplier_bounds_simulated_time_per_wall_second() -> None:
    t0 = time.monotonic()
    sink, _ = run(SimConfig(start=datetime(2026, 11, 16, 11, 0, tzinfo=TAIPEI), speed=600, max_messages=300))
    elapsed = time.monotonic() - t0
    times = [dt(q) for _, q in sink.quotes]
    sim_s = (times[-1] - times[0]) / 1e9
    assert sim_s > 10  # ~11 msgs/s midday: 300 messages span ~27 simulated seconds
    assert sim_s / elapsed < 600 * 1.25  # never runs ahead of the clock
    assert elapsed < 1.5


def test_preopen_quotes_are_simtrade() -> None:
    pre = datetime(2026, 11, 16, 8, 30, tzinfo=TAIPEI)
    open_ns = S.to_ns(MONDAY_OPEN)
    sink, _ = run(SimConfig(seed=9, start=pre, max_messages=3000))
    flags = [(dt(q) < open_ns, q.simtrade) for _, q in sink.quotes]
    assert flags[0] == (True, True)
    assert all(before == sim for before, sim in flags)
    assert 500 < sum(1 for b, _ in flags if b) < 2500  # ~1.5 msgs/s for 15 minutes
    assert flags[-1] == (False, False)
    sink, _ = run(SimConfig(seed=9, start=pre, max_messages=50, simulate_preopen=False))
    assert all(dt(q) >= open_ns and not q.simtrade for _, q in sink.quotes)


def test_sink_errors_are_reported_and_the_feed_goes_on() -> None:
    sink = Collect(raise_on_tick=True)

    async def main() -> None:
        src = SimulatedSource(SimConfig(start=MONDAY_OPEN, max_messages=500))
        await src.start(sink)
        assert sink.ended.wait(5)
        await src.stop()

    asyncio.run(main())
    assert len(sink.quotes) == 500
    errors = [e for e in sink.events if isinstance(e, SourceFault)]
    assert 1 <= len(errors) <= 10 and "sink bug" in errors[0].detail


def test_default_start_is_next_day_open_and_config_is_validated() -> None:
    before = time.time_ns()
    src = SimulatedSource()
    s = S.session_at(src.start_ns)
    assert s is not None and s.kind is S.SessionKind.DAY and s.open_ns == src.start_ns > before
    with pytest.raises(ValueError, match="alias"):
        SimConfig(streams=(("TXFR3", QuoteType.TICK),))
    with pytest.raises(ValueError):
        SimConfig(rate=0)
    with pytest.raises(ValueError):
        SimConfig(speed=-1)


def test_bidask_only_stream_and_holiday_calendar() -> None:
    tue = datetime(2026, 11, 17).date()
    cfg = SimConfig(
        start=datetime(2026, 11, 16, 13, 44, 50, tzinfo=TAIPEI),
        streams=(("TXFR1", QuoteType.BIDASK),),
        max_messages=1500,
        holidays=frozenset({tue}),
        simulate_preopen=False,
        intensity=0.005,
    )
    sink, subs = run(cfg)
    assert subs == [Subscription("TXFR1", "TXFK6", QuoteType.BIDASK)]
    assert all(k == "bidask" for k, _ in sink.quotes)
    # Monday's night session runs to Tuesday 05:00; Tuesday is a holiday; the next quotes are Wednesday 08:45
    seen = []
    for _, q in sink.quotes:
        s = S.session_at(dt(q), cfg.holidays)
        assert s is not None
        if (s.kind, s.date) not in seen:
            seen.append((s.kind, s.date))
    mon, wed = datetime(2026, 11, 16).date(), datetime(2026, 11, 18).date()
    assert [x for x in seen if x != (S.SessionKind.DAY, mon)] == [(S.SessionKind.NIGHT, mon), (S.SessionKind.DAY, wed)]


def test_generator_process_gives_the_same_quotes_and_events_and_ends_by_itself() -> None:
    """The load-test mode: the same market generated in a child process, rolls included."""
    start = datetime(2026, 11, 18, 13, 20, tzinfo=TAIPEI)  # expiry day: TXFK6 rolls to TXFL6 at the night open
    cfg = SimConfig(
        seed=9, start=start, max_messages=12_000, streams=(("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))
    )
    in_thread, subs_a = run(cfg)
    sink = Collect()

    async def main() -> tuple[list[Subscription], SimulatedSource]:
        src = SimulatedSource(dataclasses.replace(cfg, generator_process=True))
        subs = await src.start(sink)
        assert src._generator is not None
        proc = src._generator._proc
        assert proc is not None and proc.pid != os.getpid()
        assert sink.ended.wait(30), "no END_OF_FEED"
        await src.stop()
        assert not proc.is_alive() and proc.exitcode == 0  # it ended by itself at max_messages
        return subs, src

    subs_b, src = asyncio.run(main())
    assert subs_a == subs_b
    assert sink.arrays() == in_thread.arrays() and len(sink.quotes) == 12_000
    rolls = lambda c: [e.subscriptions for e in c.events if isinstance(e, Subscribed) and e.roll]  # noqa: E731
    assert rolls(sink) == rolls(in_thread) and rolls(sink), "the window must include a roll"
    # events sit between the same quotes in both modes
    order = lambda c: [k if k != "event" else type(x) for k, x in c.log]  # noqa: E731
    assert order(sink) == order(in_thread)


def test_generator_process_is_stopped_by_pid_when_the_run_stops_early() -> None:
    sink = Collect()

    async def main() -> None:
        src = SimulatedSource(SimConfig(seed=2, start=MONDAY_OPEN, generator_process=True))  # endless
        await src.start(sink)
        assert src._generator is not None
        proc = src._generator._proc
        assert sink.got.wait(30)
        await src.stop()
        assert src.done.is_set() and not proc.is_alive()

    asyncio.run(main())
    assert not sink.ended.is_set()


def test_paced_runs_ignore_the_generator_process() -> None:
    src = SimulatedSource(SimConfig(start=MONDAY_OPEN, rate=1000, generator_process=True))
    assert not src._uses_process()
