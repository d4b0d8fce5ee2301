"""`txf-archive bars`: the tick topics -> 1-minute bars on txf-bars-1m, exactly once, in Kafka transactions.

Consume-transform-produce the Kafka way: the published bars and the consumer offsets after the ticks
they consumed are committed in one transaction (`send_offsets_to_transaction`), so a crash either
publishes a batch of bars together with its input position, or neither. The committed offset of a
tick partition is the first tick still in an open bar (so a restart rebuilds the open bars exactly),
and its commit metadata carries, per contract, the right edge of the last published bar (so ticks
re-read for another contract's open bar never publish a bar twice). Readers use
isolation.level=read_committed (the archiver does), so an aborted batch is never seen.

Bars are final by market time, never the wall clock (txf_kit.bars, txf_kit.clock): a bar is
published once the newest exchange time read is past its end by TXF_BARS_GRACE_S, or, when every
tick partition is read to its end, once the feed's clock run on by the wall passes it (a session's
last minute, a quiet one). So a replay of an earlier day, a backlog read after an outage and a live
feed give the same bars, and an empty fetch in the middle of a backlog closes nothing.

Decoding and the schema check are the consumer library's (FrameDecoder + SchemaChecker); the bar
frame header is the producer's (framing.frame_header, the registered txf-bars-1m-value schema).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient

from txf.v1 import Bar, Tick
from txf_archive.metrics import BarMetrics
from txf_archive.settings import ArchiveSettings
from txf_consumer.schemas import RegistryReader, RegistryUnavailableError, SchemaChecker, SchemaMismatchError
from txf_consumer.wire import FrameDecoder, WireFormatError
from txf_kit import refusal
from txf_kit.bars import BarBuilder, OpenBar
from txf_kit.clock import FeedClock
from txf_kit.framing import frame_header, new_serializer
from txf_kit.notify import Notifier
from txf_kit.service import ErrorLatch, ServiceExit

#: how long a transaction is tried again through a broker failover (a controller or coordinator moving
#: takes ~10-20 s) before the service gives up and exits 1 for systemd to restart it
TXN_RETRY_S = 120.0
#: the grants the bar builder runs on (named in its exit-77 line; stack/acls.py grants them)
GRANTS = "READ on the tick topics, WRITE on the bars topic, its group and its transactional id"


class BarService:
    """See the module doc. `run()` blocks until stop(), idle exit or a fatal error."""

    def __init__(
        self, settings: ArchiveSettings, *, idle_exit_s: float = 0.0, log: Callable[[str], None] | None = None
    ) -> None:
        self.settings = settings
        self.topics = settings.tick_topics()
        self.out_topic = settings.bars_topic()
        self.idle_exit_s = idle_exit_s
        self.metrics = BarMetrics()
        self._log = log or logging.getLogger("txf_archive").info
        self._stop = threading.Event()
        checker = SchemaChecker(RegistryReader(settings.registry_settings()))
        self.decoders = {t: FrameDecoder(Tick, checker.resolver(t, Tick)) for t in self.topics}
        self.grace_ns = int(settings.bars_grace_s * 1e9)
        self.builder = BarBuilder(settings.all_holidays(), grace_ns=self.grace_ns)
        self.clock = FeedClock()  # the market's time: exchange times, run on by the wall only when caught up
        self._caught_up_asked = 0.0
        self.run_id = random.getrandbits(64)
        self.sequence: dict[str, int] = {}
        self.consumed: dict[tuple[str, int], int] = {}  # next offset after the last tick handled
        self.summary: dict[str, Any] = {
            "bars": 0,
            "ticks": 0,
            "late": 0,
            "simtrade": 0,
            "malformed": 0,
            "transactions": 0,
        }
        self.notifier = Notifier()  # sd_notify under Type=notify (no-op elsewhere): READY, WATCHDOG, STOPPING
        self.errors = ErrorLatch(settings, GRANTS)  # set by librdkafka's error callback, raised by the loop
        self._assigned_at: float | None = None
        self._in_transaction = False  # begun, not committed or aborted yet (a retried call goes on with it)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> dict[str, Any]:
        s = self.settings
        group = s.topic_prefix + s.bars_group
        consumer = Consumer({**s.consumer_config(s.bars_group, "txf-archive-bars"), "error_cb": self._on_error})
        producer = Producer(
            {
                **s.client_config(),
                "transactional.id": group,
                "client.id": "txf-archive-bars",
                "compression.type": s.compression,
                "linger.ms": 5,
                "error_cb": self._on_error,
                **s.kafka_extra,
            }
        )
        try:
            registry = SchemaRegistryClient(s.registry_config())
            header = frame_header(new_serializer(Bar, registry, s.auto_register_schemas), Bar, self.out_topic)
        except Exception as exc:  # the serializer raises registry and HTTP errors of several kinds
            refused = refusal.registry_login_refused(s, exc)
            if refused is not None:
                raise ServiceExit(refused, refusal.EXIT_CONFIG) from None
            raise ServiceExit(
                f"cannot look up the schema of {self.out_topic}-value in the registry "
                f"{s.registry_url}: {exc} (register the contract: `make register`)"
            ) from None
        self.metrics.serve(s.metrics_host, s.bars_metrics_port)
        try:
            # short metadata asks with the error callback served between them, before init_transactions
            # (which would only time out): a refused login ends the start at once, with its exit code
            self.errors.wait_for_broker(producer, s.startup_deadline_s)
            producer.init_transactions(s.startup_deadline_s)  # fences an older instance of this id
            consumer.subscribe(self.topics, on_assign=self._on_assign)
            self.notifier.ready(f"building 1-minute bars into {self.out_topic}")
            self._loop(consumer, producer, header)
            self.notifier.stopping("stopped")
        except (SchemaMismatchError, RegistryUnavailableError) as exc:
            raise ServiceExit(str(exc)) from exc
        except KafkaException as exc:
            self.errors.raise_if_set()  # the callback's reason (a refused login) names the cause
            raise self.errors.exit_for(exc.args[0]) if exc.args else ServiceExit(str(exc)) from exc
        finally:
            consumer.close()
        return self.summary

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Restore, from the committed offsets' metadata, the last published bar of each contract."""
        for tp in consumer.committed(partitions, timeout=self.settings.startup_deadline_s):
            if tp.metadata:
                for code, end_ns in json.loads(tp.metadata).items():
                    self.builder.published[code] = max(self.builder.published.get(code, -1), int(end_ns))
        consumer.assign(partitions)
        self._assigned_at = time.monotonic()

    def _loop(self, consumer: Consumer, producer: Producer, header: bytes) -> None:
        last_tick = time.monotonic()
        while not self._stop.is_set():
            self.notifier.watchdog()  # each pass: a consume timeout and at most one transaction
            msgs = consumer.consume(num_messages=2000, timeout=0.25)
            self.errors.raise_if_set()
            closed: list[OpenBar] = []
            for m in msgs:
                err = m.error()
                if err is not None:
                    if err.fatal() or refusal.refusal_code(err) is not None:
                        raise self.errors.exit_for(err)
                    continue
                topic, offset = str(m.topic()), int(m.offset() or 0)
                tp = (topic, int(m.partition() or 0))
                self.consumed[tp] = offset + 1
                try:
                    _, tick = self.decoders[topic].decode(m.value())
                except WireFormatError:
                    self.summary["malformed"] += 1  # the archiver keeps it raw; a bar cannot use it
                    continue
                self.summary["ticks"] += 1
                self.clock.observe(tick.exchange_time_us * 1000)
                added = self.builder.add(tick, tp, offset)
                closed.extend(added.closed)
                if added.late:
                    self.summary["late"] += 1
                    self.metrics.late.inc()
                elif added.simtrade:
                    self.summary["simtrade"] += 1
                    self.metrics.simtrade.inc()
            now = time.monotonic()
            if msgs:
                last_tick = now
                self.clock.set_caught_up(False)
            elif now - self._caught_up_asked >= 0.5:
                # Nothing came: only when every partition is read to its end (an empty fetch in the middle
                # of a backlog is not the end) does the market's clock run on with the wall clock, so a
                # minute with no trade after it (a session's last) still becomes final, by market time.
                self._caught_up_asked = now
                self.clock.set_caught_up(self._caught_up(consumer))
                closed.extend(self.builder.close_due(self.clock.now_ns() - self.grace_ns))
            if closed or msgs:
                self._commit(consumer, producer, header, closed)
            if (
                self.idle_exit_s
                and not msgs
                and self._assigned_at is not None
                and now - max(last_tick, self._assigned_at) >= self.idle_exit_s
            ):
                self._commit(consumer, producer, header, [])
                break

    def _caught_up(self, consumer: Consumer) -> bool:
        """Whether every assigned partition is read to its high watermark (asked of the broker)."""
        assignment = consumer.assignment()
        if not assignment:
            return False
        try:
            for tp in consumer.position(assignment):
                low, high = consumer.get_watermark_offsets(tp, timeout=2, cached=False)
                at = tp.offset if tp.offset >= 0 else low  # no position yet: nothing read of it
                if at < high:
                    return False
        except KafkaException:
            return False  # the broker does not say: the clock keeps to event time
        return True

    def _commit(self, consumer: Consumer, producer: Producer, header: bytes, closed: list[OpenBar]) -> None:
        """Publish `closed` and move the input offsets in one transaction (module doc).

        A broker failover makes a transactional call time out or lose its connection (retriable): the
        call is made again; a transaction the broker says must be aborted is aborted and the same bars
        are sent again in a new one (readers never see an aborted batch). Only a fatal error ends the
        service (systemd restarts it, and it goes on from its committed offsets)."""
        now_ns = time.time_ns()
        sequences = dict(self.sequence)
        records = []
        for bar in closed:
            sequences[bar.code] = sequences.get(bar.code, 0) + 1
            msg = bar.to_message(sequences[bar.code], self.run_id, now_ns)
            records.append((bar.code.encode(), header + msg.SerializeToString()))
        metadata = json.dumps(self.builder.published, sort_keys=True)
        offsets = []
        for tp, after in self.consumed.items():
            low = self.builder.low_water(tp)
            offsets.append(TopicPartition(tp[0], tp[1], low if low is not None else after, metadata=metadata))
        deadline = time.monotonic() + TXN_RETRY_S
        while True:
            try:
                self._transaction(consumer, producer, records, offsets)
                break
            except KafkaException as exc:
                err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                if err is None or err.fatal() or time.monotonic() > deadline:
                    raise
                if err.txn_requires_abort():
                    # bounded like every transactional call: librdkafka's default waits for ever, and a
                    # coordinator lost mid-abort left the builder hung, deaf to SIGTERM (the nemesis, seed 2)
                    self._log(f"transaction aborted after a broker failure ({err.str()}): its bars are sent again")
                    self._retrying(lambda: producer.abort_transaction(self.settings.flush_timeout_s), "abort")
                    self._in_transaction = False
                elif not err.retriable():
                    raise
                self._log(f"transaction retried after a broker failure: {err.str()}")
                time.sleep(0.5)
        self.sequence = sequences
        self.summary["bars"] += len(closed)
        self.summary["transactions"] += 1
        self.metrics.published.inc(len(closed))

    def _transaction(
        self,
        consumer: Consumer,
        producer: Producer,
        records: list[tuple[bytes, bytes]],
        offsets: list[TopicPartition],
    ) -> None:
        """One attempt: begin (unless a retried call left one open), produce, offsets, commit."""
        if not self._in_transaction:
            producer.begin_transaction()
            self._in_transaction = True
            for key, value in records:
                producer.produce(self.out_topic, key=key, value=value)
        if offsets:
            self._retrying(
                lambda: producer.send_offsets_to_transaction(
                    offsets, consumer.consumer_group_metadata(), self.settings.flush_timeout_s
                ),
                "send offsets",
            )
        self._retrying(lambda: producer.commit_transaction(self.settings.flush_timeout_s), "commit")
        self._in_transaction = False

    def _retrying(self, call: Callable[[], object], what: str) -> None:
        """`call` again while the broker answers with a retriable error (a failover), up to TXN_RETRY_S."""
        deadline = time.monotonic() + TXN_RETRY_S
        while True:
            try:
                call()
                return
            except KafkaException as exc:
                err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
                if err is None or not err.retriable() or err.fatal() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _on_error(self, err: KafkaError) -> None:
        self.errors.offer(err)
