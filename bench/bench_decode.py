"""Consumer decode benchmark: txf_consumer.wire.FrameDecoder vs confluent-kafka's ProtobufDeserializer.

Per-message cost of framed record value -> txf.v1 message, on the real mix
(86% BidAsk, 14% Tick, REFERENCE.md §2) of realistic, seeded messages framed
exactly as ProtobufSerializer frames them (magic 0, schema id, index [0]):

  ours_us                       FrameDecoder.decode(value) of the topic's decoder (warm:
                                its schema ids already resolved, as after the first record)
  protobuf_deserializer_us      ProtobufDeserializer(Tick/BidAsk, {})(value, ctx) with a
                                SerializationContext built per record, which is how
                                DeserializingConsumer calls it
  protobuf_deserializer_noctx_us  the same deserializer called without a context
  fromstring_floor_us           Tick/BidAsk.FromString(value[6:]) alone: the protobuf parse
                                every variant has to pay

All variants run side by side in each round (order rotated per round) over the
same list of values; each figure is the median over the rounds. Every decoded
message is checked equal (== and deterministic bytes) to ProtobufDeserializer's.
The last line is a JSON object with every figure; exit 1 when the ratio
protobuf_deserializer_us / ours_us is below --min-ratio (default 10).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for p in (REPO / "consumers" / "python", REPO / "gen" / "python"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402
from google.protobuf.message import Message  # noqa: E402

from txf.v1 import BidAsk, Tick  # noqa: E402
from txf_consumer.wire import FrameDecoder, encode_header  # noqa: E402

TOPICS = {"txf-tick": Tick, "txf-bidask": BidAsk}
SCHEMA_IDS = {"txf-tick": 3, "txf-bidask": 4}
RUN_ID = 0x9E3779B97F4A7C15


def make_messages(n: int, seed: int, bidask_share: float = 0.86) -> list[tuple[str, Message]]:
    """A seeded random walk of TXF quotes: (topic, message), 86% BidAsk, per-stream sequences 1, 2, ..."""
    rnd = random.Random(seed)
    price = 23_456 * 10_000
    t_us = 1_763_947_800_000_000
    total_volume = 40_000
    seq = {"txf-tick": 0, "txf-bidask": 0}
    out: list[tuple[str, Message]] = []
    for _ in range(n):
        t_us += rnd.randint(100, 40_000)
        price += rnd.choice((-10_000, 0, 0, 10_000))
        rx_ns = t_us * 1000 + rnd.randint(20_000_000, 180_000_000)
        if rnd.random() < bidask_share:
            seq["txf-bidask"] += 1
            bid = [price - i * 10_000 for i in range(5)]
            ask = [price + (i + 1) * 10_000 for i in range(5)]
            msg: Message = BidAsk(
                code="TXFK6",
                timestamp_ms=t_us // 1000,
                bid_total_vol=rnd.randint(20, 90),
                ask_total_vol=rnd.randint(20, 90),
                bid_price=bid,
                bid_volume=[rnd.randint(1, 20) for _ in bid],
                diff_bid_vol=[rnd.randint(-5, 5) for _ in bid],
                ask_price=ask,
                ask_volume=[rnd.randint(1, 20) for _ in ask],
                diff_ask_vol=[rnd.randint(-5, 5) for _ in ask],
                exchange_time_us=t_us,
                receive_time_ns=rx_ns,
                sequence=seq["txf-bidask"],
                producer_run_id=RUN_ID,
                underlying_price=price - 700_000 + rnd.randint(-5000, 5000),
                first_derived_bid_price=bid[1],
                first_derived_ask_price=ask[1],
                first_derived_bid_vol=rnd.randint(0, 3),
                first_derived_ask_vol=rnd.randint(0, 3),
            )
            out.append(("txf-bidask", msg))
        else:
            seq["txf-tick"] += 1
            vol = rnd.randint(1, 10)
            total_volume += vol
            msg = Tick(
                code="TXFK6",
                timestamp_ms=t_us // 1000,
                close=price,
                volume=vol,
                tick_type=rnd.randint(1, 2),
                total_volume=total_volume,
                underlying_price=price - 700_000,
                exchange_time_us=t_us,
                receive_time_ns=rx_ns,
                sequence=seq["txf-tick"],
                producer_run_id=RUN_ID,
                open=233_000_000,
                high=235_010_000,
                low=232_990_000,
                avg_price=234_012_345,
                amount=price * vol,
                total_amount=96_500_123_450_000 + price * total_volume,
                bid_side_total_vol=total_volume // 2,
                ask_side_total_vol=total_volume - total_volume // 2,
                chg_type=2,
                price_chg=price - 233_300_000,
                pct_chg=5356,
            )
            out.append(("txf-tick", msg))
    return out


def frame(messages: list[tuple[str, Message]]) -> list[tuple[str, bytes]]:
    """(topic, value) exactly as ProtobufSerializer frames them (index [0])."""
    headers = {t: encode_header(sid) for t, sid in SCHEMA_IDS.items()}
    return [(topic, headers[topic] + msg.SerializeToString()) for topic, msg in messages]


# Each variant: (collect, time). `collect()` returns every decoded message, for the
# equality check; `time()` decodes them all and drops each at once, as a consumer
# loop does (keeping 20,000 messages alive would time the allocator, not decoding).

Variant = tuple[Callable[[], list[Message]], Callable[[], None]]


def run_ours(values: list[tuple[str, bytes]]) -> Variant:
    decoders = {t: FrameDecoder(cls) for t, cls in TOPICS.items()}
    calls = [(decoders[t].decode, v) for t, v in values]

    def collect() -> list[Message]:
        return [decode(v)[1] for decode, v in calls]

    def time_it() -> None:
        for decode, v in calls:
            decode(v)

    return collect, time_it


def run_pd(values: list[tuple[str, bytes]], with_ctx: bool) -> Variant:
    deser = {t: ProtobufDeserializer(cls, {}) for t, cls in TOPICS.items()}
    calls = [(deser[t], t, v) for t, v in values]
    value_field = MessageField.VALUE
    if with_ctx:

        def collect() -> list[Message]:
            return [d(v, SerializationContext(t, value_field, None)) for d, t, v in calls]

        def time_it() -> None:
            for d, t, v in calls:
                d(v, SerializationContext(t, value_field, None))
    else:

        def collect() -> list[Message]:
            return [d(v) for d, _t, v in calls]

        def time_it() -> None:
            for d, _t, v in calls:
                d(v)

    return collect, time_it


def run_floor(values: list[tuple[str, bytes]]) -> Variant:
    calls = [(TOPICS[t].FromString, v) for t, v in values]

    def collect() -> list[Message]:
        return [from_string(v[6:]) for from_string, v in calls]

    def time_it() -> None:
        for from_string, v in calls:
            from_string(v[6:])

    return collect, time_it


def check_identical(ours: list[Message], theirs: list[Message]) -> None:
    if len(ours) != len(theirs):
        raise SystemExit(f"result count differs: {len(ours)} vs {len(theirs)}")
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if (
            type(a) is not type(b)
            or a != b
            or a.SerializeToString(deterministic=True) != b.SerializeToString(deterministic=True)
        ):
            raise SystemExit(f"message {i} differs: {a} vs {b}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seed", type=int, default=20260528)
    ap.add_argument(
        "--min-ratio",
        type=float,
        default=10.0,
        help="exit 1 when protobuf_deserializer_us / ours_us is below this (%(default)s)",
    )
    args = ap.parse_args(argv)

    messages = make_messages(args.messages, args.seed)
    values = frame(messages)
    n = len(values)
    variants: dict[str, Variant] = {
        "ours_us": run_ours(values),
        "protobuf_deserializer_us": run_pd(values, with_ctx=True),
        "protobuf_deserializer_noctx_us": run_pd(values, with_ctx=False),
        "fromstring_floor_us": run_floor(values),
    }
    # correctness first (also warms every variant up)
    reference = variants["protobuf_deserializer_noctx_us"][0]()
    for collect, _time_it in variants.values():
        check_identical(collect(), reference)
    check_identical(reference, [m for _t, m in messages])
    del reference

    samples: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            time_it = variants[name][1]
            t0 = time.perf_counter()
            time_it()
            samples[name].append((time.perf_counter() - t0) / n * 1e6)
    med = {k: statistics.median(v) for k, v in samples.items()}

    tick_share = sum(1 for t, _ in values if t == "txf-tick") / n
    sizes = {t: statistics.mean(len(v) for tt, v in values if tt == t) for t in TOPICS}
    print(
        f"decode benchmark: {n} framed messages ({1 - tick_share:.0%} BidAsk ~{sizes['txf-bidask']:.0f} B, "
        f"{tick_share:.0%} Tick ~{sizes['txf-tick']:.0f} B), {args.rounds} rounds, medians; all results identical"
    )
    print(f"{'variant':<34}{'us/message':>12}{'min':>9}{'max':>9}{'vs ours':>9}")
    for k in names:
        print(f"{k:<34}{med[k]:>12.3f}{min(samples[k]):>9.3f}{max(samples[k]):>9.3f}{med[k] / med['ours_us']:>8.2f}x")
    result: dict[str, Any] = {k: round(v, 4) for k, v in med.items()}
    result["ratio"] = round(med["protobuf_deserializer_us"] / med["ours_us"], 2)
    result["ratio_noctx"] = round(med["protobuf_deserializer_noctx_us"] / med["ours_us"], 2)
    result["overhead_over_fromstring_us"] = round(med["ours_us"] - med["fromstring_floor_us"], 4)
    result["messages"] = n
    result["rounds"] = args.rounds
    result["min_ratio"] = args.min_ratio
    ok = result["ratio"] >= args.min_ratio
    if not ok:
        print(
            f"ratio {result['ratio']} < {args.min_ratio}: ProtobufDeserializer costs "
            f"{med['protobuf_deserializer_us']:.2f} us here, and the protobuf parse alone "
            f"{med['fromstring_floor_us']:.2f} us, so the best possible ratio is "
            f"{med['protobuf_deserializer_us'] / med['fromstring_floor_us']:.1f}",
            file=sys.stderr,
        )
    print(json.dumps(result, separators=(",", ":")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
