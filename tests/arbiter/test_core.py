"""The arbitration of leg records, record by record (no Kafka): emit, duplicate, dead letter, flags, ledger."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import pytest
from legkit import HEADERS, core, decode, leg_record, market

from txf.v1 import Gap, RecordFlag
from txf_kit.calendar import TAIPEI, taipei_naive_to_ns

TEN = datetime(2026, 11, 24, 10, 0, tzinfo=TAIPEI)  # a Tuesday's day session


def test_the_first_leg_to_deliver_a_quote_writes_it_the_other_copy_is_dropped() -> None:
    c = core()
    quotes = list(itertools.islice(market(TEN), 50))
    out = []
    for i, (kind, q) in enumerate(quotes):
        out += c.take(f"leg-a.txf-{kind}", leg_record(kind, q, run_id=1, sequence=i + 1))
        assert c.take(f"leg-b.txf-{kind}", leg_record(kind, q, run_id=2, sequence=i + 1, receive_ns=1)) == []
    assert len(out) == 50 and c.stats.legs["a"].first_seen == 50 and c.stats.legs["b"].duplicates == 50
    by_topic: dict[str, list[int]] = {}
    for o in out:
        msg = decode(o.topic, o.value)
        assert o.value[:6] == HEADERS[o.topic] and msg.producer_run_id == c.run_id and msg.flags == 0
        assert o.key == msg.code.encode() and o.receive_ns == msg.receive_time_ns != 1  # leg a's arrival
        by_topic.setdefault(o.topic, []).append(msg.sequence)
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_topic.values())  # the stream's own sequence


def test_a_quote_only_the_slower_leg_had_is_written_late_and_flagged() -> None:
    c = core()
    quotes = [q for q in itertools.islice(market(TEN), 40) if q[0] == "bidask"][:3]
    (k1, q1), (k2, q2), (k3, q3) = quotes
    c.take("leg-a.txf-bidask", leg_record(k1, q1, run_id=1, sequence=1))
    c.take("leg-a.txf-bidask", leg_record(k3, q3, run_id=1, sequence=2))  # leg a missed q2
    (late,) = c.take("leg-b.txf-bidask", leg_record(k2, q2, run_id=2, sequence=2))
    msg = decode(late.topic, late.value)
    assert msg.flags == RecordFlag.RECORD_FLAG_LATE and msg.sequence == 3 and c.stats.late == 1


@pytest.mark.parametrize(
    "value, reason",
    [
        (None, "tombstone"),
        (b"\x01garbage", "not a Confluent frame"),
        (b"\x00\x00\x00\x00\x63\x00\x0a\x05TXFK6", "schema id 99 is not one the subject leg-a.txf-bidask-value holds"),
        (b"\x00\x00\x00\x00\x09\x02\x0a\x05TXFK6", "message index byte 2 is not 0"),
        (b"\x00\x00\x00\x00\x09\x00\xff\xff\xff", "payload is not a txf.v1.BidAsk"),
    ],
    ids=["tombstone", "garbage", "foreign-schema", "wrong-type", "bad-payload"],
)
def test_bad_input_on_a_leg_is_dead_lettered_with_its_reason_never_a_crash(value: bytes | None, reason: str) -> None:
    c = core()
    (dlq,) = c.take("leg-a.txf-bidask", value, "leg-a.txf-bidask[0]@42")
    record = json.loads(dlq.value)
    assert dlq.topic == "txf-dlq" and reason in record["reason"] and record["record"] == "leg-a.txf-bidask[0]@42"
    assert record["leg"] == "a" and c.stats.legs["a"].dead_letters == 1 and c.stats.emitted == 0


def test_a_quote_older_than_the_window_is_dead_lettered_not_guessed() -> None:
    c = core(window_s=10.0)
    quotes = [q for q in itertools.islice(market(TEN), 2000) if q[0] == "bidask"]
    first, newer = quotes[0], next(q for q in quotes if (q[1].datetime - quotes[0][1].datetime).total_seconds() > 11)
    c.take("leg-a.txf-bidask", leg_record(*newer, run_id=1, sequence=1))
    (dlq,) = c.take("leg-b.txf-bidask", leg_record(*first, run_id=2, sequence=1))
    assert "beyond the arbiter's window" in json.loads(dlq.value)["reason"] and c.stats.legs["b"].too_late == 1


def test_what_the_canonical_topics_hold_is_not_written_again() -> None:
    """A new active arbiter remembers the canonical tail: leg records read again are copies."""
    first = core()
    quotes = list(itertools.islice(market(TEN), 30))
    written = [
        o
        for i, (k, q) in enumerate(quotes)
        for o in first.take(f"leg-a.txf-{k}", leg_record(k, q, run_id=1, sequence=i + 1))
    ]
    second = core()
    for o in written:
        second.remember(decode(o.topic, o.value))
    for i, (k, q) in enumerate(quotes):
        assert second.take(f"leg-a.txf-{k}", leg_record(k, q, run_id=1, sequence=i + 1)) == []


def test_a_capture_hole_flags_each_streams_next_record_and_goes_to_the_ledger() -> None:
    c = core()
    quotes = list(itertools.islice(market(TEN), 3000))
    t0 = quotes[0][1].datetime
    before = [q for q in quotes if (q[1].datetime - t0).total_seconds() < 5]
    after = [q for q in quotes if (q[1].datetime - t0).total_seconds() >= 15]  # 10 s captured by no leg
    for i, (k, q) in enumerate(before):
        assert all(o.topic != "txf-gaps" for o in c.take(f"leg-a.txf-{k}", leg_record(k, q, run_id=1, sequence=i)))
    outs = [
        o
        for i, (k, q) in enumerate(after)
        for o in c.take(f"leg-b.txf-{k}", leg_record(k, q, run_id=2, sequence=i + 1))
    ]
    ledger = [Gap.FromString(o.value[6:]) for o in outs if o.topic == "txf-gaps"]
    flagged = [
        decode(o.topic, o.value)
        for o in outs
        if o.topic != "txf-gaps" and decode(o.topic, o.value).flags & RecordFlag.RECORD_FLAG_GAP_BEFORE
    ]
    assert sorted(g.message_type for g in ledger) == ["txf.v1.BidAsk", "txf.v1.Tick"]  # one per stream
    assert len(flagged) == 2 and c.stats.holes == 1
    last_before_ns = max(q[1].datetime for q in before)
    for g in ledger:
        assert g.end_ns - g.start_ns >= 10 * 10**9 and g.legs_down == ["a", "b"] and g.arbiter_run_id == c.run_id
        assert g.backfillable == (g.message_type == "txf.v1.Tick")
        flag = next(m for m in flagged if m.DESCRIPTOR.full_name == g.message_type)
        assert flag.gap_start_ns == g.start_ns and flag.sequence == g.first_sequence_after
    assert all(g.start_ns == taipei_naive_to_ns(last_before_ns) for g in ledger)


def test_exact_repeats_are_written_as_often_as_the_fullest_leg_had_them() -> None:
    """The same book twice at one microsecond (content cannot tell the copies apart): each copy once.

    Leg a has both copies, leg b only one, in either order of arrival; a new arbiter that rebuilt from
    the canonical topic writes neither again."""
    kind, q = next(x for x in market(TEN) if x[0] == "bidask")
    for first, second in (("a", "b"), ("b", "a")):
        c = core()
        copies = {"a": 2, "b": 1}
        out = []
        for leg in (first, second):
            for i in range(copies[leg]):
                out += c.take(f"leg-{leg}.txf-bidask", leg_record(kind, q, run_id=ord(leg), sequence=i + 1))
        assert len(out) == 2, (first, second)
        assert [decode(o.topic, o.value).sequence for o in out] == [1, 2]
    rebuilt = core()
    for o in out:
        rebuilt.remember(decode(o.topic, o.value))
    for leg in ("a", "b"):
        for i in range(copies[leg]):
            assert rebuilt.take(f"leg-{leg}.txf-bidask", leg_record(kind, q, run_id=9, sequence=i + 1)) == []


def test_an_exact_repeat_split_by_a_crash_keeps_its_number() -> None:
    """Leg a delivers the same book twice; the arbiter commits after the first copy and crashes. The next
    run remembers the first copy from the canonical topic and restores the leg's repeat counter from the
    commit: the second copy is written as the second, not taken for the first again."""
    kind, q = next(x for x in market(TEN) if x[0] == "bidask")
    first = core()
    (written,) = first.take("leg-a.txf-bidask", leg_record(kind, q, run_id=1, sequence=1))
    committed = json.loads(json.dumps(first.repeat_state("leg-a.txf-bidask")))  # what the commit stores
    after_crash = core()
    after_crash.remember(decode(written.topic, written.value))
    after_crash.restore_repeats("leg-a.txf-bidask", committed)
    (second,) = after_crash.take("leg-a.txf-bidask", leg_record(kind, q, run_id=1, sequence=2))
    assert second.topic == "txf-bidask" and decode(second.topic, second.value).sequence == 1
    without = core()  # the old behaviour: the counter back at zero drops the second copy
    without.remember(decode(written.topic, written.value))
    assert without.take("leg-a.txf-bidask", leg_record(kind, q, run_id=1, sequence=2)) == []


def test_a_hole_running_into_the_close_is_ledgered_at_the_close_by_the_markets_clock_once() -> None:
    c = core()
    close = datetime(2026, 11, 24, 13, 45, tzinfo=TAIPEI)
    quotes = [q for q in itertools.islice(market(datetime(2026, 11, 24, 13, 44, 0, tzinfo=TAIPEI)), 400)]
    before = [q for q in quotes if q[1].datetime < datetime(2026, 11, 24, 13, 44, 20)]
    for i, (k, q) in enumerate(before):
        c.take(f"leg-a.txf-{k}", leg_record(k, q, run_id=1, sequence=i + 1))
    last_ns = taipei_naive_to_ns(max(q[1].datetime for q in before))
    assert c.check_gaps(last_ns + 30 * 10**9) == []  # 13:44:50 by the market's clock: not yet the close
    ledger = [Gap.FromString(o.value[6:]) for o in c.check_gaps(int(close.timestamp()) * 10**9 + 10**9)]
    assert sorted(g.message_type for g in ledger) == ["txf.v1.BidAsk", "txf.v1.Tick"]
    assert all(g.end_ns == int(close.timestamp()) * 10**9 and g.first_sequence_after == 0 for g in ledger)
    assert c.check_gaps(int(close.timestamp()) * 10**9 + 60 * 10**9) == []  # once
    # the next session's first records carry GAP_BEFORE, without a second Gap on the ledger
    night = list(itertools.islice(market(datetime(2026, 11, 24, 15, 0, 0, tzinfo=TAIPEI)), 50))
    outs = [
        o
        for i, (k, q) in enumerate(night)
        for o in c.take(f"leg-a.txf-{k}", leg_record(k, q, run_id=1, sequence=900 + i))
    ]
    assert not any(o.topic == "txf-gaps" for o in outs)
    assert any(decode(o.topic, o.value).flags & RecordFlag.RECORD_FLAG_GAP_BEFORE for o in outs)
    restarted = core()  # a restarted arbiter that read the ledger back does not ledger that hole again
    for k, q in before[-5:]:
        restarted.take(f"leg-a.txf-{k}", leg_record(k, q, run_id=1, sequence=1))
    for g in ledger:
        restarted.remember_gap(g)
    assert restarted.check_gaps(int(close.timestamp()) * 10**9 + 10**9) == []


def test_a_quote_beyond_the_window_is_a_gap_on_the_ledger_too() -> None:
    c = core(window_s=10.0)
    quotes = [q for q in itertools.islice(market(TEN), 2000) if q[0] == "bidask"]
    old = quotes[:3]
    newer = next(q for q in quotes if (q[1].datetime - quotes[0][1].datetime).total_seconds() > 11)
    c.take("leg-a.txf-bidask", leg_record(*newer, run_id=1, sequence=1))
    for i, q in enumerate(old):
        (dlq,) = c.take("leg-b.txf-bidask", leg_record(*q, run_id=2, sequence=i + 1))
        assert dlq.topic == "txf-dlq"
    (gap_out,) = c.check_gaps(0)  # housekeeping ledgers the stretch the leg delivered too late
    gap = Gap.FromString(gap_out.value[6:])
    assert gap.start_ns == taipei_naive_to_ns(old[0][1].datetime) and gap.end_ns == taipei_naive_to_ns(
        old[2][1].datetime
    )
    assert "3 quote(s) of leg b arrived beyond the window" in gap.cause
