"""`txf-archive run`: the consumer-group service that writes every record of the topics into Parquet.

Exactly once, under crashes (SIGKILL at any point included):
- the position of each topic-partition comes from the archive's own files (recovery.py), never from
  the group's committed offsets: on every assignment the consumer is moved to it;
- records are buffered raw per topic-partition and written as one *segment* (segments.py) when the
  buffer reaches TXF_ARCHIVE_ROLL_BYTES or its oldest record TXF_ARCHIVE_ROLL_S, at a revocation and
  at a clean stop; the segment is durable (fsync'd files, renamed, directories fsync'd) before the
  offset after it is committed to the group; the commit only serves lag monitoring and other tools;
- a record below the position (already archived) is never buffered, so a re-run over archived
  offsets writes nothing.
Memory is bounded by the roll size plus one fetch.

Built on the consumer library's public pieces: its registry reader and SchemaChecker judge each
writer schema id once (a record whose id is refused is kept as malformed, with the reason), and
`parse_header` reads frames. Its TxfConsumer loop is not used: it commits at-least-once in the
background, and calls Python once per record, which a backlog of millions cannot afford.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition
from google.protobuf.message import Message as ProtoMessage

from txf_archive.columns import MESSAGES, ArchivedType, archived_type
from txf_archive.metrics import ArchiveMetrics
from txf_archive.recovery import ArchiveLock, StandbyStopped, recover
from txf_archive.segments import DaySpan, ParquetOptions, Pending, SegmentWriter, WrittenPart
from txf_consumer.schemas import (
    RegistryReader,
    RegistryUnavailableError,
    SchemaChecker,
    SchemaMismatchError,
    registered_message,
)
from txf_consumer.wire import Resolver
from txf_kit import refusal
from txf_kit.notify import Notifier
from txf_kit.service import ErrorLatch, ServiceExit

#: Bytes a buffered record costs beyond its value (the Message object, its bytes objects, the key):
#: counted against TXF_ARCHIVE_ROLL_BYTES so that the roll size bounds the process's memory.
RECORD_OVERHEAD = 256


#: the grants the archiver runs on (named in its exit-77 line; stack/acls.py grants them)
GRANTS = "READ on every topic with a txf.v1 message and its group"


@dataclass
class ArchiveOptions:
    root: Path
    topics: dict[str, str]  # topic -> txf.v1 message full name
    kafka: dict[str, Any]  # consumer properties (settings.consumer_config)
    day_span: DaySpan  # the calendar's trading_day_span with the holidays
    scaled: dict[str, frozenset[str]] = field(default_factory=dict)  # full name -> x10000 fields
    roll_bytes: int = 64 * 1024 * 1024
    roll_s: float = 30.0
    idle_exit_s: float = 0.0  # stop once nothing came for this long (0: never)
    consume_batch: int = 20_000
    parquet: ParquetOptions = field(default_factory=ParquetOptions)
    wait_for_lock: bool = True
    connect_timeout_s: float = 30.0
    # whom Kafka's refusals name (the settings: broker, principal); None: the broker's own words
    connection: refusal.Connection | None = None


@dataclass
class ArchiveResult:
    records: int = 0  # records read and written (rows + malformed)
    segments: int = 0
    files: int = 0
    bytes: int = 0
    malformed: int = 0
    busy_s: float = 0.0  # first record read -> last record read, plus the final write (no idle waiting)
    last_segment_at: float | None = None
    resumed_at: dict[str, int] = field(default_factory=dict)  # "topic[partition]" -> offset
    stop_reason: str = "stopped"

    def summary(self) -> dict[str, Any]:
        busy = self.busy_s
        return {
            "stopReason": self.stop_reason,
            "records": self.records,
            "segments": self.segments,
            "files": self.files,
            "bytes": self.bytes,
            "malformed": self.malformed,
            "busySeconds": round(busy, 6),
            "recordsPerSecond": round(self.records / busy, 1) if busy > 0 else None,
            "resumedAt": self.resumed_at,
        }


class Archiver:
    """See the module doc. `run()` blocks until stop(), idle exit, or a fatal error."""

    def __init__(
        self,
        options: ArchiveOptions,
        registry: RegistryReader,
        *,
        metrics: ArchiveMetrics | None = None,
        log: Callable[[str], None] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.options = options
        self.metrics = metrics or ArchiveMetrics()
        # sd_notify under Type=notify: READY once subscribed, WATCHDOG from the loop (a frozen writer is
        # killed and restarted by systemd; the files say where the next one resumes), STOPPING at the end
        self.notifier = notifier or Notifier()
        self._log = log or logging.getLogger("txf_archive").info
        self._warn = log or logging.getLogger("txf_archive").warning
        self._stop = threading.Event()
        self._reader = registry
        checker = SchemaChecker(registry)
        self.types: dict[str, ArchivedType] = {}
        resolvers: dict[str, Resolver[ProtoMessage]] = {}
        for topic, name in options.topics.items():
            if name not in MESSAGES:
                raise ServiceExit(f"topic {topic}: txf-archive does not archive {name}")
            cls = MESSAGES[name]
            self.types[topic] = archived_type(cls, options.scaled)
            resolvers[topic] = self._complete_fields(topic, cls, checker.resolver(topic, cls))
        self.writer = SegmentWriter(options.root, self.types, resolvers, options.day_span, options.parquet)
        self.pending: dict[tuple[str, int], Pending] = {}
        self.positions: dict[tuple[str, int], int] = {}
        self.result = ArchiveResult()
        self.errors = ErrorLatch(options.connection, GRANTS)  # librdkafka's callbacks' errors, for the loop
        self._assigned_at: float | None = None  # idle time counts from the first assignment
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="txf-archive-writer")
        self._writing: deque[tuple[Pending, Future[tuple[list[WrittenPart], float]]]] = deque()
        self._warned: set[str] = set()

    def stop(self) -> None:
        """Finish: write what is buffered, commit, leave the group (thread- and signal-safe)."""
        self._stop.set()

    # ------------------------------------------------------------------ schema
    def _complete_fields(
        self, topic: str, cls: type[ProtoMessage], checked: Resolver[ProtoMessage]
    ) -> Resolver[ProtoMessage]:
        """The library's resolver, plus: a writer schema with fields this archive does not know is fatal.

        A consumer may ignore a newer writer's fields; an archive would lose them for good. So the
        archiver stops (nothing past them is committed) and says to upgrade txf-contracts first.
        """

        def resolve(schema_id: int, indexes: tuple[int, ...]) -> type[ProtoMessage]:
            found = checked(schema_id, indexes)
            schema = self._reader.get_schema(schema_id)
            if schema is not None:
                _, registered = registered_message(schema.file, indexes)
                unknown = sorted(f.name for f in registered.field if f.number not in cls.DESCRIPTOR.fields_by_number)
                if unknown:
                    raise ServiceExit(
                        f"topic {topic}: writer schema id {schema_id} has fields {unknown} that this archive's "
                        f"contract does not know; archiving would lose them. Upgrade txf-contracts (and "
                        f"txf-archive) to the contract that has them, then restart: they become new columns"
                    )
            return found

        return resolve

    # ------------------------------------------------------------------ run
    def _standby(self) -> bool:
        """While another archiver holds the directory: ready (as a standby) and alive for systemd; False
        once told to stop."""
        self.notifier.ready(f"standby: {self.options.root} is another archiver's; waiting for its lock")
        self.notifier.watchdog()
        return not self._stop.is_set()

    def run(self) -> ArchiveResult:
        # A backlog creates millions of short-lived objects and no reference cycles: the cyclic
        # collector would only walk them over and over (measured: a third of the time). Collect
        # rarely; what it could free is bounded by the roll size anyway.
        gc.set_threshold(500_000, 20, 100)
        with ExitStack() as held:
            try:
                held.enter_context(
                    ArchiveLock(self.options.root, wait=self.options.wait_for_lock, while_waiting=self._standby)
                )
            except StandbyStopped:
                return self.result  # stopped as a standby: nothing read, nothing written
            recovered = recover(self.options.root)
            if recovered.removed_tmp or recovered.removed_incomplete:
                self._log(
                    f"recovery: removed {len(recovered.removed_tmp)} unfinished file(s) and "
                    f"{len(recovered.removed_incomplete)} part(s) of an incomplete segment"
                )
            self.positions = dict(recovered.positions)
            conf = dict(self.options.kafka)
            conf["error_cb"] = self._on_error
            consumer = Consumer(conf)
            try:
                self._wait_for_broker(consumer)
                consumer.subscribe(
                    list(self.options.topics),
                    on_assign=self._on_assign,
                    on_revoke=self._on_revoke,
                    on_lost=self._on_lost,
                )
                self.notifier.ready(f"archiving {len(self.options.topics)} topics into {self.options.root}")
                self._loop(consumer)
                self.notifier.stopping("writing what was read")
                started = time.monotonic()
                self._flush(consumer, list(self.pending), wait=True)
                self.result.busy_s += time.monotonic() - started
            except (SchemaMismatchError, RegistryUnavailableError) as exc:
                raise ServiceExit(str(exc)) from exc
            except KafkaException as exc:
                raise self.errors.exit_for(exc.args[0]) if exc.args else ServiceExit(str(exc)) from exc
            finally:
                self._executor.shutdown(wait=True)  # a write in flight finishes (never committed)
                try:
                    consumer.close()
                except (KafkaException, RuntimeError) as exc:
                    self._log(f"close: {exc}")
        return self.result

    def _wait_for_broker(self, consumer: Consumer) -> None:
        """The services' start-up wait (txf_kit.service): a refused login ends it at once."""

        def serve(seconds: float) -> None:
            # Nothing is assigned yet: this serves the error callback, and returns the consumer's early
            # errors as messages (the group coordinator is looked up from the start: a group the ACLs deny)
            early = consumer.poll(seconds)
            early_error = early.error() if early is not None else None
            if early_error is not None:
                self._kafka_error(early_error)

        self.errors.wait_for_broker(consumer, self.options.connect_timeout_s, serve)

    def _loop(self, consumer: Consumer) -> None:
        opts = self.options
        pending = self.pending
        result = self.result
        last_record = time.monotonic()
        first_record: float | None = None
        notifier = self.notifier
        while not self._stop.is_set():
            notifier.watchdog()  # each pass takes at most a consume timeout plus one roll's write
            msgs = consumer.consume(num_messages=opts.consume_batch, timeout=0.25)
            self.errors.raise_if_set()
            now = time.monotonic()
            if msgs:
                self._take(msgs, now)
                last_record = time.monotonic()
                first_record = now if first_record is None else first_record
                result.busy_s = last_record - first_record
            self._reap(consumer, block=False)
            due = [tp for tp, p in pending.items() if p.nbytes >= opts.roll_bytes or now - p.since >= opts.roll_s]
            if sum(p.nbytes for p in pending.values()) >= opts.roll_bytes:
                due = list(pending)
            if due:
                self._flush(consumer, due)
            if (
                opts.idle_exit_s
                and not msgs
                and self._assigned_at is not None
                and now - max(last_record, self._assigned_at) >= opts.idle_exit_s
            ):
                result.stop_reason = "idle"
                break

    def _take(self, msgs: list[Message], now: float) -> None:
        """Buffer a fetched batch per topic-partition (runs of one partition at a time, no per-record work)."""
        if any(m.error() is not None for m in msgs):
            for m in msgs:
                err = m.error()
                if err is not None:
                    self._kafka_error(err)
            msgs = [m for m in msgs if m.error() is None]
        pending, positions = self.pending, self.positions
        for tp, run in groupby(msgs, key=_tp_of):
            batch = list(run)
            position = positions.get(tp, 0)
            if _offset(batch[0]) < position:  # already in the archive (a re-delivery after a seek)
                batch = [m for m in batch if _offset(m) >= position]
                if not batch:
                    continue
            p = pending.get(tp)
            if p is None:
                p = pending[tp] = Pending(tp[0], tp[1], since=now)
            p.messages.extend(batch)
            p.nbytes += sum(map(len, batch)) + RECORD_OVERHEAD * len(batch)

    def _flush(self, consumer: Consumer, tps: list[tuple[str, int]], *, wait: bool = False) -> None:
        """Hand the segments of these topic-partitions to the writer thread (`wait`: until all are durable).

        One segment is written while the next is read: writing (zstd, fsync) releases the GIL, so the
        two overlap on two cores. At most one segment waits besides the one being written, so memory
        stays within about twice TXF_ARCHIVE_ROLL_BYTES. Offsets are committed as each becomes durable.
        """
        for tp in tps:
            p = self.pending.pop(tp, None)
            if p is None or not len(p):
                continue
            while len(self._writing) >= 1:
                self._reap(consumer, block=True, count=1)
            self._writing.append((p, self._executor.submit(self._write, p)))
        if wait:
            self._reap(consumer, block=True)

    def _write(self, p: Pending) -> tuple[list[WrittenPart], float]:
        started = time.monotonic()
        parts = self.writer.write(p)
        return parts, time.monotonic() - started

    def _reap(self, consumer: Consumer, *, block: bool, count: int = 0) -> None:
        """Account for and commit the segments the writer finished, in the order they were handed over."""
        commits: list[TopicPartition] = []
        reaped = 0
        while self._writing and (block or self._writing[0][1].done()) and (not count or reaped < count):
            p, future = self._writing.popleft()
            parts, took = future.result()  # a write error is fatal: nothing after it is committed
            reaped += 1
            self.metrics.flush_seconds.observe(took)
            kind = self.types[p.topic].kind
            for part in parts:
                if part.path.parent == self.writer.malformed_dir:
                    self.result.malformed += part.rows
                    self.metrics.malformed.labels(p.topic).inc(part.rows)
                else:
                    self.metrics.rows.labels(kind).inc(part.rows)
                self.metrics.bytes.inc(part.bytes)
                self.result.bytes += part.bytes
            self.metrics.files.inc(len(parts))
            self.metrics.segments.inc()
            self.metrics.last_segment.set_to_current_time()
            self.result.records += len(p)
            self.result.segments += 1
            self.result.files += len(parts)
            self.result.last_segment_at = time.monotonic()
            self.positions[(p.topic, p.partition)] = p.last + 1
            commits.append(TopicPartition(p.topic, p.partition, p.last + 1))
        if not commits:
            return
        try:
            consumer.commit(offsets=commits, asynchronous=False)
        except KafkaException as exc:  # harmless for the archive: its files say where it is
            self._warn_once(
                f"commit after a durable segment failed (the files still say where the archive "
                f"is): {exc.args[0].str() if exc.args else exc}"
            )
        for done in commits:
            try:
                _, high = consumer.get_watermark_offsets(done, cached=True)
                self.metrics.lag.labels(done.topic, str(done.partition)).set(max(0, high - done.offset))
            except KafkaException:
                pass

    # ------------------------------------------------------------------ group callbacks
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start every assigned partition where the archive's files end (the earliest offset if none)."""
        for tp in partitions:
            tp.offset = self.positions.get((tp.topic, tp.partition), OFFSET_BEGINNING)
            self.result.resumed_at[f"{tp.topic}[{tp.partition}]"] = tp.offset
        consumer.assign(partitions)
        self._assigned_at = time.monotonic()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Write what was read of the revoked partitions before another member takes them."""
        self._flush(consumer, [(tp.topic, tp.partition) for tp in partitions], wait=True)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Lost, not revoked: another member may own them already; drop the buffer (the next owner reads it)."""
        for tp in partitions:
            self.pending.pop((tp.topic, tp.partition), None)

    # ------------------------------------------------------------------ errors
    def _on_error(self, err: KafkaError) -> None:
        self.errors.offer(err)

    def _kafka_error(self, err: KafkaError) -> None:
        if err.fatal() or refusal.refusal_code(err) is not None:
            raise self.errors.exit_for(err)
        self._warn_once(f"Kafka: {err.str()}")

    def _warn_once(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            self._warn(text)


def _tp_of(m: Message) -> tuple[str, int]:
    return str(m.topic()), int(m.partition() or 0)


def _offset(m: Message) -> int:
    return int(m.offset() or 0)
