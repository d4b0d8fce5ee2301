"""respool's read-back reads to a point no record written before the check can still appear after.

Unit tests on a scripted consumer (the broker's side: metadata, high watermark, records) and a
scripted clock; the cluster test (tests/cluster/test_respool_settles.py) stages the real case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TopicPartition

from txf.v1 import Tick
from txf_producer.respool import SKEW_MS, ReadBack, RespoolCheckError

TOPIC = "leg-a.txf-tick"
LAG_MS = 30_000


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def time(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t


@dataclass
class PM:
    leader: int
    replicas: list[int]
    isrs: list[int]


@dataclass
class Msg:
    offset_: int
    value_: bytes
    stamp_ms: int

    def error(self) -> None:
        return None

    def value(self) -> bytes:
        return self.value_

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.offset_

    def timestamp(self) -> tuple[int, int]:
        return TIMESTAMP_CREATE_TIME, self.stamp_ms


def framed(seq: int, run: int = 7) -> bytes:
    return b"\x00\x00\x00\x00\x01\x00" + Tick(code="TXFL6", sequence=seq, producer_run_id=run).SerializeToString()


@dataclass
class Broker:
    """One partition: the leader's log, its high watermark, and who is in sync (changed by the script)."""

    clock: Clock
    log: list[Msg] = field(default_factory=list)
    hw: int = 0
    state: PM = field(default_factory=lambda: PM(1, [1, 2, 3], [1, 2, 3]))
    script: dict[float, Any] = field(default_factory=dict)  # at clock time: a change
    position: int = 0

    def list_topics(self, topic: str, timeout: float) -> Any:
        meta = type("T", (), {"partitions": {0: self.state}, "error": None})()
        return type("M", (), {"topics": {TOPIC: meta}})()

    def offsets_for_times(self, parts: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, 0, 0 if self.log else -1)]

    def get_watermark_offsets(self, tp: TopicPartition, timeout: float) -> tuple[int, int]:
        return 0, self.hw

    def assign(self, parts: list[TopicPartition]) -> None:
        self.position = parts[0].offset

    def consume(self, n: int, timeout: float) -> list[Msg]:
        self.clock.t += timeout
        for at in sorted(k for k in self.script if k <= self.clock.t):
            self.script.pop(at)(self)
        out = self.log[self.position : self.hw]
        self.position += len(out)
        return out


def readback(broker: Broker) -> ReadBack:
    return ReadBack(broker, TOPIC, lambda leader: LAG_MS, clock=broker.clock)


def test_a_record_committed_after_the_check_began_is_found() -> None:
    """The defect: sequence 3 is on the leader, above the high watermark while followers catch up."""
    clock = Clock()
    now_ms = int(clock.t * 1000)
    b = Broker(clock, [Msg(i, framed(i + 1), now_ms - 5_000) for i in range(3)], hw=2)

    def caught_up(br: Broker) -> None:
        br.hw = 3

    b.script[clock.t + 5] = caught_up  # followers in sync throughout, the record committed 5 s in
    rb = readback(b)
    held = rb.run(since_ms=0, timeout_s=120)
    assert (7, "txf.v1.Tick", "TXFL6", 3) in held
    assert clock.t - 1_800_000_000.0 >= LAG_MS / 1000  # it waited out replica.lag.time.max.ms


def test_a_leader_alone_is_read_to_its_high_watermark_at_once() -> None:
    """One replica: its log end is its high watermark, nothing can be above it."""
    clock = Clock()
    b = Broker(clock, [Msg(i, framed(i + 1), 0) for i in range(3)], hw=2, state=PM(1, [1], [1]))
    held = readback(b).run(since_ms=0, timeout_s=120)
    assert {k[3] for k in held} == {1, 2}
    assert clock.t - 1_800_000_000.0 < 2  # one replica: its log end is its high watermark, no wait


def test_a_record_stamped_after_the_check_settles_the_partition_at_once() -> None:
    clock = Clock()
    now_ms = int(clock.t * 1000)
    b = Broker(clock, [Msg(0, framed(1), now_ms - 5_000), Msg(1, framed(1, run=8), now_ms + SKEW_MS + 500)], hw=1)

    def live(br: Broker) -> None:
        br.hw = 2

    b.script[clock.t + 2] = live
    held = readback(b).run(since_ms=0, timeout_s=120)
    assert (7, "txf.v1.Tick", "TXFL6", 1) in held
    assert clock.t - 1_800_000_000.0 < 5


def test_a_leader_change_restarts_the_wait() -> None:
    """A new leader counts its followers in sync from its election: the wait runs from then."""
    clock = Clock()
    start = clock.t
    b = Broker(clock, [Msg(0, framed(1), 0)], hw=1)

    def elected(br: Broker) -> None:
        br.state = PM(2, [1, 2, 3], [1, 2, 3])

    b.script[clock.t + 20] = elected
    readback(b).run(since_ms=0, timeout_s=120)
    assert clock.t - start >= 20 + LAG_MS / 1000


def test_replicas_not_back_in_sync_refuse_the_check_with_what_to_do() -> None:
    clock = Clock()
    b = Broker(clock, [Msg(0, framed(1), 0)], hw=1, state=PM(1, [1, 2, 3], [1]))
    with pytest.raises(RespoolCheckError) as err:
        readback(b).run(since_ms=0, timeout_s=40)
    text = str(err.value)
    assert "in sync [1]" in text and "run respool again" in text and "--unchecked" in text
