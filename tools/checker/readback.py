"""Every record of a topic, start to end, with a plain Kafka client (read committed)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    value: bytes
    timestamp_ms: int


def read_topic(config: dict[str, Any], topic: str, timeout_s: float = 120) -> list[Record]:
    """All records of every partition of `topic`, in partition then offset order (read committed: a
    transactional topic's commit markers take offsets no record has, so the end is the partition's EOF)."""
    c = Consumer(
        {
            **config,
            "group.id": f"checker-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    try:
        meta = c.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            raise RuntimeError(f"topic {topic}: {meta.error if meta else 'missing'}")
        pending = set(meta.partitions)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        out: list[Record] = []
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic}: not read to its end within {timeout_s:g} s")
            for m in c.consume(5000, timeout=0.5):
                err = m.error()
                if err is None:
                    out.append(Record(int(m.partition() or 0), int(m.offset() or 0), m.value(), m.timestamp()[1]))
                elif err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(int(m.partition() or 0))
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
