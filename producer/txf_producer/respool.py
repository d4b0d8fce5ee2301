"""Republishing a spool file without writing a record twice: what the topic holds already is skipped.

A spool holds records Kafka did not take in time (a stop whose flush bound ran out while brokers were
away, a full local queue, a failed delivery). Some of them may nevertheless have been written: a
record purged *in flight* had reached the partition leader, which wrote it, when the producer gave
up waiting for the acknowledgement; once the brokers are back it is committed. Republished blindly,
it would be there twice (6-9 records a run with 2 of 3 brokers down and a SIGTERM). So before
republishing, each quote's identity in its run (producer run id, message, contract, sequence: a
run's sequence never repeats) is looked up in what its topic holds from the oldest spooled record's
receive time on, read back with a plain consumer to a point where no record written before the check
can still appear (`ReadBack`); what is there is skipped and counted. Records that are not quotes
(dead letters) are republished as they are.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource
from google.protobuf.message import DecodeError

from txf.v1 import BidAsk, Tick

Key = tuple[int, str, str, int]  # producer run id, message full name, contract code, sequence
FRAME_LEN = 6  # magic byte, schema id, message index 0
#: how far before the oldest spooled quote's arrival the read-back starts (the broker stamps CreateTime
#: when produce() was called, a few ms after arrival; clocks on one host agree)
MARGIN_MS = 60_000
log = logging.getLogger("txf_producer.respool")
#: the clocks of the hosts writing a topic and of respool agree within this (NTP keeps them within ms)
SKEW_MS = 2_000
#: Kafka's default `replica.lag.time.max.ms`, used when the brokers' own value may not be read
DEFAULT_REPLICA_LAG_MAX_MS = 30_000


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


def already_written(client_config: dict[str, Any], records: Sequence[Spooled], timeout_s: float = 120) -> set[Key]:
    """The identities of `records` their topics already hold (RespoolCheckError if a topic cannot be read,
    or not to a point that settles it within `timeout_s`)."""
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
        return ReadBack(c, topic, lambda leader: _replica_lag_max_ms(client_config, leader)).run(since_ms, timeout_s)
    except KafkaException as exc:
        raise RespoolCheckError(f"{topic}: cannot read it back: {exc}") from None
    finally:
        c.close()


def _replica_lag_max_ms(client_config: dict[str, Any], broker: int) -> int:
    """The leader's `replica.lag.time.max.ms`, or Kafka's default when this principal may not read it."""
    try:
        admin = AdminClient(client_config)
        resource = ConfigResource(ConfigResource.Type.BROKER, str(broker))
        entries = admin.describe_configs([resource], request_timeout=10)[resource].result(timeout=15)
        return int(entries["replica.lag.time.max.ms"].value)
    except Exception:  # noqa: BLE001 - no DESCRIBE_CONFIGS on the cluster, an old broker: the default holds
        return DEFAULT_REPLICA_LAG_MAX_MS


class ReadBack:
    """Read one topic back to a point at which no record written before the check can still appear.

    Reading to the high watermark is not that point while brokers come back: a record the leader wrote
    but its followers had not copied yet (acks=all never came: the producer spooled it) is above the high
    watermark, invisible, and is committed a moment later, once they catch up. Read then, the check would
    miss it, and respool would write it a second time (seen in the nemesis: 11 records after 2 of 3
    brokers were down). A partition is settled when either
    - a record stamped after the check began (plus `SKEW_MS`) has been read: it was appended after
      every record the check is about, and the high watermark has passed it (a live producer, or
      respool run while the leg streams again, settles a partition once the cluster takes its
      records: 24 s in the nemesis, right after two brokers came back); or
    - the leader is alone (one replica: its log end is its high watermark); or
    - every replica is in sync at least `replica.lag.time.max.ms` after the check began (or after the
      last leader change seen): a follower stays in sync only by having fetched to the leader's log end
      within that time, so each holds every record written before the check, the high watermark read
      then covers them, and it is read to.
    """

    def __init__(self, consumer: Any, topic: str, lag_max_ms: Callable[[int], int], clock: Any = time) -> None:
        self.consumer, self.topic, self._lag_max_ms, self._clock = consumer, topic, lag_max_ms, clock
        self.held: set[Key] = set()
        self.position: dict[int, int] = {}
        self.settled: set[int] = set()
        self._target: dict[int, int] = {}  # a high watermark that covers every record written before the check
        self._since_ms: dict[int, int] = {}  # when the current leader was first seen (the check's start at most)
        self._leader: dict[int, int] = {}
        self._lag_ms: int | None = None
        self._last_state: dict[int, str] = {}
        self.check_ms = 0  # when the check began (wall clock, ms): set by run()

    def _now_ms(self) -> int:
        return int(self._clock.time() * 1000)

    def run(self, since_ms: int, timeout_s: float) -> set[Key]:
        c, topic = self.consumer, self.topic
        self.check_ms = self._now_ms()
        partitions = self._partitions(timeout_s)
        starts = c.offsets_for_times([TopicPartition(topic, p, since_ms) for p in partitions], timeout=timeout_s)
        for tp in starts:
            _low, high = c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=timeout_s)
            self.position[tp.partition] = tp.offset if tp.offset >= 0 else high
        c.assign([TopicPartition(topic, p, o) for p, o in self.position.items()])
        log.info("%s: reading back what it holds from offsets %s on, to a settled point", topic, self.position)
        deadline = self._clock.monotonic() + timeout_s
        next_look = 0.0
        while len(self.settled) < len(self.position):
            now = self._clock.monotonic()
            if now > deadline:
                raise RespoolCheckError(self._unsettled(timeout_s))
            if now >= next_look:
                next_look = now + 1.0
                self.look(self._partitions(timeout_s))
            self._settle_by_target()
            if len(self.settled) == len(self.position):
                break
            for m in c.consume(5000, timeout=0.5):
                self.take(m)
        return self.held

    def _partitions(self, timeout_s: float) -> dict[int, Any]:
        meta = self.consumer.list_topics(self.topic, timeout=timeout_s).topics.get(self.topic)
        if meta is None or meta.error is not None:
            code = meta.error.code() if meta is not None and meta.error is not None else None
            if code == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                raise RespoolCheckError(
                    f"{self.topic}: not authorized to read it back; respool checks what the topic holds so it "
                    "never writes a record twice: grant this principal READ on it (its writers' ACLs do), or "
                    "pass --unchecked to republish without the check (duplicates possible)"
                )
            raise RespoolCheckError(f"{self.topic}: cannot read it back ({meta.error if meta else 'no such topic'})")
        return dict(meta.partitions)

    def look(self, partitions: dict[int, Any]) -> None:
        """From the metadata: which partitions have a high watermark to read to (see the class doc)."""
        now_ms = self._now_ms()
        for p, pm in partitions.items():
            if p in self.settled or p in self._target or p not in self.position:
                continue
            leader, replicas, isr = int(pm.leader), set(pm.replicas), set(pm.isrs)
            if self._leader.get(p) != leader:  # a new leader counts its followers in sync from its election
                self._leader[p] = leader
                self._since_ms[p] = max(self.check_ms, now_ms) if p in self._since_ms else self.check_ms
            if leader < 0 or isr != replicas:
                self._last_state[p] = f"leader {leader}, replicas {sorted(replicas)}, in sync {sorted(isr)}"
                continue
            if len(replicas) > 1:
                if self._lag_ms is None:
                    self._lag_ms = self._lag_max_ms(leader)
                if now_ms < self._since_ms[p] + self._lag_ms:
                    self._last_state[p] = f"all {len(replicas)} replicas in sync, not yet for replica.lag.time.max.ms"
                    continue
            self._target[p] = self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)[1]

    def _settle_by_target(self) -> None:
        for p, target in self._target.items():
            if self.position[p] >= target:
                self.settled.add(p)

    def take(self, m: Any) -> None:
        """One record read back: its identity, its partition's position, and whether it settles it."""
        err = m.error()
        if err is not None:
            if err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                raise RespoolCheckError(f"{self.topic}: not authorized to read it back ({err.str()})")
            return
        ident = _identity_of(m.value())
        if ident is not None:
            self.held.add(ident)
        partition, offset = int(m.partition() or 0), int(m.offset() or 0)
        self.position[partition] = max(self.position.get(partition, 0), offset + 1)
        kind, stamp = m.timestamp()
        if kind != TIMESTAMP_NOT_AVAILABLE and stamp >= self.check_ms + SKEW_MS:
            self.settled.add(partition)

    def _unsettled(self, timeout_s: float) -> str:
        left = sorted(set(self.position) - self.settled)
        states = "; ".join(f"[{p}] {self._last_state.get(p, 'not read to its end')}" for p in left)
        return (
            f"{self.topic}: not read back to a settled point within {timeout_s:g} s ({states}): a record the "
            "leader wrote may not be committed yet, and respool would write it twice; once every replica is "
            "back in sync, run respool again (or pass --unchecked: duplicates possible)"
        )


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
