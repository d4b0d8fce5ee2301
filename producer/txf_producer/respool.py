"""Republishing a spool file without writing a record twice: what the topic holds already is skipped.

A spool holds records Kafka did not take in time (a stop whose flush bound ran out while brokers were
away, a full local queue, a failed delivery). Some of them may nevertheless have been written: a
record purged *in flight* had reached the partition leader, which wrote it, when the producer gave
up waiting for the acknowledgement; once the brokers are back it is committed. Republished blindly,
it would be there twice (6-9 records a run with 2 of 3 brokers down and a SIGTERM). So before
republishing, each quote's identity in its run (producer run id, message, contract, sequence: a
run's sequence never repeats) is looked up in what its topic holds from the oldest spooled record's
receive time on, read back with a plain consumer; what is there is skipped and counted. Records that
are not quotes (dead letters) are republished as they are.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from google.protobuf.message import DecodeError

from txf.v1 import BidAsk, Tick

Key = tuple[int, str, str, int]  # producer run id, message full name, contract code, sequence
FRAME_LEN = 6  # magic byte, schema id, message index 0
#: how far before the oldest spooled quote's arrival the read-back starts (the broker stamps CreateTime
#: when produce() was called, a few ms after arrival; clocks on one host agree)
MARGIN_MS = 60_000


class RespoolCheckError(RuntimeError):
    """The topic could not be read back (not authorized, or unreachable): nothing is republished."""


@dataclass(frozen=True)
class Spooled:
    topic: str
    key: bytes | None
    value: bytes | None
    identity: Key | None  # None: not a quote (republished unchecked)
    receive_ns: int


def identify(topic: str, key: bytes | None, value: bytes | None) -> Spooled:
    """A spooled record with its quote identity, when it is a framed Tick or BidAsk."""
    if value is not None and len(value) > FRAME_LEN and value[0] == 0 and value[5] == 0:
        for cls in (BidAsk, Tick):
            try:
                msg = cls.FromString(value[FRAME_LEN:])
            except DecodeError:
                continue
            if msg.sequence and msg.producer_run_id and msg.code:
                ident = (int(msg.producer_run_id), cls.DESCRIPTOR.full_name, str(msg.code), int(msg.sequence))
                return Spooled(topic, key, value, ident, int(msg.receive_time_ns))
    return Spooled(topic, key, value, None, 0)


def _identity_of(value: bytes | None) -> Key | None:
    return identify("", None, value).identity


def already_written(client_config: dict[str, Any], records: Sequence[Spooled], timeout_s: float = 60) -> set[Key]:
    """The identities of `records` their topics already hold (RespoolCheckError if a topic cannot be read)."""
    wanted: dict[str, set[Key]] = {}
    since_ms: dict[str, int] = {}
    for r in records:
        if r.identity is not None:
            wanted.setdefault(r.topic, set()).add(r.identity)
            t = r.receive_ns // 1_000_000 - MARGIN_MS
            since_ms[r.topic] = min(since_ms.get(r.topic, t), t)
    found: set[Key] = set()
    for topic, keys in wanted.items():
        found |= keys & _held(client_config, topic, since_ms[topic], timeout_s)
    return found


def _held(client_config: dict[str, Any], topic: str, since_ms: int, timeout_s: float) -> set[Key]:
    c = Consumer(
        {
            **client_config,
            "group.id": f"txf-respool-{uuid.uuid4().hex}",  # assigned, never joined: no group ACL needed
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": False,
        }
    )
    try:
        meta = c.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or meta.error is not None:
            code = meta.error.code() if meta is not None and meta.error is not None else None
            if code == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                raise RespoolCheckError(
                    f"{topic}: not authorized to read it back; respool checks what the topic holds so it never "
                    "writes a record twice: grant this principal READ on it (its writers' ACLs do), or pass "
                    "--unchecked to republish without the check (duplicates possible)"
                )
            raise RespoolCheckError(f"{topic}: cannot read it back ({meta.error if meta else 'no such topic'})")
        parts = [TopicPartition(topic, p, since_ms) for p in meta.partitions]
        starts = c.offsets_for_times(parts, timeout=timeout_s)
        plan: dict[int, tuple[int, int]] = {}
        for tp in starts:
            _low, high = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=timeout_s)
            start = tp.offset if tp.offset >= 0 else high
            if start < high:
                plan[tp.partition] = (start, high)
        held: set[Key] = set()
        if not plan:
            return held
        c.assign([TopicPartition(topic, p, s) for p, (s, _h) in plan.items()])
        remaining = {p: h for p, (_s, h) in plan.items()}
        deadline = time.monotonic() + timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise RespoolCheckError(f"{topic}: not read back within {timeout_s:g} s")
            for m in c.consume(5000, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                        raise RespoolCheckError(f"{topic}: not authorized to read it back ({err.str()})")
                    continue
                ident = _identity_of(m.value())
                if ident is not None:
                    held.add(ident)
                partition, offset = int(m.partition() or 0), int(m.offset() or 0)
                if offset + 1 >= remaining.get(partition, 0):
                    remaining.pop(partition, None)
        return held
    except KafkaException as exc:
        raise RespoolCheckError(f"{topic}: cannot read it back: {exc}") from None
    finally:
        c.close()


def to_republish(records: Iterable[Spooled], written: set[Key]) -> list[Spooled]:
    """The records to publish again, in spool order: every non-quote and every quote not written yet
    (a quote spooled twice, e.g. by two stops, once)."""
    out, seen = [], set()
    for r in records:
        if r.identity is None:
            out.append(r)
        elif r.identity not in written and r.identity not in seen:
            seen.add(r.identity)
            out.append(r)
    return out
