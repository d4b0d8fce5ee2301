"""txf.v1 wire bytes straight from a Shioaji quote's `to_dict(raw=True)`: the hot path's encoder.

Why by hand: building a upb message from Python costs ~0.1 us a scalar and
~0.4 us a repeated field, so a BidAsk spent more time being assembled than
being read. Here each field becomes its bytes directly, mostly by table
lookup: small integers from a precomputed varint table, prices through a
bounded cache keyed by the exchange's decimal string (a session has a few
thousand distinct prices; running totals and averages, which change on
every trade, are computed directly), and 5-level books of small volumes in one
`bytes(list)` call.

What is written is derived from the one record definition (record.py): for
each message an encoder function is generated at import from its fields, in
number order, one piece expression per field chosen by its kind, and compiled
(`ENCODERS[Tick].source` shows the code). So the encoder writes exactly the
fields the contract has, and a field added to the contract without a meaning
in record.py stops the import. The generated code is what a hand-written
encoder would be, so it runs at the same speed.

The output is exactly what upb's `SerializeToString()` writes for the same
message (fields in number order, proto3 zeros omitted, repeated fields
packed). That is asserted on every simulated quote and on generated edge
cases in tests/producer/test_wire.py, and the end-to-end test compares every
record with `ProtobufSerializer`.

Exactness: prices are scaled from their decimal strings by integer
arithmetic (`_px`, never a float), integers are
range-checked for int64, and anything unusual (a non-integer, more than 4
decimals, a wrong book depth, an unknown enum value, a quote without
`to_dict`) raises. The caller then takes the reference path (a upb message
built from attributes, convert.py), which decides exactly or dead-letters the quote.

A record is returned as a list of byte pieces with an empty slot for the
`sequence` field, so the publisher can number it inside its per-stream lock
and join it once.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from txf.v1 import BidAsk, Tick
from txf_kit.records import BOOK_DEPTH, PRICE_SCALE, Kind, RecordShapeError
from txf_producer.record import SHAPES, FieldSpec, RecordShape
from txf_producer.record import uvarint_bytes as _varint_loop

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
    frac = s[i + 1 :]
    if not frac.isdigit():
        raise ValueError(s)
    return int(s[:i] + frac) * _POW[len(frac)]


SMALL_VARINTS: tuple[bytes, ...] = tuple(_varint_loop(i) for i in range(_SMALL))
_V = SMALL_VARINTS
# 14 low bits as two varint bytes that both continue: the low groups of any value >= 2**14.
CONTINUED_14_BITS: tuple[bytes, ...] = tuple(bytes(((x & 127) | 128, (x >> 7) | 128)) for x in range(_SMALL))
_C14 = CONTINUED_14_BITS


class _HighGroups(dict[int, bytes]):
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


class _PriceField(dict[str, bytes]):
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


class _IntField(dict[int, bytes]):
    """An integer value -> the whole field's bytes (b"" for zero), bounded: one lookup per field.

    Only exact integers are stored (a float key equal to an integer finds the
    same, exact bytes); None, text and out-of-range values raise.
    """

    def __init__(self, key: bytes, minimum: int = INT64_MIN, encode: Callable[[int], bytes] = int64) -> None:
        super().__init__()
        self.key, self.minimum, self.encode = key, minimum, encode

    def __missing__(self, v: int) -> bytes:
        if v < self.minimum:
            raise ValueError(f"{v!r} is below {self.minimum}")
        piece = self.key + self.encode(v) if v != 0 else b""
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


class _BookPrice(dict[str, bytes]):
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


class _BookSide(dict[tuple[str, ...], bytes]):
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

    (The encoder takes the usual case, every level below 128, in one `bytes()` call.)
    """
    if len(values) != BOOK_DEPTH or min(values) < 0:
        raise ValueError("book depth or negative volume")
    p = _join(map(int64, values))
    return key + _V[len(p)] + p


# --- encoders generated from the record shapes -------------------------------------------
#
# Times are the three large varints of every message. A real quote's times are all >= 2**28
# (checked once, on milliseconds), so their varints are two 14-bit groups from a table plus the
# cached high groups, written inline:
#   varint(v) == _C14[v & 16383] + _C14[(v >> 14) & 16383] + _HIGH[v >> 28]
_TIME_VAR = {Kind.EXCHANGE_MS: "ms", Kind.EXCHANGE_US: "us", Kind.RECEIVE_NS: "receive_ns"}
_INT64_TYPE = 3  # FieldDescriptor.TYPE_INT64


@dataclass(frozen=True)
class Encoder:
    """The generated encoder of one message and the per-stream pieces around it.

    `parts(to_dict(raw=True), receive_ns, prefix, run_id_piece)` -> (pieces, simtrade):
    `b"".join(pieces)` is the record once `pieces[sequence_slot]` holds
    `sequence_field(sequence_key, n)`. `prefix` (frame header + `code_field(code)`) and
    `run_id_piece` (`run_id_field(run_id)`) are constant per stream and run.
    """

    shape: RecordShape
    parts: Callable[[dict[str, Any], int, bytes, bytes], tuple[list[bytes], bool]]
    sequence_key: bytes
    sequence_slot: int
    code_key: bytes
    run_id_key: bytes
    source: str

    def code_field(self, code: str) -> bytes:
        """The `code` field (a stream's contract code), the first piece of its every record."""
        raw = code.encode()
        return self.code_key + uvarint(len(raw)) + raw if raw else b""

    def run_id_field(self, run_id: int) -> bytes:
        """The `producer_run_id` fixed64 field, omitted when zero as proto3 does."""
        if not 0 <= run_id < _U64:
            raise OverflowError(run_id)
        return self.run_id_key + run_id.to_bytes(8, "little") if run_id else b""


def _unsupported(shape: RecordShape, f: FieldSpec, why: str) -> RecordShapeError:
    return RecordShapeError(
        f"{shape.name}: wire.py cannot encode field {f.name} ({f.kind.value}): {why}; "
        "teach producer/txf_producer/wire.py this case"
    )


def _generate(shape: RecordShape) -> Encoder:
    """Compile `shape` into one straight-line encoder function (see the module doc)."""
    env: dict[str, Any] = {
        "_C14": _C14,
        "_HIGH": _HIGH,
        "_V": _V,
        "_join": _join,
        "_zz": _zz,
        "_volumes": _volumes,
        "_fromiso": _fromiso,
        "_TAIPEI_EPOCH": _TAIPEI_EPOCH,
        "_ONE_US": _ONE_US,
        "_MIN_TIME_MS": _MIN_TIME_MS,
        "INT64_MAX": INT64_MAX,
        "BOOK_DEPTH": BOOK_DEPTH,
    }
    reads: list[str] = []  # prologue: the book lists, read once
    lists: list[str] = []  # ... those that must really be lists
    books: list[str] = []  # ... checked and pre-encoded
    items: list[str] = []  # the pieces, in field-number order
    flag = sequence_slot = None
    sequence_key = code_key = run_id_key = b""
    uses_time = False
    for f in shape.fields:
        n, k, src = f.name, f.kind, f.source
        key = f"K_{n}"
        env[key] = f.key
        if k is Kind.CODE:
            code_key = f.key
            items.append("prefix")
        elif k in _TIME_VAR:
            v = _TIME_VAR[k]
            uses_time = uses_time or k is not Kind.RECEIVE_NS
            items += [key, f"_C14[{v} & 16383]", f"_C14[({v} >> 14) & 16383]", f"_HIGH[{v} >> 28]"]
        elif k is Kind.ANNOTATION:
            continue  # zero from a producer: proto3 writes nothing
        elif k is Kind.SEQUENCE:
            sequence_slot, sequence_key = len(items), f.key
            items.append('b""')
        elif k is Kind.RUN_ID:
            run_id_key = f.key
            items.append("run_id_piece")
        elif k in (Kind.PRICE, Kind.TRADE_PRICE):
            encode = sint64 if f.zigzag else int64
            if f.volatile:
                if f.zigzag or k is Kind.TRADE_PRICE:
                    raise _unsupported(shape, f, "a volatile price is encoded directly only as a plain int64")
                env[f"F_{n}"] = _direct_price(f.key)
            else:
                env[f"F_{n}"] = _PriceField(f.key, encode, positive=k is Kind.TRADE_PRICE).__getitem__
            items.append(f'F_{n}(r["{src}"])')
        elif k in (Kind.COUNT, Kind.VOLUME):
            minimum = 0 if k is Kind.VOLUME else INT64_MIN
            if f.volatile:
                if f.zigzag or k is Kind.VOLUME:
                    raise _unsupported(shape, f, "a volatile integer is encoded directly only as a plain int64")
                env[f"F_{n}"] = _direct_int(f.key)
            else:
                env[f"F_{n}"] = _IntField(f.key, minimum, sint64 if f.zigzag else int64).__getitem__
            items.append(f'F_{n}(r["{src}"])')
        elif k is Kind.ENUM:
            env[f"E_{n}"] = {v: (f.key + _V[v] if v else b"") for v in f.enum_values}
            items.append(f'E_{n}[r["{src}"]]')
        elif k is Kind.FLAG:
            if flag is not None:
                raise _unsupported(shape, f, "one flag per record (it says whether the quote is a simtrade)")
            flag = f"flag_{n}"
            env[f"S_{n}"] = f.key + b"\x01"
            items.append(f'S_{n} if {flag} is True else b""')
        elif k is Kind.BOOK_PRICES:
            if f.zigzag:
                raise _unsupported(shape, f, "book prices are int64")
            env[f"B_{n}"] = _BookSide(f.key)
            reads.append(f'v_{n} = r["{src}"]')
            lists.append(f"v_{n}")
            items.append(f"B_{n}[tuple(v_{n})]")
        elif k is Kind.BOOK_VOLUMES:
            if f.zigzag or f.proto_type != _INT64_TYPE:
                raise _unsupported(shape, f, "book volumes are int64 (one byte a level below 128 lots)")
            env[f"K5_{n}"] = f.key + _V[BOOK_DEPTH]
            reads.append(f'v_{n} = r["{src}"]')
            books += [
                "try:  # bytes() refuses non-integers, negatives and values above 255",
                f"    b_{n} = bytes(v_{n})",
                "except ValueError:",
                f'    b_{n} = b"\\x80"  # not all 0..127: _volumes decides',
                f"p_{n} = K5_{n} + b_{n} if len(b_{n}) == BOOK_DEPTH and b_{n}.isascii() else _volumes({key}, v_{n})",
            ]
            lists.append(f"v_{n}")
            items.append(f"p_{n}")
        elif k is Kind.BOOK_CHANGES:
            reads.append(f'v_{n} = r["{src}"]')
            books += [
                f"if len(v_{n}) != BOOK_DEPTH:",
                '    raise ValueError("book depth")',
                f"d_{n} = _join(map(_zz, v_{n}))  # changes beyond +-8191 lots raise KeyError",
            ]
            items += [key, f"_V[len(d_{n})]", f"d_{n}"]
        else:  # pragma: no cover - every kind is handled above
            raise _unsupported(shape, f, "no encoding for this kind")
    if sequence_slot is None or not run_id_key:
        raise RecordShapeError(f"{shape.name}: a record needs a sequence and a producer run id field")
    body: list[str] = list(reads)
    if lists:  # tuple("28000") and bytes(5) would both read as five levels: only lists are books
        body += [
            f"if {' or '.join(f'{v}.__class__ is not list' for v in lists)}:",
            '    raise TypeError("book levels must be lists")',
        ]
    body += books
    if uses_time:
        body += [
            'us = (_fromiso(r["datetime"]) - _TAIPEI_EPOCH) // _ONE_US',
            "ms = us // 1000",
            "if ms < _MIN_TIME_MS or receive_ns < _MIN_TIME_MS or receive_ns > INT64_MAX:",
            '    raise ValueError("exchange or receive time before 1970-01-04")',
        ]
    if flag is not None:
        body.append(f'{flag} = r["{shape.of_kind(Kind.FLAG)[0].source}"]')
    body.append("return [")
    body += [f"    {item}," for item in items]
    body.append(f"], {flag + ' is True' if flag else 'False'}")
    fname = f"{shape.message.DESCRIPTOR.name.lower()}_parts"
    source = (
        f"def {fname}(r, receive_ns, prefix, run_id_piece):\n"
        f'    """{shape.name} from to_dict(raw=True) (generated from record.py)."""\n'
        + "".join(f"    {line}\n" for line in body)
    )
    exec(compile(source, f"<wire encoder {shape.name}>", "exec"), env)  # noqa: S102 - our own generated code
    return Encoder(shape, env[fname], sequence_key, sequence_slot, code_key, run_id_key, source)


ENCODERS: dict[type[Message], Encoder] = {message: _generate(shape) for message, shape in SHAPES.items()}
tick_parts = ENCODERS[Tick].parts
bidask_parts = ENCODERS[BidAsk].parts


def sequence_field(key: bytes, sequence: int) -> bytes:
    """The `sequence` uint64 field (omitted at zero; the publisher starts at 1)."""
    if not 0 <= sequence < _U64:
        raise OverflowError(sequence)
    return key + uvarint(sequence) if sequence else b""
