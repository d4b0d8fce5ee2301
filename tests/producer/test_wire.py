"""The generated wire encoder writes exactly what upb writes, or refuses; the record table guards both.

Reference: the attribute path (convert.build_tick/build_bidask, a upb message) serialized
by `SerializeToString()`. The encoder's output must equal it byte for byte on
every simulated quote and on generated edge cases; where the encoder refuses,
the publisher takes that reference path, so a refusal is never a loss.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from hypothesis import given, settings
from hypothesis import strategies as st
from test_convert import BIDASK, TICK

from txf.v1 import BidAsk, Tick
from txf_producer import record, wire
from txf_producer.convert import build_bidask, build_tick
from txf_producer.quotes import TICK as SIM_TICK
from txf_producer.quotes import bidask_from_array, make_bidask, make_tick, tick_from_array
from txf_producer.record import Kind, Meaning, RecordShapeError
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteType
from txf_producer.sources.simulated import SimConfig

RUN_ID = 0xDEADBEEF_01234567
RECV_NS = 1_795_482_000_500_000_123
HEADER = b"\x00\x00\x00\x00\x07\x00"


def _wire_bytes(quote: Any, sequence: int, receive_ns: int = RECV_NS, run_id: int = RUN_ID) -> bytes:
    """The record the publisher would send, without its frame header."""
    enc = wire.ENCODERS[Tick if quote.__class__.__name__.startswith("Tick") else BidAsk]
    parts, _ = enc.parts(quote.to_dict(raw=True), receive_ns, enc.code_field(quote.code), enc.run_id_field(run_id))
    parts[enc.sequence_slot] = wire.sequence_field(enc.sequence_key, sequence)
    return b"".join(parts)


def _reference_bytes(quote: Any, sequence: int, receive_ns: int = RECV_NS, run_id: int = RUN_ID) -> bytes:
    build = build_tick if quote.__class__.__name__.startswith("Tick") else build_bidask
    msg = build(quote, receive_ns, run_id)
    msg.sequence = sequence
    return msg.SerializeToString()


@pytest.mark.parametrize("seed", [5, 11])
def test_every_simulated_quote_encodes_exactly_as_upb(seed: int) -> None:
    taipei = dt.timezone(dt.timedelta(hours=8))
    # From 08:30: the pre-open (simtrade) quotes, the open burst, both contracts.
    market = SimMarket(
        SimConfig(
            seed=seed, streams=(("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK), ("TXFR2", QuoteType.TICK))
        ),
        int(dt.datetime(2026, 11, 24, 8, 30, tzinfo=taipei).timestamp()) * 10**9,
    )
    kinds = {"tick": 0, "bidask": 0, "simtrade": 0}
    for n, (kind, _t, arr) in enumerate(market, start=1):
        q = tick_from_array(arr) if kind == SIM_TICK else bidask_from_array(arr)
        receive_ns = RECV_NS + n * 7919
        assert _wire_bytes(q, n, receive_ns) == _reference_bytes(q, n, receive_ns), q
        kinds["tick" if kind == SIM_TICK else "bidask"] += 1
        kinds["simtrade"] += q.simtrade is True
        if n == 20_000:
            break
    assert min(kinds.values()) > 0, kinds


def test_zero_fields_are_omitted_and_sequence_and_run_id_are_placed_like_upb() -> None:
    q = make_bidask(
        **dict(
            BIDASK,
            bid_total_vol=0,
            first_derived_bid_price="0",
            first_derived_ask_price="0",
            first_derived_bid_vol=0,
            first_derived_ask_vol=0,
            ask_price=["0"] * 5,
            ask_volume=[0] * 5,
            diff_ask_vol=[0] * 5,
        )
    )
    for sequence, run_id in ((1, RUN_ID), (2**14, 1), (2**63 + 5, 2**64 - 1), (0, 0)):
        assert _wire_bytes(q, sequence, run_id=run_id) == _reference_bytes(q, sequence, run_id=run_id)


@settings(max_examples=300, deadline=None)
@given(
    close=st.decimals(min_value=Decimal("0.0001"), max_value=10**9, places=4),
    chg=st.decimals(min_value=-(10**6), max_value=10**6, places=4),
    pct=st.decimals(min_value=-100, max_value=100, places=2),
    amount=st.decimals(min_value=0, max_value=10**14, places=4),
    vol=st.integers(0, 2**40),
    total=st.integers(0, 2**63 - 1),
    side=st.integers(0, 2**20),
    tick_type=st.sampled_from([0, 1, 2]),
    chg_type=st.sampled_from([0, 1, 2, 3, 4, 5]),
    when=st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    simtrade=st.booleans(),
)
def test_generated_ticks_encode_exactly_as_upb(
    close: Decimal,
    chg: Decimal,
    pct: Decimal,
    amount: Decimal,
    vol: int,
    total: int,
    side: int,
    tick_type: int,
    chg_type: int,
    when: dt.datetime,
    simtrade: bool,
) -> None:
    q = make_tick(
        **dict(
            TICK,
            close=close,
            price_chg=chg,
            pct_chg=pct,
            amount=amount,
            total_amount=amount,
            avg_price=close,
            open=close,
            volume=vol,
            total_volume=total,
            bid_side_total_vol=side,
            ask_side_total_vol=0,
            tick_type=tick_type,
            chg_type=chg_type,
            simtrade=simtrade,
            date=when.date().isoformat(),
            time=when.time().isoformat(timespec="microseconds"),
        )
    )
    assert _wire_bytes(q, 3) == _reference_bytes(q, 3)


@settings(max_examples=100, deadline=None)
@given(
    close=st.decimals(min_value=1, max_value=10**6, places=4),
    und=st.decimals(min_value=0, max_value=10**6, places=2),
    vol=st.integers(0, 10**6),
)
def test_generated_trade_prices_and_volumes_encode_exactly_as_upb(close: Decimal, und: Decimal, vol: int) -> None:
    q = make_tick(**dict(TICK, close=close, underlying_price=und, volume=vol))
    assert _wire_bytes(q, 1) == _reference_bytes(q, 1)


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False, allow_infinity=False))
def test_price_text_scales_as_decimal_arithmetic_does(d: Decimal) -> None:
    for text in (str(d), f"{d:f}", f"{d:.4f}"):
        assert wire._px(text) == int(Decimal(text).scaleb(4)), text


@pytest.mark.parametrize("text", ["1.23456", "NaN", "Infinity", "1e5", "5.0 ", "1.2.3", "5.", "", "-", "0x10", "1.²"])
def test_price_text_it_cannot_read_exactly_is_refused(text: str) -> None:
    with pytest.raises((ValueError, IndexError)):
        wire._px(text)


levels = st.lists(st.integers(0, 300), min_size=5, max_size=5)
prices = st.lists(st.decimals(min_value=0, max_value=10**6, places=2).map(str), min_size=5, max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    bid=prices,
    ask=prices,
    bid_vol=levels,
    ask_vol=levels,
    diff=st.lists(st.integers(-8192, 8191), min_size=5, max_size=5),
    totals=st.tuples(st.integers(0, 2**31), st.integers(0, 2**31)),
    fd_vol=st.integers(0, 2**20),
)
def test_generated_books_encode_exactly_as_upb(
    bid: list[str],
    ask: list[str],
    bid_vol: list[int],
    ask_vol: list[int],
    diff: list[int],
    totals: tuple[int, int],
    fd_vol: int,
) -> None:
    q = make_bidask(
        **dict(
            BIDASK,
            bid_price=bid,
            ask_price=ask,
            bid_volume=bid_vol,
            ask_volume=ask_vol,
            diff_bid_vol=diff,
            diff_ask_vol=diff[::-1],
            bid_total_vol=totals[0],
            ask_total_vol=totals[1],
            first_derived_bid_vol=fd_vol,
        )
    )
    assert _wire_bytes(q, 9) == _reference_bytes(q, 9)


def test_book_changes_beyond_the_table_are_refused_for_the_reference_path() -> None:
    q = make_bidask(**dict(BIDASK, diff_bid_vol=[9000, 0, 0, 0, -9000]))
    with pytest.raises(KeyError):
        _wire_bytes(q, 1)
    assert BidAsk.FromString(_reference_bytes(q, 1)).diff_bid_vol[0] == 9000


BAD_BOOKS = {
    "four_levels": {"bid_price": ["1"] * 4},
    "six_volumes": {"ask_volume": [1] * 6},
    "four_changes": {"diff_bid_vol": [0] * 4},
    "negative_volume": {"bid_volume": [1, 2, -3, 4, 5]},
    "negative_big_volume": {"bid_volume": [1, 2, -300, 400, 5]},
    "five_decimals": {"ask_price": ["1.00001"] + ["1"] * 4},
    "nan_price": {"bid_price": ["NaN"] + ["1"] * 4},
    "exponent_price": {"bid_price": ["1e5"] + ["1"] * 4},
    "price_text_not_list": {"bid_price": "28000"},
    "volume_int_not_list": {"ask_volume": 5},
    "float_volume": {"bid_volume": [1.0, 2, 3, 4, 5]},
    "none_total": {"bid_total_vol": None},
    "float_total": {"ask_total_vol": 2.5},
    "overflow_total": {"bid_total_vol": 2**63},
    "underflow_total": {"bid_total_vol": -(2**63) - 1},
    "before_1970": {"datetime": "1970-01-01T08:00:00.000001"},
}


@pytest.mark.parametrize("override", BAD_BOOKS.values(), ids=BAD_BOOKS.keys())
def test_anything_it_cannot_write_exactly_raises(override: dict[str, Any]) -> None:
    r = make_bidask(**BIDASK).to_dict(raw=True)
    r.update(override)
    with pytest.raises((ValueError, TypeError, KeyError, IndexError, OverflowError)):
        wire.bidask_parts(r, RECV_NS, b"", b"")


BAD_TICKS = {
    "zero_close": {"close": "0"},
    "negative_close": {"close": "-1"},
    "negative_volume": {"volume": -1},
    "unknown_tick_type": {"tick_type": 3},
    "unknown_chg_type": {"chg_type": 9},
    "overflow_amount": {"total_amount": str(2**63)},
    "none_volume": {"total_volume": None},
    "text_volume": {"volume": "2"},
}


@pytest.mark.parametrize("override", BAD_TICKS.values(), ids=BAD_TICKS.keys())
def test_bad_tick_fields_raise(override: dict[str, Any]) -> None:
    r = make_tick(**TICK).to_dict(raw=True)
    r.update(override)
    with pytest.raises((ValueError, TypeError, KeyError, IndexError, OverflowError)):
        wire.tick_parts(r, RECV_NS, b"", b"")


def test_receive_time_out_of_range_raises() -> None:
    r = make_tick(**TICK).to_dict(raw=True)
    for bad in (0, 2**28 - 1, 2**63):
        with pytest.raises(ValueError):
            wire.tick_parts(r, bad, b"", b"")


@given(st.integers(-(2**63), 2**63 - 1))
def test_int64_and_sint64_varints_equal_upb(v: int) -> None:
    assert Tick(volume=v).SerializeToString() == (b"\x20" + wire.int64(v) if v else b"")
    key = Tick.DESCRIPTOR.fields_by_name["price_chg"].number << 3
    assert Tick(price_chg=v).SerializeToString() == (wire.uvarint(key) + wire.sint64(v) if v else b"")


@given(st.integers(0, 2**64 - 1))
def test_uvarint_equals_upb(v: int) -> None:
    assert Tick(sequence=v).SerializeToString() == wire.sequence_field(wire.ENCODERS[Tick].sequence_key, v)


def test_out_of_range_integers_raise() -> None:
    for bad in (2**63, -(2**63) - 1):
        with pytest.raises(OverflowError):
            wire.int64(bad)
        with pytest.raises(OverflowError):
            wire.sint64(bad)
    with pytest.raises(OverflowError):
        wire.sequence_field(wire.ENCODERS[Tick].sequence_key, 2**64)


def test_caches_stay_bounded() -> None:
    side = wire._BookSide(b"\x2a")
    for i in range(wire._CACHE_LIMIT * 3):
        side[tuple(str(i + k) for k in range(5))]
    assert 0 < len(side) <= wire._CACHE_LIMIT
    field = wire._IntField(b"\x18")
    for i in range(wire._CACHE_LIMIT * 3):
        assert field[i] == (b"\x18" + wire.int64(i) if i else b"")
    assert len(field) <= wire._CACHE_LIMIT


def _tick_descriptor_with(extra: str, number: int, type_: int) -> Any:
    """txf.v1.Tick as a contract that gained a field, in a pool of its own."""
    pool = descriptor_pool.DescriptorPool()
    for file in (Tick.DESCRIPTOR.file.dependencies[0], Tick.DESCRIPTOR.file):
        fdp = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(fdp)
        if file is Tick.DESCRIPTOR.file:
            fdp.message_type[0].field.add(
                name=extra, number=number, type=type_, label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
            )
        pool.Add(fdp)
    return pool.FindMessageTypeByName("txf.v1.Tick")


def test_a_contract_field_without_a_meaning_stops_the_import() -> None:
    grown = _tick_descriptor_with("venue", 26, descriptor_pb2.FieldDescriptorProto.TYPE_STRING)
    with pytest.raises(RecordShapeError, match=r"venue = 26 with no meaning: give each a Kind in kit/txf_kit/records"):
        record.shape_of(Tick, record.TICK_MEANINGS, grown)
    assert issubclass(RecordShapeError, ImportError)  # raised while importing record.py, it stops the producer


def test_a_meaning_that_does_not_fit_its_field_is_refused() -> None:
    meanings = dict(record.TICK_MEANINGS)
    with pytest.raises(RecordShapeError, match="gone_field"):
        record.shape_of(Tick, {**meanings, "gone_field": Meaning(Kind.COUNT, "volume")})
    with pytest.raises(RecordShapeError, match="close .* does not fit kind book_prices"):
        record.shape_of(Tick, {**meanings, "close": Meaning(Kind.BOOK_PRICES, "close")})
    with pytest.raises(RecordShapeError, match="reads 'closing'"):
        record.shape_of(
            Tick,
            {**meanings, "close": Meaning(Kind.TRADE_PRICE, "closing")},
            sources={m.source for m in meanings.values() if m.source},
        )


def test_a_kind_the_encoder_cannot_write_fails_loudly() -> None:
    shape = record.shape_of(Tick, {**record.TICK_MEANINGS, "close": Meaning(Kind.TRADE_PRICE, "close", volatile=True)})
    with pytest.raises(RecordShapeError, match="teach producer/txf_producer/wire.py"):
        wire._generate(shape)


def test_the_encoder_writes_every_field_of_the_contract() -> None:
    """What the generated encoder writes, checked on the decoded record: every field set (none is zero here)."""
    quote = make_tick(**dict(TICK, simtrade=True))
    msg = Tick.FromString(_wire_bytes(quote, sequence=7))
    downstream = {f.name for f in record.TICK_SHAPE.of_kind(Kind.ANNOTATION)}  # the arbiter's, 0 here
    assert downstream == {"flags", "gap_start_ns"}
    assert {f.name for f, _v in msg.ListFields()} == {f.name for f in Tick.DESCRIPTOR.fields} - downstream
    book = BidAsk.FromString(_wire_bytes(make_bidask(**dict(BIDASK, simtrade=True)), sequence=7))
    downstream = {f.name for f in record.BIDASK_SHAPE.of_kind(Kind.ANNOTATION)}
    assert {f.name for f, _v in book.ListFields()} == {f.name for f in BidAsk.DESCRIPTOR.fields} - downstream


def test_enum_values_come_from_the_contract() -> None:
    from txf.v1 import ChgType, TickType

    assert record.TICK_SHAPE.field("tick_type").enum_values == frozenset(TickType.values())
    assert record.TICK_SHAPE.field("chg_type").enum_values == frozenset(ChgType.values())


def test_sequence_slots_are_the_empty_places_between_the_fields() -> None:
    r = make_tick(**TICK).to_dict(raw=True)
    enc = wire.ENCODERS[Tick]
    parts, simtrade = enc.parts(r, RECV_NS, HEADER, b"")
    receive_key = record.TICK_SHAPE.field("receive_time_ns").key
    assert parts[enc.sequence_slot] == b"" and parts[enc.sequence_slot - 4] == receive_key
    assert simtrade is False
    assert "def tick_parts(r, receive_ns, prefix, run_id_piece):" in enc.source
