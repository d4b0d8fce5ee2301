"""txf.v1 wire bytes straight from a Shioaji quote's `to_dict(raw=True)`: the hot path's encoder.

Why by hand: building a upb message from Python costs ~0.1 us a scalar and
~0.4 us a repeated field, so a BidAsk spent more time being assembled than
being read. Here each field becomes its bytes directly, mostly by table
lookup: small integers from a precomputed varint table, prices through a
bounded cache keyed by the exchange's decimal string (a session has a few
thousand distinct prices; running totals and averages, which change on
every trade, are computed directly), and 5-level books of small volumes in one
`bytes(list)` call.

The output is exactly what upb's `SerializeToString()` writes for the same
message (fields in number order, proto3 zeros omitted, repeated fields
packed). That is asserted on every simulated quote and on generated edge
cases in tests/producer/test_wire.py, and the end-to-end test compares every
record with `ProtobufSerializer`. Field numbers are read from the generated
descriptors, and import fails if the contract has a field this module does
not write, so the contract cannot silently outgrow the encoder.

Exactness: prices are scaled from their decimal strings by integer
arithmetic (`_px`, never a float), integers are
range-checked for int64, and anything unusual (a non-integer, more than 4
decimals, a wrong book depth, an unknown enum value, a quote without
`to_dict`) raises. The caller then takes the reference path (a upb message
built from attributes), which decides exactly or dead-letters the quote.

A record is returned as a list of byte pieces with an empty slot for the
`sequence` field, so the publisher can number it inside its per-stream lock
and join it once.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable

from google.protobuf.descriptor import Descriptor

from txf.v1 import BidAsk, Tick
from txf_producer.convert import BOOK_DEPTH, CHG_TYPES, PRICE_SCALE, TICK_TYPES

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_U64 = 2**64
_SMALL = 16_384  # varints of 0..16383 take 1-2 bytes and come from a table
_CACHE_LIMIT = 4_096  # entries per cache before it is cleared: all caches full hold ~12 MB (measured)


_POW = (10_000, 1_000, 100, 10, 1)  # x10000 for a price string with 0..4 decimals


def _px(s: str) -> int:
    """Decimal string -> int x10000, exactly, by integer arithmetic on the digits.

    Raises on more than 4 decimals (IndexError), exponents, NaN, signs after
    the point or anything else `int()` will not read (ValueError).
    """
    i = s.find(".")
    if i < 0:
        return int(s) * PRICE_SCALE
    frac = s[i + 1:]
    if not frac.isdigit():
        raise ValueError(s)
    return int(s[:i] + frac) * _POW[len(frac)]


def _varint_loop(v: int) -> bytes:
    out = bytearray()
    while v > 127:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


SMALL_VARINTS: tuple[bytes, ...] = tuple(_varint_loop(i) for i in range(_SMALL))
_V = SMALL_VARINTS
# 14 low bits as two varint bytes that both continue: the low groups of any value >= 2**14.
CONTINUED_14_BITS: tuple[bytes, ...] = tuple(bytes(((x & 127) | 128, (x >> 7) | 128)) for x in range(_SMALL))
_C14 = CONTINUED_14_BITS


class _HighGroups(dict):  # type: ignore[type-arg]
    """v >> 28 -> its varint bytes. Timestamps share these high bits for minutes at a time."""

    def __missing__(self, high: int) -> bytes:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        b = self[high] = _varint_loop(high)
        return b


_HIGH = _HighGroups()


def uvarint(v: int) -> bytes:
    """Varint of 0 <= v < 2**64 (unchecked above; callers check their type's range)."""
    if v < _SMALL:
        return _V[v]  # a negative v has been turned positive by the caller
    if v < 268_435_456:  # 2**28
        return _C14[v & 16383] + _V[v >> 14]
    return _C14[v & 16383] + _C14[(v >> 14) & 16383] + _HIGH[v >> 28]


def int64(v: int) -> bytes:
    """Varint of an int64 (negative values as 10-byte two's complement, as protobuf does)."""
    if 0 <= v < _SMALL:
        return _V[v]
    if v < 0:
        if v < INT64_MIN:
            raise OverflowError(v)
        v += _U64
    elif v > INT64_MAX:
        raise OverflowError(v)
    return uvarint(v)


def sint64(v: int) -> bytes:
    """Zig-zag varint of an sint64."""
    if not INT64_MIN <= v <= INT64_MAX:
        raise OverflowError(v)
    return uvarint(v << 1 if v >= 0 else (-v << 1) - 1)


# Zig-zag bytes of small book changes, -8192..8191, looked up in one call per element.
_ZZ: dict[int, bytes] = {v: sint64(v) for v in range(-8192, 8192)}


def _key(descriptor: Descriptor, name: str, wire_type: int) -> bytes:
    """A field's key bytes (number << 3 | wire type), by name from the generated descriptor."""
    return uvarint(descriptor.fields_by_name[name].number << 3 | wire_type)


_VARINT, _FIXED64, _LEN = 0, 1, 2


class _PriceField(dict):  # type: ignore[type-arg]
    """Decimal string -> the whole field's bytes (key + value, or b"" for zero), bounded.

    `encode` is int64 or sint64; `positive` refuses zero and negatives (a trade
    price). Only strings that convert exactly are ever stored.
    """

    def __init__(self, key: bytes, encode: Callable[[int], bytes], positive: bool = False) -> None:
        super().__init__()
        self.key, self.encode, self.positive = key, encode, positive

    def __missing__(self, text: str) -> bytes:
        v = _px(text)
        if self.positive and v <= 0:
            raise ValueError(f"price {text!r} must be positive")
        piece = self.key + self.encode(v) if v else b""
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[text] = piece
        return piece


class _IntField(dict):  # type: ignore[type-arg]
    """An int64 value -> the whole field's bytes (b"" for zero), bounded: one lookup per field.

    Only exact integers are stored (a float key equal to an integer finds the
    same, exact bytes); None, text and out-of-range values raise.
    """

    def __init__(self, key: bytes, minimum: int = INT64_MIN) -> None:
        super().__init__()
        self.key, self.minimum = key, minimum

    def __missing__(self, v: int) -> bytes:
        if v < self.minimum:
            raise ValueError(f"{v!r} is below {self.minimum}")
        piece = self.key + int64(v) if v != 0 else b""
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[v] = piece
        return piece


def _direct_int(key: bytes) -> Callable[[int], bytes]:
    """An int64 field whose value changes on every quote (running totals): no cache to churn.

    int64() refuses out-of-range values and non-integers (None included: `None != 0`).
    """
    def piece(v: int) -> bytes:
        return key + int64(v) if v != 0 else b""
    return piece


def _direct_price(key: bytes) -> Callable[[str], bytes]:
    """A price field that changes on every trade (averages, amounts): no cache to churn.

    Written for speed (this is most of a Tick's encoding): whole-point text is
    scaled in one `int()`, and values of 2**28 or more (every TXF price
    x10000) take the table varint inline.
    """
    def piece(text: str) -> bytes:
        v = int(text) * PRICE_SCALE if text.find(".") < 0 else _px(text)
        if 268_435_456 <= v <= INT64_MAX:
            return key + _C14[v & 16383] + _C14[(v >> 14) & 16383] + _HIGH[v >> 28]
        return key + int64(v) if v else b""
    return piece


class _BookPrice(dict):  # type: ignore[type-arg]
    """Decimal string -> varint bytes of the price x10000, as one element of a packed list."""

    def __missing__(self, text: str) -> bytes:
        b = int64(_px(text))
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[text] = b
        return b


_book_price = _BookPrice().__getitem__
_zz = _ZZ.__getitem__
_join = b"".join
_fromiso = _dt.datetime.fromisoformat
_TAIPEI_EPOCH = _dt.datetime(1970, 1, 1, 8, 0, 0)
_ONE_US = _dt.timedelta(microseconds=1)
_MIN_TIME_MS = 268_435_456  # 2**28 ms after the epoch (1970-01-04): any real quote is later


def _enum_pieces(key: bytes, known: frozenset[int]) -> dict[int, bytes]:
    return {v: (key + _V[v] if v else b"") for v in known}


class _BookSide(dict):  # type: ignore[type-arg]
    """5 price strings -> the whole packed field (key, length, prices x10000), bounded.

    The five levels sit one tick apart, so a session has about as many
    distinct sides as best prices: one tuple lookup replaces five.
    """

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self.key = key

    def __missing__(self, levels: tuple[str, ...]) -> bytes:
        if len(levels) != BOOK_DEPTH:
            raise ValueError("book depth")
        p = _join(map(_book_price, levels))
        piece = self.key + _V[len(p)] + p
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[levels] = piece
        return piece


def _volumes(key: bytes, values: list[int]) -> bytes:
    """A packed book of volumes >= 0 as varints: the path for levels of 128 lots or more.

    (bidask_parts takes the usual case, every level below 128, in one `bytes()` call.)
    """
    if len(values) != BOOK_DEPTH or min(values) < 0:
        raise ValueError("book depth or negative volume")
    p = _join(map(int64, values))
    return key + _V[len(p)] + p


# Times are the three large varints of every message. A real quote's times are
# all >= 2**28 (checked once, on milliseconds), so their varints are two
# 14-bit groups from a table plus the cached high groups, written inline:
#   varint(v) == _C14[v & 16383] + _C14[(v >> 14) & 16383] + _HIGH[v >> 28]
# (receive_ns is checked with them).

# --- txf.v1.Tick -----------------------------------------------------------------------

_TD = Tick.DESCRIPTOR
_T_TIMESTAMP_MS = _key(_TD, "timestamp_ms", _VARINT)
_T_VOLUME = _IntField(_key(_TD, "volume", _VARINT), minimum=0).__getitem__
_T_TICK_TYPE = _enum_pieces(_key(_TD, "tick_type", _VARINT), TICK_TYPES)
_T_TOTAL_VOLUME = _direct_int(_key(_TD, "total_volume", _VARINT))
_T_EXCHANGE_US = _key(_TD, "exchange_time_us", _VARINT)
_T_RECEIVE_NS = _key(_TD, "receive_time_ns", _VARINT)
_T_BID_SIDE = _direct_int(_key(_TD, "bid_side_total_vol", _VARINT))
_T_ASK_SIDE = _direct_int(_key(_TD, "ask_side_total_vol", _VARINT))
_T_CHG_TYPE = _enum_pieces(_key(_TD, "chg_type", _VARINT), CHG_TYPES)
_T_SIMTRADE = _key(_TD, "simtrade", _VARINT) + b"\x01"
_T_CLOSE = _PriceField(_key(_TD, "close", _VARINT), int64, positive=True).__getitem__
_T_UNDERLYING = _PriceField(_key(_TD, "underlying_price", _VARINT), int64).__getitem__
_T_OPEN = _PriceField(_key(_TD, "open", _VARINT), int64).__getitem__
_T_HIGH = _PriceField(_key(_TD, "high", _VARINT), int64).__getitem__
_T_LOW = _PriceField(_key(_TD, "low", _VARINT), int64).__getitem__
_T_AVG = _direct_price(_key(_TD, "avg_price", _VARINT))
_T_AMOUNT = _direct_price(_key(_TD, "amount", _VARINT))
_T_TOTAL_AMOUNT = _direct_price(_key(_TD, "total_amount", _VARINT))
_T_PRICE_CHG = _PriceField(_key(_TD, "price_chg", _VARINT), sint64).__getitem__
_T_PCT_CHG = _PriceField(_key(_TD, "pct_chg", _VARINT), sint64).__getitem__
TICK_SEQUENCE_KEY = _key(_TD, "sequence", _VARINT)
TICK_SEQUENCE_SLOT = 18  # index of the b"" left for the sequence in tick_parts' list


def tick_parts(r: dict[str, Any], receive_ns: int, prefix: bytes, run_id_piece: bytes) -> tuple[list[bytes], bool]:
    """A Tick's `to_dict(raw=True)` -> (the record's pieces, simtrade).

    `b"".join(pieces)` is the record once `pieces[TICK_SEQUENCE_SLOT]` holds
    `sequence_field(...)`. `prefix` (frame header and `code` field) and
    `run_id_piece` (`run_id_field(...)`) are constant per stream and run.
    """
    us = (_fromiso(r["datetime"]) - _TAIPEI_EPOCH) // _ONE_US
    ms = us // 1000
    if ms < _MIN_TIME_MS or receive_ns < _MIN_TIME_MS or receive_ns > INT64_MAX:
        raise ValueError("exchange or receive time before 1970-01-04")
    simtrade = r["simtrade"]
    return [
        prefix,
        _T_TIMESTAMP_MS, _C14[ms & 16383], _C14[(ms >> 14) & 16383], _HIGH[ms >> 28],
        _T_CLOSE(r["close"]),
        _T_VOLUME(r["volume"]),
        _T_TICK_TYPE[r["tick_type"]],
        _T_TOTAL_VOLUME(r["total_volume"]),
        _T_UNDERLYING(r["underlying_price"]),
        _T_EXCHANGE_US, _C14[us & 16383], _C14[(us >> 14) & 16383], _HIGH[us >> 28],
        _T_RECEIVE_NS, _C14[receive_ns & 16383], _C14[(receive_ns >> 14) & 16383], _HIGH[receive_ns >> 28],
        b"",  # TICK_SEQUENCE_SLOT
        run_id_piece,
        _T_OPEN(r["open"]), _T_HIGH(r["high"]), _T_LOW(r["low"]), _T_AVG(r["avg_price"]),
        _T_AMOUNT(r["amount"]), _T_TOTAL_AMOUNT(r["total_amount"]),
        _T_BID_SIDE(r["bid_side_total_vol"]), _T_ASK_SIDE(r["ask_side_total_vol"]),
        _T_CHG_TYPE[r["chg_type"]],
        _T_PRICE_CHG(r["price_chg"]), _T_PCT_CHG(r["pct_chg"]),
        _T_SIMTRADE if simtrade is True else b"",
    ], simtrade is True


# --- txf.v1.BidAsk ---------------------------------------------------------------------

_BD = BidAsk.DESCRIPTOR
_B_TIMESTAMP_MS = _key(_BD, "timestamp_ms", _VARINT)
_B_BID_TOTAL = _IntField(_key(_BD, "bid_total_vol", _VARINT)).__getitem__
_B_ASK_TOTAL = _IntField(_key(_BD, "ask_total_vol", _VARINT)).__getitem__
_B_BID_PRICE = _BookSide(_key(_BD, "bid_price", _LEN))
_B_BID_VOLUME = _key(_BD, "bid_volume", _LEN)
_B_BID_VOLUME_5 = _B_BID_VOLUME + _V[BOOK_DEPTH]  # key and length of 5 one-byte levels
_B_DIFF_BID = _key(_BD, "diff_bid_vol", _LEN)
_B_ASK_PRICE = _BookSide(_key(_BD, "ask_price", _LEN))
_B_ASK_VOLUME = _key(_BD, "ask_volume", _LEN)
_B_ASK_VOLUME_5 = _B_ASK_VOLUME + _V[BOOK_DEPTH]
_B_DIFF_ASK = _key(_BD, "diff_ask_vol", _LEN)
_B_EXCHANGE_US = _key(_BD, "exchange_time_us", _VARINT)
_B_RECEIVE_NS = _key(_BD, "receive_time_ns", _VARINT)
_B_UNDERLYING = _PriceField(_key(_BD, "underlying_price", _VARINT), int64).__getitem__
_B_FD_BID_PRICE = _PriceField(_key(_BD, "first_derived_bid_price", _VARINT), int64).__getitem__
_B_FD_ASK_PRICE = _PriceField(_key(_BD, "first_derived_ask_price", _VARINT), int64).__getitem__
_B_FD_BID_VOL = _IntField(_key(_BD, "first_derived_bid_vol", _VARINT)).__getitem__
_B_FD_ASK_VOL = _IntField(_key(_BD, "first_derived_ask_vol", _VARINT)).__getitem__
_B_SIMTRADE = _key(_BD, "simtrade", _VARINT) + b"\x01"
BIDASK_SEQUENCE_KEY = _key(_BD, "sequence", _VARINT)
BIDASK_SEQUENCE_SLOT = 25  # index of the b"" left for the sequence in bidask_parts' list


def bidask_parts(r: dict[str, Any], receive_ns: int, prefix: bytes, run_id_piece: bytes
                 ) -> tuple[list[bytes], bool]:
    """A BidAsk's `to_dict(raw=True)` -> (the record's pieces, simtrade); see tick_parts.

    Book changes beyond +-8191 lots a level raise (KeyError) and take the reference path.
    Written inline rather than through helpers: each Python call costs ~0.1 us.
    """
    bid_price, ask_price = r["bid_price"], r["ask_price"]
    bid_volume, ask_volume = r["bid_volume"], r["ask_volume"]
    # tuple("28000") and bytes(5) would both read as five levels: only lists are books.
    if (bid_price.__class__ is not list or ask_price.__class__ is not list
            or bid_volume.__class__ is not list or ask_volume.__class__ is not list):
        raise TypeError("book levels must be lists")
    try:  # bytes() refuses non-integers, negatives and values above 255
        bv, av = bytes(bid_volume), bytes(ask_volume)
    except ValueError:
        bv = av = b"\x80"  # not all 0..127: the varint path below decides
    # Levels of 0..127 lots are each their own one-byte varint: the packed field is the bytes.
    bv = _B_BID_VOLUME_5 + bv if len(bv) == BOOK_DEPTH and bv.isascii() else _volumes(_B_BID_VOLUME, bid_volume)
    av = _B_ASK_VOLUME_5 + av if len(av) == BOOK_DEPTH and av.isascii() else _volumes(_B_ASK_VOLUME, ask_volume)
    diff_bid, diff_ask = r["diff_bid_vol"], r["diff_ask_vol"]
    if len(diff_bid) != BOOK_DEPTH or len(diff_ask) != BOOK_DEPTH:
        raise ValueError("book depth")
    db = _join(map(_zz, diff_bid))
    da = _join(map(_zz, diff_ask))
    us = (_fromiso(r["datetime"]) - _TAIPEI_EPOCH) // _ONE_US
    ms = us // 1000
    if ms < _MIN_TIME_MS or receive_ns < _MIN_TIME_MS or receive_ns > INT64_MAX:
        raise ValueError("exchange or receive time before 1970-01-04")
    simtrade = r["simtrade"]
    return [
        prefix,
        _B_TIMESTAMP_MS, _C14[ms & 16383], _C14[(ms >> 14) & 16383], _HIGH[ms >> 28],
        _B_BID_TOTAL(r["bid_total_vol"]),
        _B_ASK_TOTAL(r["ask_total_vol"]),
        _B_BID_PRICE[tuple(bid_price)],
        bv,
        _B_DIFF_BID, _V[len(db)], db,
        _B_ASK_PRICE[tuple(ask_price)],
        av,
        _B_DIFF_ASK, _V[len(da)], da,
        _B_EXCHANGE_US, _C14[us & 16383], _C14[(us >> 14) & 16383], _HIGH[us >> 28],
        _B_RECEIVE_NS, _C14[receive_ns & 16383], _C14[(receive_ns >> 14) & 16383], _HIGH[receive_ns >> 28],
        b"",  # BIDASK_SEQUENCE_SLOT
        run_id_piece,
        _B_UNDERLYING(r["underlying_price"]),
        _B_FD_BID_PRICE(r["first_derived_bid_price"]),
        _B_FD_ASK_PRICE(r["first_derived_ask_price"]),
        _B_FD_BID_VOL(r["first_derived_bid_vol"]),
        _B_FD_ASK_VOL(r["first_derived_ask_vol"]),
        _B_SIMTRADE if simtrade is True else b"",
    ], simtrade is True


# --- per-stream and per-run constants ----------------------------------------------------

def code_field(code: str) -> bytes:
    """Field 1 (`code`, the same number in both messages) for one stream's contract code."""
    raw = code.encode()
    return (b"" if not raw else _key(_TD, "code", _LEN) + uvarint(len(raw)) + raw)


def run_id_field(message: type[Tick] | type[BidAsk], run_id: int) -> bytes:
    """The `producer_run_id` fixed64 field, omitted when zero as proto3 does."""
    if not 0 <= run_id < _U64:
        raise OverflowError(run_id)
    return _key(message.DESCRIPTOR, "producer_run_id", _FIXED64) + run_id.to_bytes(8, "little") if run_id else b""


def sequence_field(key: bytes, sequence: int) -> bytes:
    """The `sequence` uint64 field (omitted at zero; the publisher starts at 1)."""
    if not 0 <= sequence < _U64:
        raise OverflowError(sequence)
    return key + uvarint(sequence) if sequence else b""


# Every field of the contract is written above, in number order, or import fails here: a field added
# to (or renumbered in) the contract cannot be silently left out or misplaced by this encoder.
WRITE_ORDER: dict[type[Tick] | type[BidAsk], tuple[str, ...]] = {
    Tick: ("code", "timestamp_ms", "close", "volume", "tick_type", "total_volume", "underlying_price",
           "exchange_time_us", "receive_time_ns", "sequence", "producer_run_id", "open", "high", "low",
           "avg_price", "amount", "total_amount", "bid_side_total_vol", "ask_side_total_vol", "chg_type",
           "price_chg", "pct_chg", "simtrade"),
    BidAsk: ("code", "timestamp_ms", "bid_total_vol", "ask_total_vol", "bid_price", "bid_volume", "diff_bid_vol",
             "ask_price", "ask_volume", "diff_ask_vol", "exchange_time_us", "receive_time_ns", "sequence",
             "producer_run_id", "underlying_price", "first_derived_bid_price", "first_derived_ask_price",
             "first_derived_bid_vol", "first_derived_ask_vol", "simtrade"),
}


def _check_write_order() -> None:
    for message, names in WRITE_ORDER.items():
        fields = message.DESCRIPTOR.fields_by_name
        declared = set(fields)
        numbers = [fields[n].number for n in names if n in fields]
        if declared != set(names) or numbers != sorted(numbers):
            raise ImportError(
                f"txf_producer.wire writes {message.DESCRIPTOR.full_name} as {list(names)}, but the contract "
                f"declares {sorted(declared, key=lambda n: fields[n].number)}: update wire.py with the contract")


_check_write_order()
