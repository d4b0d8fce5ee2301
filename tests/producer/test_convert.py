"""Conversion is exact on every valid quote and refuses, naming the field, every bad one."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import types
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txf_producer.convert import (
    ConversionError,
    build_bidask,
    build_tick,
    diagnose_bidask,
    diagnose_tick,
    scale_price,
    taipei_to_utc_us,
)
from txf_producer.quotes import make_bidask, make_tick

RUN_ID = 0xDEADBEEF_01234567
RECV_NS = 1_795_482_000_500_000_123

TICK = dict(
    code="TXFK6",
    date="2026-11-24",
    time="09:00:00.123456",
    open="23300",
    underlying_price="23387.12",
    bid_side_total_vol=20011,
    ask_side_total_vol=21226,
    avg_price="23401.2345",
    close="23456",
    high="23501",
    low="23299",
    amount="46912",
    total_amount="9650012345",
    volume=2,
    total_volume=41237,
    tick_type=1,
    chg_type=2,
    price_chg="-125.5",
    pct_chg="-0.53",
    simtrade=False,
)
BIDASK = dict(
    code="TXFK6",
    date="2026-11-24",
    time="09:00:00.123456",
    bid_total_vol=61,
    ask_total_vol=57,
    bid_price=["23455", "23454", "23453", "23452", "23451"],
    bid_volume=[9, 14, 11, 13, 14],
    diff_bid_vol=[-2, 0, 3, -1, 1],
    ask_price=["23456", "23457", "23458", "23459", "23460"],
    ask_volume=[4, 12, 15, 10, 16],
    diff_ask_vol=[1, -3, 0, 0, -16],
    first_derived_bid_price="23454",
    first_derived_ask_price="23457",
    first_derived_bid_vol=1,
    first_derived_ask_vol=2,
    underlying_price="23387.12",
    simtrade=False,
)

# Expected UTC instant of 2026-11-24 09:00:00.123456 Taipei, computed independently.
EXPECTED_US = int(dt.datetime(2026, 11, 24, 1, 0, 0, 123456, tzinfo=dt.UTC).timestamp()) * 10**6 + 123456


def x10000(d: str | Decimal) -> int:
    """Independent reference: exact Decimal arithmetic, asserted integral."""
    v = Decimal(d) * 10000
    assert v == v.to_integral_value()
    return int(v)


def test_real_tick_converts_every_field_exactly() -> None:
    msg = build_tick(make_tick(**TICK), RECV_NS, RUN_ID)
    assert msg.code == "TXFK6"
    for f in (
        "open",
        "underlying_price",
        "avg_price",
        "close",
        "high",
        "low",
        "amount",
        "total_amount",
        "price_chg",
        "pct_chg",
    ):
        assert getattr(msg, f) == x10000(TICK[f]), f
    for f in ("bid_side_total_vol", "ask_side_total_vol", "volume", "total_volume", "tick_type", "chg_type"):
        assert getattr(msg, f) == TICK[f], f
    assert msg.exchange_time_us == EXPECTED_US
    assert msg.timestamp_ms == EXPECTED_US // 1000
    assert msg.receive_time_ns == RECV_NS and msg.producer_run_id == RUN_ID
    assert msg.sequence == 0 and msg.simtrade is False


def test_real_bidask_converts_every_field_exactly() -> None:
    msg = build_bidask(make_bidask(**BIDASK), RECV_NS, RUN_ID)
    assert list(msg.bid_price) == [x10000(p) for p in BIDASK["bid_price"]]
    assert list(msg.ask_price) == [x10000(p) for p in BIDASK["ask_price"]]
    for f in ("bid_volume", "ask_volume", "diff_bid_vol", "diff_ask_vol"):
        assert list(getattr(msg, f)) == BIDASK[f], f
    for f in ("underlying_price", "first_derived_bid_price", "first_derived_ask_price"):
        assert getattr(msg, f) == x10000(BIDASK[f]), f
    for f in ("bid_total_vol", "ask_total_vol", "first_derived_bid_vol", "first_derived_ask_vol"):
        assert getattr(msg, f) == BIDASK[f], f
    assert msg.exchange_time_us == EXPECTED_US and msg.code == "TXFK6"


prices = st.decimals(
    min_value=Decimal("-922337203685477.5808"),
    max_value=Decimal("922337203685477.5807"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


@given(prices)
def test_scale_price_is_exact_for_every_4_decimal_price(d: Decimal) -> None:
    assert scale_price(d) == int(d.scaleb(4))
    assert Decimal(scale_price(d)).scaleb(-4) == d


@given(
    st.decimals(min_value=-(10**14), max_value=10**14, places=8, allow_nan=False, allow_infinity=False).filter(
        lambda d: d != d.quantize(Decimal("0.0001"))
    )
)
def test_scale_price_refuses_more_than_4_decimals(d: Decimal) -> None:
    with pytest.raises(KeyError):
        scale_price(d)


@settings(max_examples=200)
@given(
    close=st.integers(1, 10**9),
    chg=st.integers(-(10**9), 10**9),
    pct=st.integers(-(10**6), 10**6),
    vol=st.integers(0, 2**31),
    when=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)
def test_tick_roundtrip_property(close: int, chg: int, pct: int, vol: int, when: dt.datetime) -> None:
    """Any real quote with <= 4 decimals converts back to the same Decimals and instant."""
    fields = dict(
        TICK,
        close=Decimal(close).scaleb(-4),
        price_chg=Decimal(chg).scaleb(-4),
        pct_chg=Decimal(pct).scaleb(-4),
        volume=vol,
        date=when.date().isoformat(),
        time=when.time().isoformat(timespec="microseconds"),
    )
    msg = build_tick(make_tick(**fields), RECV_NS, RUN_ID)
    assert (msg.close, msg.price_chg, msg.pct_chg, msg.volume) == (close, chg, pct, vol)
    utc = when.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert msg.exchange_time_us == int(utc.timestamp()) * 10**6 + utc.microsecond


def test_exchange_time_does_not_depend_on_host_time_zone() -> None:
    code = (
        "import datetime as d; from txf_producer.convert import taipei_to_utc_us as f;"
        "print(f(d.datetime(2026, 3, 8, 2, 30)), f(d.datetime(2026, 11, 1, 1, 30)))"
    )
    outs = {
        tz: subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "TZ": tz}, capture_output=True, text=True, check=True
        ).stdout
        for tz in ("UTC", "America/New_York", "Asia/Taipei")
    }
    assert len(set(outs.values())) == 1, outs
    assert (
        taipei_to_utc_us(dt.datetime(2026, 3, 8, 2, 30))
        == int(dt.datetime(2026, 3, 7, 18, 30, tzinfo=dt.UTC).timestamp()) * 10**6
    )


def _standin(real: Any, **override: Any) -> types.SimpleNamespace:
    """A real quote's attributes with some replaced: real objects cannot hold NaN or None."""
    return types.SimpleNamespace(**{**real.to_dict(), **override})


BAD_TICKS = {
    "none_price": ({"close": None}, "close"),
    "nan_price": ({"high": Decimal("NaN")}, "high"),
    "infinite_price": ({"low": Decimal("Infinity")}, "low"),
    "five_decimals": ({"avg_price": Decimal("23401.23456")}, "avg_price"),
    "float_price": ({"open": 23300.5}, "open"),
    "int64_overflow": ({"total_amount": Decimal(2**63)}, "total_amount"),
    "negative_volume": ({"volume": -1}, "volume"),
    "none_volume": ({"total_volume": None}, "total_volume"),
    "float_volume": ({"bid_side_total_vol": 3.0}, "bid_side_total_vol"),
    "zero_close": ({"close": Decimal(0)}, "close"),
    "unknown_tick_type": ({"tick_type": 7}, "tick_type"),
    "unknown_chg_type": ({"chg_type": 0.5}, "chg_type"),
    "aware_datetime": ({"datetime": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "datetime"),
}


@pytest.mark.parametrize("override,field", BAD_TICKS.values(), ids=BAD_TICKS.keys())
def test_bad_tick_is_refused_and_the_field_named(override: dict[str, Any], field: str) -> None:
    q = _standin(make_tick(**TICK), **override)
    with pytest.raises((ValueError, TypeError, KeyError, OverflowError, IndexError)):
        build_tick(q, RECV_NS, RUN_ID)
    err = diagnose_tick(q)
    assert isinstance(err, ConversionError) and err.field == field, err


BAD_BIDASKS = {
    "four_levels": ({"bid_price": [Decimal(1)] * 4}, "bid_price"),
    "six_levels": ({"diff_ask_vol": [0] * 6}, "diff_ask_vol"),
    "nan_level": ({"ask_price": [Decimal("NaN")] + [Decimal(1)] * 4}, "ask_price[0]"),
    "five_decimals_level": ({"bid_price": [Decimal(1)] * 4 + [Decimal("1.00001")]}, "bid_price[4]"),
    "negative_level_volume": ({"ask_volume": [1, 1, -1, 1, 1]}, "ask_volume[2]"),
    "none_level_volume": ({"bid_volume": [1, None, 1, 1, 1]}, "bid_volume[1]"),
    "none_book": ({"ask_price": None}, "ask_price"),
    "none_underlying": ({"underlying_price": None}, "underlying_price"),
    "overflow_total": ({"bid_total_vol": 2**64}, "bid_total_vol"),
}


@pytest.mark.parametrize("override,field", BAD_BIDASKS.values(), ids=BAD_BIDASKS.keys())
def test_bad_bidask_is_refused_and_the_field_named(override: dict[str, Any], field: str) -> None:
    q = _standin(make_bidask(**BIDASK), **override)
    with pytest.raises((ValueError, TypeError, KeyError, OverflowError, IndexError)):
        build_bidask(q, RECV_NS, RUN_ID)
    err = diagnose_bidask(q)
    assert isinstance(err, ConversionError) and err.field == field, err


def test_negative_changes_and_empty_levels_are_valid() -> None:
    q = make_bidask(**dict(BIDASK, ask_price=["0"] * 5, ask_volume=[0] * 5, diff_ask_vol=[-4, -3, -2, -1, -9]))
    msg = build_bidask(q, RECV_NS, RUN_ID)
    assert list(msg.ask_price) == [0] * 5 and list(msg.diff_ask_vol) == [-4, -3, -2, -1, -9]
