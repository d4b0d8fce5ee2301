"""Every record of a topic, start to end, with a plain Kafka client (read committed)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    value: bytes
    timestamp_ms: int


def read_topic(config: dict[str, Any], topic: str, timeout_s: float = 120) -> list[Record]:
    """All records of every partition of `topic`, in partition then offset order."""
    c = Consumer(
        {
            **config,
            "group.id": f"checker-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": False,
        }
    )
    try:
        meta = c.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            raise RuntimeError(f"topic {topic}: {meta.error if meta else 'missing'}")
        ends = {}
        for p in meta.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = (low, high)
        c.assign([TopicPartition(topic, p, low) for p, (low, _h) in ends.items()])
        out: list[Record] = []
        position = {p: low for p, (low, _h) in ends.items()}
        deadline = time.monotonic() + timeout_s
        while any(position[p] < ends[p][1] for p in ends):
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic}: not read to its end within {timeout_s:g} s")
            for m in c.consume(5000, timeout=0.5):
                if m.error() is None:
                    out.append(Record(m.partition(), m.offset(), m.value(), m.timestamp()[1]))
                    position[m.partition()] = m.offset() + 1
        out.sort(key=lambda r: (r.partition, r.offset))
        return out
    finally:
        c.close()


def end_offsets(config: dict[str, Any], topics: list[str]) -> dict[str, int]:
    """The sum of the partitions' high watermarks of each topic."""
    c = Consumer({**config, "group.id": f"checker-{uuid.uuid4().hex}"})
    try:
        out = {}
        for t in topics:
            meta = c.list_topics(t, timeout=10).topics[t]
            out[t] = sum(c.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1] for p in meta.partitions)
        return out
    finally:
        c.close()
