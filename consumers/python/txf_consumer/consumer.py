"""The consumer loop: Kafka -> frame decode -> schema check (once per id) -> tracker -> strategy.

Latency: the loop first takes, without waiting, everything librdkafka already
holds (up to `poll_batch` records: large batches while catching up from a
backlog); only when that is nothing does it block, and then for the *first*
record to arrive (`consume(num_messages=1, timeout)`), which it hands over at
once. A blocking `consume(num_messages=500, timeout=0.25)` would wait for 500
records or the timeout: at the real peak (353 msgs/s) every record waited for
the timeout, p50 ~129 ms (measured). Each record is stamped just before the
tracker and the handler see it (`RecordMeta.receive_time_ns`).

Catch-up: librdkafka stops fetching a partition whose local queue holds more
than `queued.min.messages` records and, by default, waits 1 s
(`fetch.queue.backoff.ms`) before it looks again; a loop faster than 100,000
records a second then idles most of that second (measured: 147,000 records/s
with the default, 740,000 with 20 ms, the decode alone). The default here is
20 ms; while caught up the queue stays far below the threshold and the setting
does nothing.

Offsets: auto-commit of *stored* offsets (`enable.auto.offset.store=false`); an
offset is stored after its record was handled (decoded and given to the
handler, or reported as malformed), once per poll batch. So commits go on in
the background as records are handled (every COMMIT_INTERVAL_MS), nothing is
committed before its handler ran (at-least-once), and `close()` commits the
last stored offsets. The duplicates a reader can see are bounded by that: when a
member dies, or its group coordinator does, the records it handled since its last
successful commit are handed again (to the partitions' next owner, or to it once
a coordinator answers again).

Group: a dead member's partitions move to the others within the 10 s session
timeout; joins and leaves rebalance incrementally (cooperative-sticky), so the
members that keep their partitions never stop.

Errors: a record that is not a readable frame is reported (topic, partition,
offset, reason) and counted, then skipped. Fatal, with a one-line reason
(`FatalConsumerError`): the broker unreachable past the deadline, a refused
schema id (`SchemaMismatchError`), a registry that does not answer, a Kafka
fatal or authorization error, an exception raised by the handler. Its
`exit_code` tells a service manager whether a restart can help: 78 for
credentials the broker or the registry rejected, 77 for a principal the ACLs
do not allow to read the topic or use the group (neither changes by itself:
systemd's RestartPreventExitStatus=77 78), 1 otherwise.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from google.protobuf.message import Message

import txf.v1
from txf_consumer import topicmap
from txf_consumer.handler import TIMESTAMP_TYPES, BaseHandler, QuoteHandler, RecordMeta
from txf_consumer.schemas import (
    RegistryReader,
    RegistryRefusedError,
    RegistryUnavailableError,
    SchemaChecker,
    SchemaMismatchError,
)
from txf_consumer.settings import RegistrySettings
from txf_consumer.staleness import Staleness
from txf_consumer.tracker import SeqEvent, StreamState, Tracker
from txf_consumer.wire import FrameDecoder, WireFormatError
from txf_kit.metadata import wait_for_metadata

# the kit's one table of Kafka refusals and exit codes, re-exported for the library's users
from txf_kit.refusal import EXIT_CONFIG as EXIT_CONFIG
from txf_kit.refusal import EXIT_FATAL as EXIT_FATAL
from txf_kit.refusal import EXIT_NOT_AUTHORIZED as EXIT_NOT_AUTHORIZED
from txf_kit.refusal import refusal_code as refusal_code

#: Message types a topic can carry, by full name: every message of the installed contract.
MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.DESCRIPTOR.full_name: cls
    for cls in (getattr(txf.v1, name) for name in txf.v1.__all__)
    if isinstance(cls, type) and issubclass(cls, Message)
}
#: The topic map's topics and their types (generated from subjects.toml by `make gen`).
DEFAULT_TOPIC_TYPES: dict[str, str] = dict(topicmap.TOPIC_MESSAGES)
DEFAULT_TOPICS = topicmap.DEFAULT_TOPICS
DEFAULT_GROUP = "txf-python-consumer"
#: librdkafka's wait before fetching again for a partition whose local queue is full (default 1000 ms,
#: which halves catch-up throughput; see the module doc).
FETCH_QUEUE_BACKOFF_MS = 20
#: how often the stored offsets are committed: after a crash or a lost group coordinator, what a member
#: handled in the last interval (plus what it handled while no coordinator answered) is handed over again
COMMIT_INTERVAL_MS = 1_000


def _handler_method(handler: Any, cls: type[Message]) -> Callable[[Any, RecordMeta], None]:
    """The handler's own on_<name> for `cls`, else its on_message, else its on_<name> default, else a no-op."""
    name = f"on_{cls.DESCRIPTOR.name.lower()}"
    specific: Callable[[Any, RecordMeta], None] | None = getattr(handler, name, None)
    inherited_default = getattr(type(handler), name, None) is getattr(BaseHandler, name, object())
    if specific is not None and not inherited_default:
        return specific
    general: Callable[[Any, RecordMeta], None] | None = getattr(handler, "on_message", None)
    return general or specific or _skip


def _skip(_msg: Any, _meta: RecordMeta) -> None:
    """The handler has no method for this message type."""


def _untracked(_msg: Any, _now_ns: int) -> tuple[None, None]:
    """A message without a sequence (a Gap ledger record): nothing to track."""
    return None, None


def default_type_for(topic: str) -> str | None:
    """The type of a well-known topic, also under a prefix (`prod.txf-tick`, `x-txf-bidask`)."""
    for name, type_name in DEFAULT_TOPIC_TYPES.items():
        if topic == name or any(topic.endswith(sep + name) for sep in ".-_"):
            return type_name
    return None


class FatalConsumerError(RuntimeError):
    """The consumer cannot go on; str() is a one-line reason, `exit_code` 1, 77 (not authorized) or 78
    (credentials rejected, settings wrong)."""

    def __init__(self, reason: str, exit_code: int = EXIT_FATAL) -> None:
        super().__init__(reason)
        self.exit_code = exit_code


class MalformedRecord(NamedTuple):
    """A record that could not be decoded, as reported."""

    topic: str
    partition: int
    offset: int
    reason: str


@dataclass
class ConsumerOptions:
    """Everything the loop needs. `max_messages`/`idle_exit_ms` 0 mean no limit."""

    topics: list[str]
    types: dict[str, type[Message]]  # topic -> message class
    bootstrap: str = "127.0.0.1:19092"
    group: str = DEFAULT_GROUP
    from_beginning: bool = False
    max_messages: int = 0  # stop after this many decoded messages
    idle_exit_ms: int = 0  # stop after this long without any record
    registry: RegistrySettings | None = None  # None: trust schema ids (no check)
    kafka_properties: dict[str, Any] = field(default_factory=dict)
    # TLS/SASL properties (settings.kafka_security()); kept out of repr: it holds the password
    security: dict[str, str] = field(default_factory=dict, repr=False)
    connect_timeout_s: float = 30.0  # broker unreachable this long = fatal
    poll_batch: int = 500  # most records taken at once (only ever waits for one)
    poll_interval_s: float = 0.25  # longest wait for the next record (heartbeat rate)

    def kafka_config(self, error_cb: Callable[[KafkaError], None] | None = None) -> dict[str, Any]:
        """librdkafka consumer properties; `kafka_properties` override the defaults."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "group.id": self.group,
            "client.id": "txf-consume",
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,
            "auto.commit.interval.ms": COMMIT_INTERVAL_MS,
            # a dead or restarted member's partitions go to the others within ~10 s (librdkafka's 45 s
            # default handed them over after 46-53 s, printing their records again meanwhile), and a
            # member that joins or leaves moves only the partitions that change hands (incremental
            # cooperative rebalancing: the others keep consuming; eager rebalancing froze all ~30 s)
            "session.timeout.ms": 10_000,
            "heartbeat.interval.ms": 2_000,
            "partition.assignment.strategy": "cooperative-sticky",
            # back within a second of the brokers' return (the 10 s reconnect backoff left a consumer at
            # 0 msg/s for 30 s after the cluster was in sync again)
            "reconnect.backoff.ms": 100,
            "reconnect.backoff.max.ms": 1_000,
            "auto.offset.reset": "earliest" if self.from_beginning else "latest",
            "enable.partition.eof": False,
            "fetch.queue.backoff.ms": FETCH_QUEUE_BACKOFF_MS,
        }
        if error_cb is not None:
            conf["error_cb"] = error_cb
        conf.update(self.security)
        conf.update(self.kafka_properties)
        return conf


@dataclass
class RunResult:
    """How a run ended and what it saw."""

    stop_reason: str  # "max-messages", "idle", "stopped"
    records: int  # records polled (decoded + malformed)
    messages: int  # decoded and handed to the handler
    malformed: int
    tracker: Tracker
    schema_ids: dict[str, list[int]]  # topic -> schema ids seen

    def summary(self) -> dict[str, Any]:
        """JSON-ready: the tracker's summary plus record counts and the stop reason."""
        return {
            "stopReason": self.stop_reason,
            "records": self.records,
            "malformed": self.malformed,
            "schemaIds": self.schema_ids,
            **self.tracker.summary(),
        }


def report_malformed(rec: MalformedRecord) -> None:
    """Default malformed-record report: one line on stderr."""
    print(
        f"txf-consume: malformed record {rec.topic}[{rec.partition}]@{rec.offset}: {rec.reason}",
        file=sys.stderr,
        flush=True,
    )


SeqCallback = Callable[[SeqEvent, StreamState, RecordMeta, int], None]
#: What the loop does with a record of one topic: decode, its type name, tracker entry, handler method.
Route = tuple[
    Callable[[bytes | None], tuple[int, Any]],
    str,
    Callable[[Any, int], tuple[SeqEvent | None, StreamState | None]],
    Callable[[Any, RecordMeta], None],
]


class TxfConsumer:
    """Consume txf.v1 topics into a QuoteHandler until a stop condition; see the module doc."""

    def __init__(
        self,
        options: ConsumerOptions,
        handler: QuoteHandler,
        *,
        tracker: Tracker | None = None,
        on_malformed: Callable[[MalformedRecord], None] = report_malformed,
        on_sequence_event: SeqCallback | None = None,
        on_warning: Callable[[str], None] | None = None,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        missing = [t for t in options.topics if t not in options.types]
        if missing:
            raise ValueError(f"no message type for topic(s) {', '.join(missing)}")
        unknown = sorted({c.DESCRIPTOR.full_name for c in options.types.values()} - set(MESSAGE_TYPES))
        if unknown:
            raise ValueError(
                f"no handler method for message type(s) {', '.join(unknown)}: known {', '.join(sorted(MESSAGE_TYPES))}"
            )
        self.options = options
        self.handler = handler
        self.tracker = tracker if tracker is not None else Tracker()
        self.checker = SchemaChecker(RegistryReader(options.registry)) if options.registry else None
        self.decoders: dict[str, FrameDecoder[Any]] = {
            t: FrameDecoder(options.types[t], self.checker.resolver(t, options.types[t]) if self.checker else None)
            for t in options.topics
        }
        self._on_malformed = on_malformed
        self._on_seq = on_sequence_event
        self._warn = on_warning or (lambda m: print(f"txf-consume: {m}", file=sys.stderr, flush=True))
        self._heartbeat = heartbeat
        self._stop = threading.Event()
        self._brokers_down_since: float | None = None
        self._fatal: FatalConsumerError | None = None
        self._warned: set[str] = set()
        #: is the feed stale (a session open, nothing for longer than the market's plausible quiet)?
        self.staleness = Staleness()
        self._stale_reported = False

    def stop(self) -> None:
        """Ask the loop to finish after the current record (thread- and signal-safe)."""
        self._stop.set()

    def _on_error(self, err: KafkaError) -> None:
        """librdkafka's error_cb (runs inside poll): remember what the loop must act on."""
        if self._fatal is not None:
            return
        refused = self._refusal(err)
        if refused is not None:
            self._fatal = refused
        elif err.fatal():
            self._fatal = FatalConsumerError(f"fatal Kafka error: {err.str()}")
        elif err.code() == KafkaError._ALL_BROKERS_DOWN:
            if self._brokers_down_since is None:
                self._brokers_down_since = time.monotonic()

    def run(self, stop: threading.Event | None = None) -> RunResult:
        """Run until max messages, idle timeout, `stop()`/`stop` event; raise FatalConsumerError otherwise."""
        if stop is not None:
            self._stop = stop
        opts = self.options
        consumer = Consumer(opts.kafka_config(self._on_error))
        try:
            self._wait_for_broker(consumer)
            consumer.subscribe(list(opts.topics))
            return self._loop(consumer)
        except RegistryRefusedError as exc:
            raise FatalConsumerError(str(exc), EXIT_CONFIG) from exc
        except (SchemaMismatchError, RegistryUnavailableError) as exc:
            raise FatalConsumerError(str(exc)) from exc
        except KafkaException as exc:
            raise FatalConsumerError(f"Kafka error: {exc.args[0].str() if exc.args else exc}") from exc
        finally:
            try:
                consumer.close()  # commits the stored offsets, leaves the group
            except (KafkaException, RuntimeError) as exc:
                self._warn(f"close: {exc}")

    def _wait_for_broker(self, consumer: Consumer) -> None:
        """The kit's start-up wait (short metadata requests serving error_cb between them; nothing is
        assigned yet, so poll() returns no record, only errors: the group coordinator is looked up from
        the start): a rejected login or a denied group ends the wait within a second."""

        def serve(seconds: float) -> None:
            early = consumer.poll(seconds)
            early_error = early.error() if early is not None else None
            if early_error is not None:
                self._kafka_error(early_error)

        def refused() -> None:
            if self._fatal is not None:
                raise self._fatal

        try:
            md = wait_for_metadata(consumer, self.options.connect_timeout_s, refused, serve)
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            verdict = self._refusal(error) if error is not None else None
            if verdict is not None:
                raise verdict from None
            raise FatalConsumerError(
                f"Kafka broker {self.options.bootstrap} unreachable within "
                f"{self.options.connect_timeout_s:g} s: {error.str() if error is not None else exc}"
            ) from None
        for t in self.options.topics:
            if t not in md.topics:
                self._warn(f"topic {t} does not exist (yet); waiting for it")
        self._brokers_down_since = None

    def _loop(self, consumer: Consumer) -> RunResult:
        opts = self.options
        routes = self._routes()
        schema_ids: dict[str, list[int]] = {t: [] for t in opts.topics}
        quiet_events = (SeqEvent.IN_ORDER, SeqEvent.UNSEQUENCED)
        on_seq = self._on_seq
        max_messages = opts.max_messages
        batch_size = opts.poll_batch
        idle_s = opts.idle_exit_ms / 1000.0
        consume = consumer.consume
        time_ns = time.time_ns
        new_meta = tuple.__new__  # RecordMeta(...) without NamedTuple's Python-level __new__: 0.1 us, not 0.25
        records = messages = malformed = 0
        last_record = time.monotonic()
        stop_reason = "stopped"

        while not self._stop.is_set():
            # what has arrived already, without waiting (a large batch when behind) ...
            batch = consume(num_messages=batch_size, timeout=0)
            if not batch:
                # ... else the next record as soon as it arrives, never a batch's worth
                wait = opts.poll_interval_s
                if idle_s:
                    wait = max(0.0, min(wait, last_record + idle_s - time.monotonic()))
                batch = consume(num_messages=1, timeout=wait)
            if self._fatal is not None:
                raise self._fatal
            if not batch:
                self._check_brokers(consumer)
                self._check_stale()
                if self._heartbeat is not None:
                    self._heartbeat()
                if idle_s and time.monotonic() - last_record >= idle_s:
                    stop_reason = "idle"
                    break
                continue
            self._brokers_down_since = None
            records_before = records
            # offsets of handled records (decoded and handed over, or reported malformed); stored
            # even when the batch ends in an exception, never including the record that raised
            stored: dict[tuple[str, int], int] = {}
            done = False
            try:
                for m in batch:
                    err = m.error()
                    if err is not None:
                        self._kafka_error(err)
                        continue
                    records += 1
                    # a record without an error always has its topic, partition and offset
                    topic: str = m.topic()  # type: ignore[assignment]
                    partition: int = m.partition()  # type: ignore[assignment]
                    offset: int = m.offset()  # type: ignore[assignment]
                    decode, type_name, observe, handle = routes[topic]
                    try:
                        schema_id, msg = decode(m.value())
                    except WireFormatError as exc:
                        malformed += 1
                        self._on_malformed(MalformedRecord(topic, partition, offset, str(exc)))
                        stored[(topic, partition)] = offset
                        continue
                    ids = schema_ids[topic]
                    if schema_id not in ids:
                        ids.append(schema_id)
                    ts_type, ts = m.timestamp()
                    now_ns = time_ns()
                    meta: RecordMeta = new_meta(
                        RecordMeta,
                        (
                            topic,
                            partition,
                            offset,
                            schema_id,
                            type_name,
                            m.key(),
                            ts if ts_type else None,
                            TIMESTAMP_TYPES.get(ts_type, "none"),
                            now_ns,
                        ),
                    )
                    event, state = observe(msg, now_ns)
                    if on_seq is not None and event not in quiet_events and event is not None and state is not None:
                        on_seq(event, state, meta, msg.sequence)
                    try:
                        handle(msg, meta)
                    except Exception as exc:
                        raise FatalConsumerError(
                            f"handler failed on {topic}[{partition}]@{offset}: {type(exc).__name__}: {exc}"
                        ) from exc
                    stored[(topic, partition)] = offset
                    messages += 1
                    if max_messages and messages >= max_messages:
                        stop_reason = "max-messages"
                        done = True
                        break
            finally:
                # what the handler buffered (the CLI's JSON lines) is out before the offsets that let a
                # restart skip those records are stored: a SIGKILL in between repeats lines, never loses them
                if self._heartbeat is not None:
                    self._heartbeat()
                self._store(consumer, stored)
            if records != records_before:
                last_record = time.monotonic()
                if self.tracker.newest_exchange_us:
                    self.staleness.observe(self.tracker.newest_exchange_us * 1000)
                    if self._stale_reported:
                        self._stale_reported = False
                        self._warn("the feed is back: records arrive again")
            if done:
                break
        return RunResult(stop_reason, records, messages, malformed, self.tracker, schema_ids)

    def _routes(self) -> dict[str, Route]:
        """Per topic, resolved once: its decoder, type name, tracker entry and handler method.

        A message goes to the handler's own `on_<name>` (on_tick, on_bidask, on_gap, ...), else to its
        `on_message` (every type, e.g. the JSON-lines writer), else it is skipped. Only messages with a
        `sequence` (quotes, bars) are tracked for loss.
        """
        routes: dict[str, Route] = {}
        for topic, cls in self.options.types.items():
            if topic not in self.decoders:
                continue
            type_name = cls.DESCRIPTOR.full_name
            handle = _handler_method(self.handler, cls)
            fields = cls.DESCRIPTOR.fields_by_name
            observe = self.tracker.observer(type_name, fields) if "sequence" in fields else _untracked
            routes[topic] = (self.decoders[topic].decode, type_name, observe, handle)
        return routes

    def _store(self, consumer: Consumer, stored: dict[tuple[str, int], int]) -> None:
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in stored.items()]
        if not offsets:
            return
        try:
            consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:  # partition revoked meanwhile: the new owner reads it again
            self._warn(f"offsets not stored: {exc.args[0].str() if exc.args else exc}")

    def _kafka_error(self, err: KafkaError) -> None:
        refused = self._refusal(err)
        if refused is not None:
            raise refused
        if err.fatal():
            raise FatalConsumerError(f"Kafka error: {err.str()}")
        text = err.str()
        if text not in self._warned:  # e.g. a topic that does not exist yet: say it once
            self._warned.add(text)
            self._warn(f"Kafka: {text}")

    def _refusal(self, err: KafkaError) -> FatalConsumerError | None:
        """A rejected login (78) or an ACL that denies a topic or the group (77), else None. librdkafka reports
        these as a record's error or through error_cb, depending on where it met them: both come here."""
        user = self.options.security.get("sasl.username")
        who = f"User:{user}" if user else "this client"
        code = refusal_code(err)
        if code == EXIT_CONFIG:
            return FatalConsumerError(
                f"Kafka {self.options.bootstrap} rejected the login of {who}: {err.str()}; fix "
                "TXF_KAFKA_SASL_USERNAME / TXF_KAFKA_SASL_PASSWORD(_FILE) or TXF_KAFKA_SSL_CA_LOCATION "
                "(exit 78: a restart would repeat it)",
                EXIT_CONFIG,
            )
        if code == EXIT_NOT_AUTHORIZED:
            return FatalConsumerError(
                f"Kafka {self.options.bootstrap} does not authorize {who} ({err.str()}): a consumer may read the "
                f"topics its ACLs grant and use groups its ACLs allow (--group {self.options.group}); exit 77",
                EXIT_NOT_AUTHORIZED,
            )
        return None

    def _check_stale(self) -> None:
        """Say once when the feed goes stale (a session open, silent past its plausible quiet)."""
        silent = self.staleness.stale_s()
        if silent and not self._stale_reported:
            self._stale_reported = True
            self._warn(
                f"STALE: nothing for {silent:.0f} s while a session is open (longer than the market is ever "
                "that quiet): the producer, the cluster or this consumer's connection is down"
            )

    def _check_brokers(self, consumer: Consumer) -> None:
        since = self._brokers_down_since
        if since is None or time.monotonic() - since < self.options.connect_timeout_s:
            return
        try:
            consumer.list_topics(timeout=5)
            self._brokers_down_since = None
        except KafkaException as exc:
            raise FatalConsumerError(
                f"Kafka broker {self.options.bootstrap} unreachable for more than "
                f"{self.options.connect_timeout_s:g} s: {exc.args[0].str()}"
            ) from None


def install_signal_handlers(target: TxfConsumer | threading.Event) -> Callable[[], None]:
    """SIGINT/SIGTERM ask `target` to stop cleanly (a second SIGINT interrupts at once).

    Only from the main thread. Returns a function that restores the previous handlers.
    """
    stop = target.stop if isinstance(target, TxfConsumer) else target.set
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int, _frame: object) -> None:
        stop()
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    for s in previous:
        signal.signal(s, on_signal)

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)

    return restore


def consume(options: ConsumerOptions, handler: QuoteHandler, **kwargs: Any) -> RunResult:
    """Convenience: build a TxfConsumer and run it once (see TxfConsumer for kwargs)."""
    return TxfConsumer(options, handler, **kwargs).run()
