"""A deterministic model of the TXF market: the same `SimConfig` and start give the same quotes.

`SimMarket` is the pure model: given a `SimConfig` (seed included) and a start
time it yields the same sequence of ``(kind, time_us, array)`` messages every
time, where `array` is the msgpack field array of `quotes.py`
(`TickFOPv1`/`BidAskFOPv1.from_msgpack`). `sources/simulated.py` delivers them
as real quote objects; pacing never changes the content.

Model, per contract (TXFR1 and TXFR2, TXFR2 = TXFR1 + `txfr2_spread` points):

- A 5-level book on the 1-point tick: best bid < best ask (spread 1, sometimes
  2-4 and pulled back to 1), levels 1 point apart, volumes >= 1,
  ``bid/ask_total_vol`` = sum of the 5 levels, ``diff_*_vol`` = volume change
  of the same level index since the contract's previous snapshot (the first
  snapshot's diff is its volume). First-derived quotes sit 0-2 points outside
  the best prices with small volumes, or are absent ("0", 0).
- Trades: ``tick_type`` 1 (buyer-initiated, at the best ask) or 2 (seller, at
  the best bid), 3% 0 (at the last price). Volume is Pareto (alpha 1.6):
  ~67% 1 lot, ~94% <= 5, tail capped by the level's volume; a trade that
  empties a level removes it (the price moves). The price walk comes from
  these level removals and refills.
- Session statistics restart at each open: ``open/high/low/close``,
  ``volume``, ``total_volume`` (+= volume), ``amount`` (= close * volume),
  ``total_amount`` (sum of amounts), ``avg_price`` (= total_amount /
  total_volume, 2 decimals), ``bid_side_total_vol`` (sum of tick_type 1
  volumes, buyers) and ``ask_side_total_vol`` (tick_type 2, sellers).
- ``price_chg = close - reference``, ``pct_chg`` = 100 * price_chg /
  reference rounded half away from zero to 0.01, ``chg_type`` 1/5 at the +/-10%
  limit, else 2/3/4 by sign. The reference is the close of the last day
  session (TAIFEX settles on the day session); the first one is `start_price`.
- ``underlying_price`` (TAIEX) = TXFR1 mid - a slowly wandering basis, 2
  decimals; it moves only while the cash market trades (09:00-13:30) and is
  frozen otherwise, like the real index at night.
- Pre-open (08:30-08:45, 14:50-15:00, if `simulate_preopen`): ``simtrade=True``
  quotes; trial-match ticks carry the indicative price and cumulative
  indicative volume (tick_type 0) and do not touch the session statistics.
- Codes: TXFR1/TXFR2 carry real month codes (``TXFK6``) from
  `calendar.contract_codes`; they roll after the near month's last trading
  day (third Wednesday), when a SUBSCRIBED event with ``data["roll"] = True``
  reports each new code. On that expiry day the whole simulated day session
  ends at 13:30 (the expiring contract's close), a simplification.
- Message rate (simulated time): Poisson with an intraday intensity (per
  second, times `intensity`): day ``300e^(-s/40) + 40e^(-s/600) + 11 +
  8e^(-(18000-s)/600)`` (open burst ~350/s, midday ~11/s, pick-up into the
  close), night ``80e^(-s/60) + 2.6 + 6 * gauss(21:30, 30 min)``, pre-open
  `preopen_rate`. That is ~410,000 messages per trading day, BidAsk 86%.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

from txf_kit import calendar
from txf_kit.calendar import Session, SessionKind, day_rate, night_rate
from txf_producer.quotes import BIDASK, TICK
from txf_producer.simulation.config import ALIASES, SimConfig
from txf_producer.sources.base import QuoteType

__all__ = ["SimMarket", "default_start_ns", "TICK", "BIDASK"]

_US = 1_000_000
_DAY_US = 86_400 * _US
_OFFSET_US = 8 * 3600 * _US
_CASH_OPEN_US = 9 * 3600 * _US  # TAIEX trades 09:00-13:30 Taipei
_CASH_CLOSE_US = (13 * 3600 + 1800) * _US


def _fmt2(x100: int) -> str:
    """Integer hundredths -> decimal string with 2 decimals ('-0.05')."""
    sign = "-" if x100 < 0 else ""
    q, r = divmod(abs(x100), 100)
    return f"{sign}{q}.{r:02d}"


def _div_round(num: int, den: int) -> int:
    """num/den rounded half away from zero (den > 0)."""
    q = (abs(num) * 2 + den) // (2 * den)
    return -q if num < 0 else q


_LEVEL_CUM = (0.35, 0.60, 0.78, 0.90, 1.0)  # where volume changes land: mostly near the top


class _Contract:
    """Book and session statistics of one contract (TXFR1 or TXFR2)."""

    __slots__ = (
        "alias",
        "code",
        "bb",
        "spread",
        "bv",
        "av",
        "pbv",
        "pav",
        "dbo",
        "dbv",
        "dao",
        "dav",
        "open",
        "high",
        "low",
        "last",
        "tot_vol",
        "tot_amt",
        "buy_vol",
        "sell_vol",
        "ref",
        "settle",
        "ind_vol",
        "traded",
    )

    def __init__(self, alias: str, code: str, price: int, rng: random.Random) -> None:
        self.alias, self.code = alias, code
        self.bb = price
        self.spread = 1
        self.bv = [rng.randint(5, 40) for _ in range(5)]
        self.av = [rng.randint(5, 40) for _ in range(5)]
        self.pbv = [0] * 5
        self.pav = [0] * 5
        self.dbo, self.dbv, self.dao, self.dav = -1, 0, -1, 0  # first-derived: offset (-1 none), volume
        self.last = price
        self.ref = self.settle = price
        self.ind_vol = 0
        self.reset_stats()

    def reset_stats(self) -> None:
        self.open = self.high = self.low = 0
        self.tot_vol = self.tot_amt = self.buy_vol = self.sell_vol = 0
        self.traded = False

    def shift(self, points: int) -> None:
        self.bb += points
        self.last += points
        self.ref += points
        self.settle += points


class SimMarket:
    """The deterministic market model: iterate for ``(kind, time_us, array)`` messages.

    `kind` is TICK or BIDASK, `time_us` the exchange time as UTC epoch
    microseconds, `array` the from_msgpack field array. Between messages,
    `events` collects roll notices ``(alias, new_code)`` for the caller, and
    `skipped_us` grows by every closed period the clock jumped over.
    """

    def __init__(self, config: SimConfig, start_ns: int) -> None:
        cfg = self.config = config
        self.rng = random.Random(config.seed)
        self.holidays = config.holidays
        self.events: list[tuple[str, str]] = []
        self.skipped_us = 0
        self.count = 0
        self._intensity = config.intensity
        self._preopen_rate = config.preopen_rate * config.intensity
        self._fixed_gap = (_US / config.rate) if config.rate else 0.0
        self._frac = 0.0
        self._date_cache: tuple[int, str] = (-1, "")

        start_us = -(-start_ns // 1000)  # ceil to whole microseconds
        self._segments = self._iter_segments(start_us)
        self._t = start_us
        self._seg_end = start_us
        self._session: Session | None = None
        self._simtrade = False
        self._day = True
        self._open_us = start_us

        # streams -> which contracts exist, and selection tables per quote type
        aliases = {a for a, _ in cfg.streams}
        rng = self.rng
        self._r1 = _Contract("TXFR1", "", cfg.start_price, rng)  # codes are set on entering the first session
        self._r2 = _Contract("TXFR2", "", cfg.start_price + cfg.txfr2_spread, rng)
        contracts = {"TXFR1": self._r1, "TXFR2": self._r2}
        self._subscribed = {a: contracts[a] for a in ALIASES if a in aliases}

        def table(qt: QuoteType) -> list[tuple[float, _Contract]]:
            chosen = [contracts[a] for a in ALIASES if (a, qt) in cfg.streams]
            weights = [1.0 if c.alias == "TXFR1" else cfg.txfr2_share for c in chosen]
            if chosen and sum(weights) == 0:
                weights = [1.0] * len(chosen)
            total, acc, out = sum(weights), 0.0, []
            for c, w in zip(chosen, weights, strict=True):
                acc += w / total if total else 0.0
                out.append((acc, c))
            if out:
                out[-1] = (1.0, out[-1][1])
            return out

        self._ticks = table(QuoteType.TICK)
        self._bidasks = table(QuoteType.BIDASK)
        if not self._ticks:
            self._p_bidask = 1.0
        elif not self._bidasks:
            self._p_bidask = 0.0
        else:
            self._p_bidask = cfg.bidask_share
        self._basis_x100 = int(cfg.basis * 100)
        self._trend = 0.0
        self._trend_keep = 0.9995
        self._und_x100 = (self._r1.bb * 100 + 50) - self._basis_x100
        self._und_s = _fmt2(self._und_x100)
        self._enter(next(self._segments), first=True)

    # ------------------------------------------------------------------ time and sessions
    def _iter_segments(self, start_us: int) -> Iterator[tuple[int, int, bool, Session]]:
        pre = self.config.simulate_preopen
        for s in calendar.iter_sessions(start_us * 1000, self.holidays):
            segs = []
            if pre:
                segs.append((s.preopen_ns // 1000, s.open_ns // 1000, True, s))
            segs.append((s.open_ns // 1000, s.near_close_ns // 1000, False, s))
            for seg in segs:
                if seg[1] > start_us:
                    yield (max(seg[0], start_us), seg[1], seg[2], seg[3])

    def _enter(self, seg: tuple[int, int, bool, Session], first: bool = False) -> None:
        """Move the clock to the start of segment `seg` (a pre-open auction or a session's trading)."""
        start, end, simtrade, sess = seg
        prev = self._session
        r1, r2 = self._r1, self._r2
        if not first:
            self.skipped_us += max(0, start - self._seg_end)
            if prev is not None and prev.kind is SessionKind.DAY and not self._simtrade:
                for c in (r1, r2):  # the day session's close is the next reference (settlement)
                    c.settle = c.last
        self._seg_end, self._simtrade = end, simtrade
        self._t = max(self._t, start)
        if sess is prev:
            return  # the open after this session's pre-open: statistics are still empty
        self._session = sess
        self._day = sess.kind is SessionKind.DAY
        self._open_us = sess.open_ns // 1000
        near, far = calendar.contract_codes(sess, self.holidays)
        if not first:
            if near != r1.code:
                # roll: the old next month becomes the near month, at its own price level
                spread = r2.bb - r1.bb
                r1.shift(spread)
                r2.shift(spread)
                self._basis_x100 += spread * 100  # the index does not jump; the basis drifts back later
            for alias, c in self._subscribed.items():
                new = near if alias == "TXFR1" else far
                if new != c.code:
                    self.events.append((alias, new))
        r1.code, r2.code = near, far
        for c in (r1, r2):
            c.ref = c.settle
            c.ind_vol = 0
            c.reset_stats()

    def _rate(self, t_us: int) -> float:
        if self._simtrade:
            return self._preopen_rate
        s = (t_us - self._open_us) / _US
        return self._intensity * (day_rate(s) if self._day else night_rate(s))

    def _strings(self, t_us: int) -> tuple[str, str]:
        local = t_us + _OFFSET_US
        day, tod = divmod(local, _DAY_US)
        cday, ds = self._date_cache
        if day != cday:
            ds = date.fromordinal(719_163 + day).isoformat()  # 719163 = date(1970,1,1).toordinal()
            self._date_cache = (day, ds)
        sec, us = divmod(tod, _US)
        h, rem = divmod(sec, 3600)
        m, s = divmod(rem, 60)
        return ds, f"{h:02d}:{m:02d}:{s:02d}.{us:06d}"

    # ------------------------------------------------------------------ messages
    def __iter__(self) -> SimMarket:
        return self

    def __next__(self) -> tuple[int, int, list[Any]]:
        rng = self.rng
        t = self._t
        while True:
            if self._fixed_gap:
                self._frac += self._fixed_gap
                gap = int(self._frac)
                self._frac -= gap
            else:
                gap = int(rng.expovariate(self._rate(t)) * _US)
            t += gap
            if t < self._seg_end:
                break
            self._enter(next(self._segments))
            t = self._t
        self._t = t
        self.count += 1
        # a slowly wandering order-flow imbalance gives the walk realistic trends
        self._trend = self._trend * self._trend_keep + (rng.random() - 0.5) * 0.01

        # the index moves while the cash market trades
        if self._day and not self._simtrade:
            tod = (t + _OFFSET_US) % _DAY_US
            if _CASH_OPEN_US <= tod < _CASH_CLOSE_US and rng.random() < 0.3:
                if rng.random() < 0.02:
                    self._basis_x100 += 1 if rng.random() < 0.5 else -1
                    self._basis_x100 += (int(self.config.basis * 100) - self._basis_x100) // 200
                self._und_x100 = self._r1.bb * 100 + 50 * self._r1.spread - self._basis_x100 + rng.randint(-30, 30)
                self._und_s = _fmt2(self._und_x100)

        if rng.random() < self._p_bidask:
            c = self._pick(self._bidasks)
            if c is self._r2:
                self._follow_r1()
            return BIDASK, t, self._bidask(c, t)
        c = self._pick(self._ticks)
        if c is self._r2:
            self._follow_r1()
        return TICK, t, self._tick(c, t)

    def _pick(self, table: list[tuple[float, _Contract]]) -> _Contract:
        if len(table) == 1:
            return table[0][1]
        u = self.rng.random()
        for acc, c in table:
            if u < acc:
                return c
        return table[-1][1]

    def _follow_r1(self) -> None:
        """TXFR2 tracks TXFR1 plus the calendar spread (with a point of noise)."""
        r2 = self._r2
        target = self._r1.bb + self.config.txfr2_spread + self.rng.randint(-1, 1)
        if r2.bb != target:
            r2.bb = target

    # book primitives ----------------------------------------------------
    def _drop_best(self, c: _Contract, bid: bool) -> None:
        """Level 0 of a side is gone (cancelled or traded through): the side moves away one point."""
        rng = self.rng
        if bid:
            c.bv.pop(0)
            c.bv.append(rng.randint(5, 40))
            c.bb -= 1
        else:
            c.av.pop(0)
            c.av.append(rng.randint(5, 40))
        c.spread += 1

    def _improve(self, c: _Contract, bid: bool) -> None:
        """A new order inside the spread: the side moves in one point."""
        rng = self.rng
        if bid:
            c.bv.insert(0, rng.randint(1, 6))
            c.bv.pop()
            c.bb += 1
        else:
            c.av.insert(0, rng.randint(1, 6))
            c.av.pop()
        c.spread -= 1

    def _book_event(self, c: _Contract) -> None:
        rng = self.rng
        r = rng.random()
        trend = self._trend
        if c.spread >= 4 or (c.spread > 1 and r < 0.6):
            self._improve(c, rng.random() < 0.5 + trend)
            return
        if r < 0.07:
            self._drop_best(c, rng.random() < 0.5 - trend)
            return
        for _ in range(1 if r < 0.8 else 2):
            u = rng.random()
            lvl = 0 if u < 0.35 else 1 if u < 0.60 else 2 if u < 0.78 else 3 if u < 0.90 else 4
            side = c.bv if rng.random() < 0.5 else c.av
            delta = rng.randint(1, 5)
            if rng.random() < 0.5:
                delta = -delta
            v = side[lvl] + delta
            side[lvl] = v if v >= 1 else 1
        if rng.random() < 0.08:  # first-derived quotes change now and then
            if rng.random() < 0.3:
                c.dbo, c.dbv, c.dao, c.dav = -1, 0, -1, 0
            else:
                c.dbo, c.dbv = rng.randint(0, 2), rng.randint(1, 10)
                c.dao, c.dav = rng.randint(0, 2), rng.randint(1, 10)

    def _bidask(self, c: _Contract, t: int) -> list[Any]:
        self._book_event(c)
        bb, ba = c.bb, c.bb + c.spread
        bv, av = c.bv[:], c.av[:]
        pbv, pav = c.pbv, c.pav
        dbid = [bv[0] - pbv[0], bv[1] - pbv[1], bv[2] - pbv[2], bv[3] - pbv[3], bv[4] - pbv[4]]
        dask = [av[0] - pav[0], av[1] - pav[1], av[2] - pav[2], av[3] - pav[3], av[4] - pav[4]]
        c.pbv, c.pav = bv, av
        ds, ts = self._strings(t)
        return [
            c.code,
            ds,
            ts,
            bv[0] + bv[1] + bv[2] + bv[3] + bv[4],
            av[0] + av[1] + av[2] + av[3] + av[4],
            [str(bb), str(bb - 1), str(bb - 2), str(bb - 3), str(bb - 4)],
            bv,
            dbid,
            [str(ba), str(ba + 1), str(ba + 2), str(ba + 3), str(ba + 4)],
            av,
            dask,
            str(bb - c.dbo) if c.dbo >= 0 else "0",
            str(ba + c.dao) if c.dao >= 0 else "0",
            c.dbv if c.dbo >= 0 else 0,
            c.dav if c.dao >= 0 else 0,
            self._und_s,
            self._simtrade,
        ]

    def _tick(self, c: _Contract, t: int) -> list[Any]:
        rng = self.rng
        ds, ts = self._strings(t)
        u = rng.random()
        if self._simtrade:
            # trial match in the pre-open auction: indicative price and volume only
            price = c.bb if u < 0.5 else c.bb + c.spread
            c.ind_vol += rng.randint(1, 20)
            c.last = price
            v = tot = c.ind_vol
            s = str(price)
            chg = price - c.ref
            return [
                c.code,
                ds,
                ts,
                s,
                self._und_s,
                0,
                0,
                s + ".00",
                s,
                s,
                s,
                str(price * v),
                str(price * v),
                v,
                tot,
                0,
                self._chg_type(c, price),
                str(chg),
                _fmt2(_div_round(chg * 10_000, c.ref)),
                True,
            ]
        v = int(rng.paretovariate(1.6))
        if u < 0.03 and c.traded:
            tt, price = 0, c.last
            if v > 50:
                v = 50
        elif u < 0.515 + self._trend:
            tt, price = 1, c.bb + c.spread
            if v > c.av[0]:
                v = c.av[0]
            c.av[0] -= v
            if c.av[0] == 0:
                c.av[0] = 1
                self._drop_best(c, bid=False)
        else:
            tt, price = 2, c.bb
            if v > c.bv[0]:
                v = c.bv[0]
            c.bv[0] -= v
            if c.bv[0] == 0:
                c.bv[0] = 1
                self._drop_best(c, bid=True)
        if not c.traded:
            c.open = c.high = c.low = price
            c.traded = True
        elif price > c.high:
            c.high = price
        elif price < c.low:
            c.low = price
        c.last = price
        c.tot_vol += v
        amount = price * v
        c.tot_amt += amount
        if tt == 1:
            c.buy_vol += v
        elif tt == 2:
            c.sell_vol += v
        chg = price - c.ref
        return [
            c.code,
            ds,
            ts,
            str(c.open),
            self._und_s,
            c.buy_vol,
            c.sell_vol,
            _fmt2(_div_round(c.tot_amt * 100, c.tot_vol)),
            str(price),
            str(c.high),
            str(c.low),
            str(amount),
            str(c.tot_amt),
            v,
            c.tot_vol,
            tt,
            self._chg_type(c, price),
            str(chg),
            _fmt2(_div_round(chg * 10_000, c.ref)),
            False,
        ]

    @staticmethod
    def _chg_type(c: _Contract, price: int) -> int:
        ref = c.ref
        if price >= ref + ref // 10:
            return 1
        if price <= ref - ref // 10:
            return 5
        return 2 if price > ref else 4 if price < ref else 3

    # ------------------------------------------------------------------ introspection
    @property
    def now_us(self) -> int:
        """Simulated time of the last message (UTC epoch us)."""
        return self._t

    @property
    def session(self) -> Session | None:
        return self._session

    def codes(self) -> dict[str, str]:
        """Current real code of each alias."""
        return {"TXFR1": self._r1.code, "TXFR2": self._r2.code}


def default_start_ns(holidays: frozenset[date] = frozenset(), now_ns: int | None = None) -> int:
    """Open of the next day session after `now_ns` (default: the wall clock)."""
    now = time.time_ns() if now_ns is None else now_ns
    return calendar.next_session(now, holidays, kind=SessionKind.DAY).open_ns
