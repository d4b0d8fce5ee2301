"""Write tests/vectors/txf_v1.json: the golden vectors of the txf.v1 contract.

Each vector is written here once as canonical proto3 JSON (the expected decoding)
and encoded with the reference Python runtime. Every language's test decodes the
stored bytes, compares with the stored JSON and re-encodes to the same bytes, so
the file, not this script, is the contract's cross-language proof. Run it only
when adding vectors (`python tests/vectors/generate.py`), then review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from txf.v1 import Bar, BidAsk, Gap, Tick

OUT = Path(__file__).with_name("txf_v1.json")
I64_MAX = str(2**63 - 1)
I64_MIN = str(-(2**63))
U64_MAX = str(2**64 - 1)

# Expected canonical JSON (proto3 JSON mapping: lowerCamelCase names, 64-bit
# integers as strings, enums by name, default values omitted).
VECTORS: list[tuple[str, type[Message], dict[str, Any]]] = [
    (
        "tick_typical",
        Tick,
        {
            "code": "TXFK6",
            "timestampMs": "1763947800123",
            "close": "234560000",
            "volume": "2",
            "tickType": "TICK_TYPE_BUY",
            "totalVolume": "41237",
            "underlyingPrice": "233871234",
            "exchangeTimeUs": "1763947800123456",
            "receiveTimeNs": "1763947800211000123",
            "sequence": "1",
            "producerRunId": "12345678901234567890",
            "open": "233000000",
            "high": "235010000",
            "low": "232990000",
            "avgPrice": "234012345",
            "amount": "469120000",
            "totalAmount": "96500123450000",
            "bidSideTotalVol": "20011",
            "askSideTotalVol": "21226",
            "chgType": "CHG_TYPE_UP",
            "priceChg": "1250000",
            "pctChg": "5356",
        },
    ),
    ("tick_empty", Tick, {}),
    (
        "tick_extreme",
        Tick,
        {
            "code": "台指期TXF近一",
            "timestampMs": I64_MIN,
            "close": I64_MAX,
            "volume": I64_MAX,
            "tickType": "TICK_TYPE_SELL",
            "totalVolume": I64_MAX,
            "underlyingPrice": I64_MIN,
            "exchangeTimeUs": I64_MAX,
            "receiveTimeNs": I64_MIN,
            "sequence": U64_MAX,
            "producerRunId": U64_MAX,
            "open": I64_MIN,
            "high": I64_MAX,
            "low": I64_MIN,
            "avgPrice": "-1",
            "amount": I64_MAX,
            "totalAmount": I64_MAX,
            "bidSideTotalVol": "-1",
            "askSideTotalVol": I64_MAX,
            "chgType": "CHG_TYPE_LIMIT_DOWN",
            "priceChg": I64_MIN,
            "pctChg": I64_MAX,
            "simtrade": True,
        },
    ),
    (
        "tick_negative_change_limit_down",
        Tick,
        {
            "code": "TXFL6",
            "close": "210000000",
            "tickType": "TICK_TYPE_SELL",
            "chgType": "CHG_TYPE_LIMIT_DOWN",
            "priceChg": "-23330000",
            "pctChg": "-100000",
            "sequence": "7",
        },
    ),
    (
        "tick_enum_unspecified_limit_up",
        Tick,
        {
            "code": "TXFR1",
            "chgType": "CHG_TYPE_LIMIT_UP",
            "priceChg": "23330000",
            "pctChg": "100000",
        },
    ),
    ("tick_enum_buy_unchanged", Tick, {"tickType": "TICK_TYPE_BUY", "chgType": "CHG_TYPE_UNCHANGED"}),
    ("tick_enum_sell_down", Tick, {"tickType": "TICK_TYPE_SELL", "chgType": "CHG_TYPE_DOWN", "simtrade": True}),
    ("tick_unknown_enum_values", Tick, {"tickType": 3, "chgType": 9}),
    (
        "bidask_typical",
        BidAsk,
        {
            "code": "TXFK6",
            "timestampMs": "1763947800123",
            "bidTotalVol": "61",
            "askTotalVol": "57",
            "bidPrice": ["234550000", "234540000", "234530000", "234520000", "234510000"],
            "bidVolume": ["9", "14", "11", "13", "14"],
            "diffBidVol": ["-2", "0", "3", "-1", "1"],
            "askPrice": ["234560000", "234570000", "234580000", "234590000", "234600000"],
            "askVolume": ["4", "12", "15", "10", "16"],
            "diffAskVol": ["1", "-3", "0", "0", "-16"],
            "exchangeTimeUs": "1763947800123456",
            "receiveTimeNs": "1763947800150000001",
            "sequence": "42",
            "producerRunId": "1",
            "underlyingPrice": "233871234",
            "firstDerivedBidPrice": "234540000",
            "firstDerivedAskPrice": "234570000",
            "firstDerivedBidVol": "1",
            "firstDerivedAskVol": "2",
        },
    ),
    ("bidask_empty", BidAsk, {}),
    (
        "bidask_extreme",
        BidAsk,
        {
            "code": "台指期TXF",
            "timestampMs": I64_MAX,
            "bidTotalVol": I64_MAX,
            "askTotalVol": I64_MIN,
            "bidPrice": [I64_MAX, I64_MIN, "0", "-1", "1"],
            "bidVolume": [I64_MAX, "0", "0", "0", I64_MIN],
            "diffBidVol": [I64_MIN, I64_MAX, "-1", "1", "0"],
            "askPrice": [I64_MIN, I64_MAX, "1", "0", "-1"],
            "askVolume": ["0", "0", "0", "0", I64_MAX],
            "diffAskVol": [I64_MAX, I64_MIN, "0", "-1", "1"],
            "exchangeTimeUs": I64_MIN,
            "receiveTimeNs": I64_MAX,
            "sequence": U64_MAX,
            "producerRunId": U64_MAX,
            "underlyingPrice": I64_MAX,
            "firstDerivedBidPrice": I64_MIN,
            "firstDerivedAskPrice": I64_MAX,
            "firstDerivedBidVol": I64_MAX,
            "firstDerivedAskVol": "-1",
            "simtrade": True,
        },
    ),
    (
        "bidask_one_sided_book_at_limit_up",
        BidAsk,
        {
            "code": "TXFK6",
            "bidTotalVol": "1500",
            "bidPrice": ["256620000", "256610000", "256600000", "256590000", "256580000"],
            "bidVolume": ["1200", "150", "80", "40", "30"],
            "diffBidVol": ["300", "0", "0", "-5", "0"],
            "askPrice": ["0", "0", "0", "0", "0"],
            "askVolume": ["0", "0", "0", "0", "0"],
            "diffAskVol": ["0", "0", "0", "0", "-2"],
            "sequence": "1000000",
        },
    ),
    # Contract 1.1.0: what the arbiter adds on the canonical topics (flags, gap_start_ns) and the
    # ledger record. The vectors above are 1.0.0 records: every binding decodes both.
    (
        "tick_after_a_capture_hole",
        Tick,
        {
            "code": "TXFK6",
            "close": "234560000",
            "volume": "1",
            "exchangeTimeUs": "1763950000000001",
            "sequence": "5001",
            "producerRunId": "987654321",
            "flags": 1,
            "gapStartNs": "1763949988000000000",
        },
    ),
    (
        "bidask_late_after_a_hole",
        BidAsk,
        {
            "code": "TXFK6",
            "bidPrice": ["234550000"],
            "askPrice": ["234560000"],
            "sequence": "77",
            "flags": 3,
            "gapStartNs": "1763949988000000000",
        },
    ),
    ("bidask_unknown_flag_bits", BidAsk, {"code": "TXFK6", "flags": 4294967295}),
    (
        "gap_typical",
        Gap,
        {
            "messageType": "txf.v1.BidAsk",
            "code": "TXFK6",
            "startNs": "1763949988000000000",
            "endNs": "1763950000000001000",
            "legsDown": ["a", "b"],
            "cause": "leg a's producer restarted during it (run 00000000075bcd15)",
            "firstSequenceAfter": "5001",
            "arbiterRunId": "18446744073709551615",
            "detectedNs": "1763950000020000000",
        },
    ),
    (
        "gap_tick_backfillable",
        Gap,
        {
            "messageType": "txf.v1.Tick",
            "code": "TXFK6",
            "startNs": "1",
            "endNs": "2",
            "legsDown": ["a"],
            "backfillable": True,
            "firstSequenceAfter": "1",
        },
    ),
    ("gap_empty", Gap, {}),
    # txf.v1.Bar (txf-bars-1m): a 1-minute bar, prices x10000, VWAP in integers
    (
        "bar_typical",
        Bar,
        {
            "code": "TXFK6",
            "endTimeMs": "1763947860000",
            "open": "234560000",
            "high": "234610000",
            "low": "234500000",
            "close": "234580000",
            "volume": "1234",
            "tickCount": "412",
            "value": "289444120000",
            "vwap": "234557633",
            "firstExchangeTimeUs": "1763947800012345",
            "lastExchangeTimeUs": "1763947859987654",
            "sequence": "1",
            "producerRunId": "18446744073709551615",
            "publishTimeNs": "1763947865001000000",
        },
    ),
    ("bar_empty", Bar, {}),
]


def build() -> dict[str, Any]:
    """Encode every vector; refuse a JSON that does not round-trip canonically."""
    vectors = []
    for name, cls, expected in VECTORS:
        msg = json_format.ParseDict(expected, cls())
        canonical = json_format.MessageToDict(msg)
        if canonical != expected:
            raise ValueError(f"{name}: expected JSON is not canonical: {canonical}")
        vectors.append(
            {
                "name": name,
                "type": cls.DESCRIPTOR.full_name,
                "hex": msg.SerializeToString().hex(),
                "json": expected,
            }
        )
    return {
        "about": "Golden vectors of the txf.v1 contract: protobuf bytes (hex) and their canonical proto3 JSON. "
        "Generated once by tests/vectors/generate.py; every language binding must decode 'hex' to "
        "'json' and re-encode to the same bytes.",
        "vectors": vectors,
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
