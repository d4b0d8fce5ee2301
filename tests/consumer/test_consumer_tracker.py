"""txf_consumer.tracker: exact loss/duplicate accounting per stream, restarts, and histogram percentiles."""

from __future__ import annotations

import math
import random

import consumerkit  # noqa: F401 - puts consumers/python on sys.path
import pytest
from consumerkit import RUN_ID, bidask, tick
from hypothesis import given, settings
from hypothesis import strategies as st

from txf_consumer.tracker import LogHistogram, SeqEvent, StreamKey, Tracker

TICK, BOOK = "txf.v1.Tick", "txf.v1.BidAsk"


def feed(tracker: Tracker, seqs, run_id=RUN_ID, code="TXFK6", kind=TICK):
    make = tick if kind == TICK else bidask
    return [tracker.observe(kind, make(s, run_id=run_id, code=code), 0)[0] for s in seqs]


def test_in_order_stream_has_no_loss():
    t = Tracker()
    events = feed(t, range(1, 101))
    assert events[0] is SeqEvent.FIRST and set(events[1:]) == {SeqEvent.IN_ORDER}
    s = t.summary()
    assert (s["messages"], s["loss"], s["gaps"], s["duplicates"], s["reordered"]) == (100, 0, 0, 0, 0)
    [stream] = s["streams"]
    assert (stream["firstSequence"], stream["lastSequence"], stream["count"]) == (1, 100, 100)
    assert stream["producerRunId"] == str(RUN_ID)


def test_gaps_are_counted_with_their_sizes_and_late_fills_shrink_the_loss():
    t = Tracker()
    assert feed(t, [1, 2, 5, 6, 10]) == [
        SeqEvent.FIRST,
        SeqEvent.IN_ORDER,
        SeqEvent.GAP,
        SeqEvent.IN_ORDER,
        SeqEvent.GAP,
    ]
    st_ = t.streams[StreamKey(TICK, "TXFK6", RUN_ID)]
    assert (st_.lost, st_.gaps, st_.gap_events, st_.missing) == (5, 2, [(3, 2), (7, 3)], [[3, 4], [7, 9]])
    assert feed(t, [8, 3]) == [SeqEvent.LATE, SeqEvent.LATE]
    assert (st_.lost, st_.reordered, st_.missing) == (3, 2, [[4, 4], [7, 7], [9, 9]])
    assert feed(t, [8]) == [SeqEvent.DUPLICATE]  # filled already: now a duplicate
    s = t.summary()
    assert (s["loss"], s["gaps"], s["duplicates"], s["reordered"]) == (3, 2, 1, 2)
    assert s["streams"][0]["gapSizes"] == [2, 3]


def test_duplicates_are_counted_exactly():
    t = Tracker()
    assert feed(t, [1, 2, 2, 3, 1, 3, 3]) == [
        SeqEvent.FIRST,
        SeqEvent.IN_ORDER,
        SeqEvent.DUPLICATE,
        SeqEvent.IN_ORDER,
        SeqEvent.DUPLICATE,
        SeqEvent.DUPLICATE,
        SeqEvent.DUPLICATE,
    ]
    assert t.summary()["duplicates"] == 4 and t.summary()["loss"] == 0


def test_new_producer_run_is_a_new_stream_and_a_restart():
    t = Tracker()
    feed(t, [1, 2, 3], run_id=111)
    events = feed(t, [1, 2], run_id=222)
    assert events == [SeqEvent.FIRST, SeqEvent.IN_ORDER]
    feed(t, [4], run_id=111)  # a late record of the old run: its own stream, no restart
    feed(t, [1], run_id=333, kind=BOOK)  # first BidAsk stream: not a restart
    s = t.summary()
    assert s["producerRestarts"] == 1 and s["loss"] == 0 and s["duplicates"] == 0
    runs = {(x["type"], x["producerRunId"]): x for x in s["streams"]}
    assert runs[(TICK, "222")]["restartOf"] == "111" and runs[(TICK, "111")]["restartOf"] is None
    assert runs[(TICK, "111")]["lastSequence"] == 4 and runs[(BOOK, "333")]["restartOf"] is None


def test_types_and_codes_are_separate_streams():
    t = Tracker()
    feed(t, [1, 2], code="TXFK6")
    feed(t, [1, 2], code="TXFL6")
    feed(t, [1, 2], kind=BOOK)
    assert len(t.streams) == 3 and t.summary()["loss"] == 0 and t.summary()["byType"] == {TICK: 4, BOOK: 2}


def test_joining_mid_stream_is_not_loss_and_older_numbers_are_late():
    t = Tracker()
    assert feed(t, [500, 501, 499]) == [SeqEvent.FIRST, SeqEvent.IN_ORDER, SeqEvent.LATE]
    assert t.summary()["loss"] == 0 and t.summary()["reordered"] == 1


def test_sequence_zero_is_not_tracked():
    t = Tracker()
    assert feed(t, [0, 0]) == [SeqEvent.UNSEQUENCED] * 2
    assert t.summary()["unsequenced"] == 2 and t.streams == {}


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=120))
def test_counters_equal_a_brute_force_reference(seqs):
    t = Tracker()
    feed(t, seqs)
    first = seqs[0]
    seen: set[int] = set()
    dup = late = 0
    top = first - 1
    for s in seqs:
        if s < first:
            late += 1
        elif s in seen:
            dup += 1
        elif s < top:
            late += 1
        top = max(top, s)
        seen.add(s)
    lost = len(set(range(first, max(s for s in seqs if s >= first) + 1)) - seen)
    s = t.summary()
    assert (s["loss"], s["duplicates"], s["reordered"]) == (lost, dup, late)


def test_latencies_go_to_the_type_histograms():
    t = Tracker()
    m = tick(1)
    now = m.exchange_time_us * 1000 + 123_456_789
    t.observe(TICK, m, now)
    pair = t.latency[TICK]
    assert (pair.exchange.min, pair.exchange.count) == (123_456_789, 1)
    assert pair.producer.min == now - m.receive_time_ns
    t.observe(TICK, tick(2, exchange_time_us=0, receive_time_ns=0), now)  # unset times are not latencies
    assert pair.exchange.count == 1 and pair.producer.count == 1


@given(st.integers(0, 2**64 - 1))
def test_bucket_bounds_hold_the_value(v):
    low, high = LogHistogram.bucket_bounds(LogHistogram.bucket_of(v))
    assert low <= v <= high
    assert high - low <= max(0, low) / 128


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_within_bucket_precision_of_the_sorted_reference(seed):
    rnd = random.Random(seed)
    n = rnd.choice([1, 7, 1000, 50_000])
    values = [int(rnd.lognormvariate(17.5, 1.2)) for _ in range(n)]  # ~40 ms median, in ns
    values += [rnd.randint(0, 300) for _ in range(n // 50)]  # a few exact small values
    h = LogHistogram()
    for v in values:
        h.record(v)
    ref = sorted(values)
    for p in (50, 90, 99, 99.9, 100):
        want = ref[max(1, math.ceil(p / 100 * len(ref))) - 1]
        got = h.percentile(p)
        assert abs(got - want) <= want / 256 + 1, (p, got, want)
    assert (h.min, h.max, h.count) == (ref[0], ref[-1], len(ref))


def test_negative_latencies_are_counted_apart():
    h = LogHistogram()
    for v in (-5_000_000, 10, 20):
        h.record(v)
    assert (h.negative, h.min, h.max, h.count) == (1, -5_000_000, 20, 3)
    assert h.percentile(1) == 0 and h.percentile(100) == 20
    assert h.summary_ms()["negative"] == 1


def test_histogram_memory_is_fixed():
    h = LogHistogram()
    size = len(h.counts)
    for v in range(0, 2**63, 2**55):
        h.record(v)
    assert len(h.counts) == size == 7424


def test_merge_equals_recording_everything_once():
    a, b, both = LogHistogram(), LogHistogram(), LogHistogram()
    rnd = random.Random(3)
    for i in range(2000):
        v = rnd.randint(-10, 10**9)
        (a if i % 2 else b).record(v)
        both.record(v)
    a.merge(b)
    assert a.counts == both.counts and (a.count, a.min, a.max, a.negative) == (
        both.count,
        both.min,
        both.max,
        both.negative,
    )


def test_a_bar_stream_is_tracked_for_loss_without_quote_times():
    """txf.v1.Bar has a sequence and a run id but neither exchange_time_us nor receive_time_ns: its
    observer tracks the stream and records no latency instead of failing on the missing fields."""
    from txf.v1 import bar_pb2

    t = Tracker()
    observe = t.observer("txf.v1.Bar", bar_pb2.Bar.DESCRIPTOR.fields_by_name)
    bars = [bar_pb2.Bar(code="TXFK6", sequence=s, producer_run_id=RUN_ID, end_time_ms=60_000 * s) for s in (1, 2, 4)]
    assert [observe(b, 10**18)[0] for b in bars] == [SeqEvent.FIRST, SeqEvent.IN_ORDER, SeqEvent.GAP]
    s = t.summary()
    assert (s["messages"], s["loss"], s["latencyMs"]["txf.v1.Bar"]["exchangeToConsumer"]["count"]) == (3, 1, 0)
