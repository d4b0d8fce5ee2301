"""The arbiter process: one consumer group, one active member writing, the others standing by.

Membership: every arbiter joins the same consumer group on all leg topics with the range assignor.
Leg topics have one partition each, so the first member in member-id order gets every partition
and the others none; member ids start with the process start time (`client.id`), so the incumbent
keeps the leg topics when a standby (re)joins, and a standby gets them all once the active member's
session times out (`TXF_ARBITER_SESSION_TIMEOUT_MS`, takeover within seconds).

Becoming active: a new run id, the canonical topics read back into the core from where the leg
commits' metadata says (rebuild.py: durable state, whatever the outage length), the legs' exact-repeat
counters restored from it, the ledger read back, the leg topics read from the group's committed
offsets. While active, leg records are merged by exchange time while the legs have backlogs
(merge.py: a slower leg's quotes are judged, never left behind the window) and go through the core
(core.py), its outputs to Kafka (idempotent, acks=all); a leg offset is committed only once every
output of the records before it was acknowledged, with that durable state in its metadata, so a
crash re-reads records whose outputs may be missing and the rebuilt memory drops the ones that are
not. Holes are judged by the market's clock (txf_kit.clock: exchange time, run on by the wall only
while every leg is read to its end), so a backlog crossing a close reports no false hole and a hole
that runs into a close is ledgered at the close.

Fencing: output is written only while membership was confirmed within `TXF_ARBITER_LEASE_S` (an
offset commit the broker accepted, at least twice a lease). A process frozen past its session
timeout (SIGSTOP, a stuck VM) finds its lease expired the moment it runs again, holds its records,
purges its send queue and learns from the group that it lost the leg topics. What this cannot stop
is a record already handed to its own send buffer at the instant of the freeze (about a
millisecond of output) reaching the broker after the standby took over; Kafka transactions would
close that window at the latency cost measured in rebuild.py's doc, which the feed cannot afford.

Exit codes: 0 stopped on purpose, 1 fatal (broker or registry unreachable at start, a canonical
record refused), 78 invalid settings.
"""

from __future__ import annotations

import json
import logging
import secrets
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage

import txf.v1
from txf.v1 import BidAsk, Gap, Tick
from txf_arbiter.core import FRAME_LEN, ArbiterCore, LegRoute, Output, Quote, Stats
from txf_arbiter.gaps import GapDetector
from txf_arbiter.merge import LegMerger
from txf_arbiter.metrics import ArbiterCollector
from txf_arbiter.rebuild import read_from, tail_starts
from txf_arbiter.settings import ArbiterSettings
from txf_kit import refusal
from txf_kit.clock import FeedClock
from txf_kit.framing import frame_header, new_serializer
from txf_kit.metadata import unauthorized_topics
from txf_kit.metrics import LatencyHistogram, serve_collector
from txf_kit.notify import Notifier
from txf_kit.service import EXIT_CONFIG, EXIT_NOT_AUTHORIZED, EXIT_OK, ErrorLatch, ServiceExit
from txf_kit.topicmap import load_topic_map

log = logging.getLogger("txf_arbiter")

#: the grants an arbiter runs on (named in its exit-77 line; stack/acls.py grants them)
GRANTS = "READ on the leg and canonical topics, WRITE on the canonical topics and the gap ledger, its group"
_TICK_S = 0.2  # housekeeping period: commits, lease keepalive, gap check, watchdog
#: how much more exchange time than the window the durable start of the canonical read-back keeps
_MARGIN_NS = 60_000_000_000
#: the leg commit metadata's format (rebuild.py); an older or missing one falls back to a time window
_META_VERSION = 2
Pending = tuple[Message, Quote | str]  # a leg record read, parsed, not arbitrated yet
Done = tuple[int, dict[str, Any]]  # a leg's next offset and its leg state (exact-repeat counters) there


def _read_meta(text: str | None) -> dict[str, Any] | None:
    """A leg commit's durable state (see `_with_meta`), or None when it has none this arbiter can use."""
    if not text:
        return None
    try:
        meta = json.loads(text)
    except ValueError:
        return None
    return meta if isinstance(meta, dict) and meta.get("v") == _META_VERSION else None


def message_class(full_name: str) -> type[ProtoMessage]:
    """txf.v1.Tick -> the generated class (the topic map names messages, the bindings hold them)."""
    package, _, name = full_name.rpartition(".")
    if package != "txf.v1" or not hasattr(txf.v1, name):
        raise ServiceExit(f"the topic map names {full_name}, which the installed txf.v1 contract does not have")
    cls: type[ProtoMessage] = getattr(txf.v1, name)
    return cls


def quote_class(full_name: str) -> type[Tick] | type[BidAsk]:
    """The class of a quote topic's message (a leg carries nothing else)."""
    cls = message_class(full_name)
    if cls is not Tick and cls is not BidAsk:
        raise ServiceExit(f"the topic map routes {full_name} as quotes; the arbiter arbitrates Tick and BidAsk")
    return cls


@dataclass
class Delivery:
    """Outputs handed to Kafka, in order, and which of them are acknowledged."""

    next_id: int = 0
    outstanding: deque[int] = field(default_factory=deque)
    acked: set[int] = field(default_factory=set)
    checkpoints: deque[tuple[int, dict[tuple[str, int], Done]]] = field(default_factory=deque)

    def low_water(self) -> int:
        """Every output id below this is acknowledged."""
        while self.outstanding and self.outstanding[0] in self.acked:
            self.acked.discard(self.outstanding.popleft())
        return self.outstanding[0] if self.outstanding else self.next_id

    def safe_offsets(self) -> dict[tuple[str, int], Done]:
        """Leg offsets whose records' outputs are all acknowledged (popped from the checkpoints)."""
        low = self.low_water()
        done: dict[tuple[str, int], Done] = {}
        while self.checkpoints and self.checkpoints[0][0] <= low:
            done.update(self.checkpoints.popleft()[1])
        return done


class ArbiterService:
    """One arbiter process; `run()` returns its exit code."""

    def __init__(self, settings: ArbiterSettings, notifier: Notifier | None = None) -> None:
        self.settings = settings
        self.notifier = notifier or Notifier()
        self.started_ns = time.time_ns()
        self.stop = threading.Event()
        self.core: ArbiterCore | None = None
        self.active = False
        self.takeovers = 0
        self.delivery_errors = 0
        self.latency = LatencyHistogram()
        self.errors = ErrorLatch(settings, GRANTS)  # set from librdkafka's callbacks, raised by the loop
        self._delivery = Delivery()
        self._done_offsets: dict[tuple[str, int], Done] = {}
        self.merger: LegMerger[Pending] = LegMerger(())
        self.clock = FeedClock()  # the market's time, as the legs tell it
        self._next_offset: dict[tuple[str, int], int] = {}  # per leg partition: after the last record read
        self._committed_start: dict[str, int] = {}  # per leg topic: the committed offset it was assigned at
        # per canonical partition: (exchange ns, offset) of what is written, the oldest still in the window first
        self._written: dict[tuple[str, int], deque[tuple[int, int]]] = {}
        self._written_next: dict[tuple[str, int], int] = {}  # per canonical partition: after the last written
        self._handed_over: dict[str, int] | None = None  # canonical ends when the legs were revoked
        self._confirmed_at = 0.0
        self._last_commit = 0.0
        self._loop_beat = time.monotonic()
        self.producer: Producer | None = None
        self.consumer: Consumer | None = None

    # --- set-up -------------------------------------------------------------------------------------

    def _plan(self) -> tuple[dict[str, LegRoute], dict[str, type[ProtoMessage]]]:
        """Leg topic -> route; canonical topic (and ledger) -> its message class."""
        s = self.settings
        routes = {
            leg_topic: LegRoute(leg, quote_class(str(e.message)), s.canonical(e))
            for leg, leg_topic, e in s.leg_routes()
        }
        outputs: dict[str, type[ProtoMessage]] = {r.canonical: r.message for r in routes.values()}
        ledger = next(e for e in load_topic_map() if e.role == "ledger")
        outputs[s.ledger_topic()] = message_class(str(ledger.message))
        return routes, outputs

    def _registry_facts(
        self, outputs: dict[str, type[ProtoMessage]], routes: dict[str, LegRoute]
    ) -> tuple[dict[str, bytes], dict[str, set[int]]]:
        """Frame headers of the output topics; the schema ids each leg topic's subject holds."""
        s = self.settings
        registry = SchemaRegistryClient(s.registry_config())
        deadline = time.monotonic() + s.startup_deadline_s
        while True:
            try:
                headers = {
                    topic: frame_header(new_serializer(cls, registry, False), cls, topic)
                    for topic, cls in outputs.items()
                }
                ids: dict[str, set[int]] = {}
                for leg_topic in routes:
                    subject = f"{leg_topic}-value"
                    ids[leg_topic] = {
                        int(registry.get_version(subject, v).schema_id or 0) for v in registry.get_versions(subject)
                    }
                return headers, ids
            except Exception as exc:  # noqa: BLE001 - reported with the deadline below
                refused = refusal.registry_login_refused(s, exc)
                if refused is not None:
                    raise ServiceExit(refused, EXIT_CONFIG) from None
                if time.monotonic() > deadline:
                    raise ServiceExit(
                        f"schema registry at {s.registry_url}: {type(exc).__name__}: {exc}; start it, "
                        "fix TXF_REGISTRY_URL, or register the contract and its legs with `make register`"
                    ) from None
                time.sleep(0.5)

    def _check_topics(self, needed: list[str]) -> None:
        assert self.producer is not None
        metadata = self.errors.wait_for_broker(self.producer, self.settings.startup_deadline_s)
        hidden = unauthorized_topics(metadata, needed)
        if hidden:
            raise ServiceExit(
                refusal.not_authorized(self.settings, f"topics {hidden}: authorization failed", GRANTS),
                EXIT_NOT_AUTHORIZED,
            )
        missing = [t for t in needed if t not in metadata.topics]
        if missing:
            raise ServiceExit(
                f"topics {missing} do not exist: create them with `make register` (txf-registry register "
                "--topics declares the legs' topics too)"
            )

    # --- run ----------------------------------------------------------------------------------------

    def run(self) -> int:
        s = self.settings
        signals = (signal.SIGTERM, signal.SIGINT) if threading.current_thread() is threading.main_thread() else ()
        previous = {sig: signal.signal(sig, lambda *_: self.stop.set()) for sig in signals}
        server = None
        try:
            routes, outputs = self._plan()
            headers, leg_ids = self._registry_facts(outputs, routes)
            self.producer = Producer(
                {**s.writer_config("txf-arbiter"), "linger.ms": 0, "error_cb": self._kafka_error},
                logger=logging.getLogger("txf_arbiter.librdkafka"),
            )
            self._check_topics([*routes, *outputs, s.dead_letter_topic()])
            if s.arbiter_metrics_port:
                server = serve_collector(
                    s.metrics_host,
                    s.arbiter_metrics_port,
                    ArbiterCollector(self._stats, self._extra, self.latency),
                    self._health,
                )
            self.consumer = Consumer(self._consumer_config(), logger=logging.getLogger("txf_arbiter.librdkafka"))
            self.consumer.subscribe(
                list(routes),
                on_assign=lambda c, p: self._on_assign(p, routes, headers, leg_ids, outputs),
                on_revoke=lambda c, p: self._on_revoke(),
                on_lost=lambda c, p: self._on_lost(),
            )
            self.notifier.ready("standby: waiting for the leg topics")
            log.info(
                "arbiter: legs %s -> %s; group %s",
                ",".join(s.read_legs()),
                ", ".join(sorted(set(r.canonical for r in routes.values()))),
                s.group_id(),
            )
            self._loop()
            code, reason = EXIT_OK, "stopped"
        except ServiceExit as exc:
            code, reason = exc.code, str(exc)
        except KafkaException as exc:
            fatal = self.errors.exit_for(exc.args[0], "Kafka") if exc.args else ServiceExit(f"Kafka: {exc}")
            code, reason = fatal.code, str(fatal)
        finally:
            self.notifier.stopping("stopping")
            self._shutdown()
            if server is not None:
                server.shutdown()
                server.server_close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if code != EXIT_OK:
            log.error("arbiter: %s", reason)
        return code

    def _consumer_config(self) -> dict[str, Any]:
        s = self.settings
        return {
            **s.client_config(),
            "group.id": s.group_id(),
            # member ids start with the client id: the oldest process sorts first and keeps the legs
            "client.id": f"txf-arbiter-{self.started_ns:020d}",
            "partition.assignment.strategy": "range",
            "session.timeout.ms": s.arbiter_session_timeout_ms,
            "heartbeat.interval.ms": max(100, s.arbiter_session_timeout_ms // 6),
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 5,
            "fetch.error.backoff.ms": 5,
            "enable.partition.eof": False,
            "on_commit": self._on_commit,
            "error_cb": self._kafka_error,
        }

    def _loop(self) -> None:
        assert self.consumer is not None and self.producer is not None
        consumer, producer = self.consumer, self.producer
        next_tick = time.monotonic()
        while not self.stop.is_set():
            batch = consumer.consume(1000, timeout=0) or [m for m in [consumer.poll(0.005)] if m is not None]
            self.errors.raise_if_set()
            if batch:
                self._take(batch)
            elif len(self.merger) and self._lease_ok():
                self._take([])
            producer.poll(0)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + _TICK_S
                self._housekeeping()

    # --- records ------------------------------------------------------------------------------------

    def _take(self, batch: list[Message]) -> None:
        """Arbitrate a batch (and what the merger holds) once membership is confirmed."""
        core = self.core if self.active else None  # a standby: nothing assigned, nothing to hold
        for m in batch:
            if m.error() is not None:  # a standby gets errors too (a group it may not join): never dropped
                self._kafka_message_error(m)
            elif core is not None:
                topic = str(m.topic())
                parsed = core.parse(topic, m.value())
                exchange_ns = None if isinstance(parsed, str) else int(parsed.exchange_time_us) * 1000
                self._next_offset[(topic, int(m.partition() or 0))] = int(m.offset() or 0) + 1
                self.merger.push(topic, (m, parsed), exchange_ns)
        if core is None or not len(self.merger):
            return
        if not self._lease_ok():
            self._confirm_membership()
            return
        last: dict[tuple[str, int], int] = {}
        for leg_topic, (m, parsed) in self.merger.release(self._read_to_end):
            if not isinstance(parsed, str):  # the market's clock: as far as arbitration went, not reading
                self.clock.observe(int(parsed.exchange_time_us) * 1000)
            where = f"{m.topic()}[{m.partition()}]@{m.offset()}"
            for out in core.take_parsed(leg_topic, parsed, m.value(), where):
                self._produce(out)
            last[(leg_topic, int(m.partition() or 0))] = int(m.offset() or 0) + 1
        if last:
            done = {tp: (offset, core.repeat_state(tp[0])) for tp, offset in last.items()}
            self._delivery.checkpoints.append((self._delivery.next_id, done))

    def _read_to_end(self, leg_topic: str) -> bool | None:
        """Whether the leg is read to its end now, as of the broker's last fetch answer (True: nothing to
        wait for), has more to read (False), or was not fetched yet (None)."""
        assert self.consumer is not None
        low, high = self.consumer.get_watermark_offsets(TopicPartition(leg_topic, 0), cached=True)
        if high < 0:
            return None
        position = self._next_offset.get((leg_topic, 0), self._committed_start.get(leg_topic, low))
        return position >= high

    def _produce(self, out: Output) -> None:
        assert self.producer is not None
        d = self._delivery
        out_id = d.next_id
        d.next_id += 1
        d.outstanding.append(out_id)
        receive_ns = out.receive_ns
        exchange_ns = out.exchange_ns

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                if err.code() in (KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT):
                    return  # given up on purpose (membership lost): its leg offset stays uncommitted
                self.delivery_errors += 1
                self.errors.latch(self.errors.exit_for(err, f"Kafka refused a record for {msg.topic()}"))
                return
            d.acked.add(out_id)
            self._note_written((str(msg.topic()), int(msg.partition() or 0)), int(msg.offset() or 0), exchange_ns)
            if receive_ns:
                self.latency.observe((time.time_ns() - receive_ns) / 1e9)

        while True:
            try:
                self.producer.produce(out.topic, out.value, out.key, on_delivery=delivered)
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self.producer.poll(0.05)

    def _kafka_message_error(self, m: Message) -> None:
        err = m.error()
        if err is not None and not self.errors.offer(err, "Kafka"):
            log.warning("arbiter: %s", err.str())

    def _kafka_error(self, err: KafkaError) -> None:
        if not self.errors.offer(err, "fatal Kafka error"):
            log.warning("kafka: %s", err.str())

    # --- membership, lease, offsets -----------------------------------------------------------------

    def _on_assign(
        self,
        partitions: list[TopicPartition],
        routes: dict[str, LegRoute],
        headers: dict[str, bytes],
        leg_ids: dict[str, set[int]],
        outputs: dict[str, type[ProtoMessage]],
    ) -> None:
        topics = {p.topic for p in partitions}
        if not partitions:
            self.notifier.status("standby")
            log.info("arbiter: standby (another member holds the leg topics)")
            return
        if topics != set(routes):
            log.error(
                "arbiter: assigned only %s of the leg topics: not writing (leg topics must have one partition each)",
                sorted(topics),
            )
            return
        s = self.settings
        canonical = {(r.canonical, r.message) for r in routes.values()}
        if (
            self.core is not None
            and self._handed_over is not None
            and self._handed_over == self._canonical_ends(canonical)
        ):
            # a rebalance gave the legs straight back (a standby joined): nobody wrote meanwhile,
            # so this process's memory and run go on unchanged
            self._resume()
            log.info("arbiter: active again (run %016x), nothing was written meanwhile", self.core.run_id)
            return
        core = ArbiterCore(
            routes,
            headers,
            leg_ids,
            run_id=secrets.randbits(64),
            window_s=s.arbiter_window_s,
            gaps=GapDetector(s.arbiter_gap_floor_s, s.all_holidays()),
            ledger_topic=s.ledger_topic(),
            dead_letter_topic=s.dead_letter_topic(),
        )
        t0 = time.monotonic()
        self._written, self._written_next = {}, {}
        n, durable = self._rebuild(core, partitions, canonical)
        self.core = core
        self._delivery = Delivery()
        self.clock = FeedClock()
        for state in core.streams.values():  # the market's time, as far as the canonical topics tell it
            self.clock.observe(state.newest_exchange_ns)
        self.takeovers += 1
        self._resume()
        log.info(
            "arbiter: active (run %016x): remembered %d canonical records in %.2f s (%s)",
            core.run_id,
            n,
            time.monotonic() - t0,
            "from the leg commits' durable state" if durable else "no durable state yet: the last window by time",
        )
        self.notifier.status(f"active, run {core.run_id:016x}")

    def _rebuild(
        self, core: ArbiterCore, partitions: list[TopicPartition], canonical: set[tuple[str, Any]]
    ) -> tuple[int, bool]:
        """The core's memory from durable state: the committed leg offsets' metadata says where in each
        canonical partition the window starts and how far each leg's exact repeats had counted; the
        ledger is read whole. Without it (a first run), the canonical records of the last window by time."""
        assert self.consumer is not None
        s = self.settings
        committed = self.consumer.committed(partitions, timeout=s.startup_deadline_s)
        starts: dict[tuple[str, int], int] = {}
        self._committed_start = {}
        self._done_offsets = {}
        with_meta = without = 0
        for tp in committed:
            meta = _read_meta(tp.metadata)
            if tp.offset >= 0:
                self._committed_start[tp.topic] = tp.offset
            if meta is None:
                without += tp.offset >= 0  # committed by an arbiter that stored no state (or never: nothing read)
                continue
            with_meta += 1
            core.restore_repeats(tp.topic, meta.get("repeats", {}))
            if tp.offset >= 0:
                self._done_offsets[(tp.topic, tp.partition)] = (tp.offset, meta.get("repeats", {}))
            for key, offset in meta.get("canonical", {}).items():
                topic, _, part = key.rpartition(":")
                where = (topic, int(part))
                starts[where] = min(starts.get(where, offset), offset)
        durable = with_meta > 0 and without == 0
        if not durable:
            since_ms = (time.time_ns() // 1_000_000) - int((s.arbiter_window_s + 60) * 1000)
            starts = tail_starts(s.client_config(), [t for t, _c in canonical], since_ms, s.group_id())
        classes = {t: c for t, c in canonical}
        ledger = s.ledger_topic()

        def take(topic: str, partition: int, offset: int, value: bytes) -> None:
            if len(value) <= FRAME_LEN:
                return
            try:
                if topic == ledger:
                    core.remember_gap(Gap.FromString(value[FRAME_LEN:]))
                    return
                msg = classes[topic].FromString(value[FRAME_LEN:])
            except DecodeError:
                return  # not a record this arbiter could have written
            core.remember(msg)
            self._note_written((topic, partition), offset, int(msg.exchange_time_us) * 1000)

        starts[(ledger, 0)] = 0
        n = read_from(s.client_config(), starts, take, s.group_id())
        return n, durable

    def _resume(self) -> None:
        self.merger = LegMerger(self.core.routes if self.core is not None else ())
        self._next_offset = {}
        self._handed_over = None
        self.active = True
        self._confirmed_at = time.monotonic()  # the assignment itself is this generation's proof

    def _canonical_ends(self, canonical: set[tuple[str, Any]]) -> dict[str, int] | None:
        """Each canonical partition's end offset (None when the broker does not say)."""
        assert self.consumer is not None
        try:
            return {t: self.consumer.get_watermark_offsets(TopicPartition(t, 0), timeout=5)[1] for t, _c in canonical}
        except KafkaException:
            return None

    def _on_revoke(self) -> None:
        """Handing the legs over on purpose: deliver what is out, commit, stop writing."""
        if not self.active:
            return
        self.active = False
        if self.producer is not None:
            self.producer.flush(10)
        self._commit_safe(asynchronous=False)
        self.merger.clear()
        if self.core is not None:
            self._handed_over = self._canonical_ends({(r.canonical, r.message) for r in self.core.routes.values()})
        log.info("arbiter: legs revoked, now standby")
        self.notifier.status("standby")

    def _on_lost(self) -> None:
        """The group moved on without us (session timed out): stop at once, send nothing queued."""
        self.active = False
        self._handed_over = None  # others may have written: a new run and a rebuild if the legs come back
        self.merger.clear()
        if self.producer is not None:
            self.producer.purge(in_queue=True, in_flight=False, blocking=False)
        log.error("arbiter: membership lost (session timed out): the standby owns the legs now")
        self.notifier.status("standby (membership was lost)")

    def _lease_ok(self) -> bool:
        return time.monotonic() - self._confirmed_at <= self.settings.arbiter_lease_s

    def _confirm_membership(self) -> None:
        """Ask the group to accept an offset commit: its answer renews (or ends) the lease."""
        assert self.consumer is not None
        offsets = dict(self._done_offsets)
        for leg_topic, (m, _parsed) in self.merger.held():  # a held record is not done: never commit past it
            offsets.setdefault((leg_topic, int(m.partition() or 0)), (int(m.offset() or 0), {}))
        if offsets and time.monotonic() - self._last_commit > 0.05:
            self._last_commit = time.monotonic()
            self.consumer.commit(offsets=self._with_meta(offsets), asynchronous=True)

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        if err is None and all(p.error is None for p in partitions):
            self._confirmed_at = time.monotonic()
        elif err is not None and err.code() != KafkaError._NO_OFFSET:
            log.warning("arbiter: offset commit refused: %s", err.str())

    def _commit_safe(self, asynchronous: bool = True) -> None:
        if self.consumer is None:
            return
        self._done_offsets.update(self._delivery.safe_offsets())
        if not self._done_offsets:
            return
        self._last_commit = time.monotonic()
        offsets = self._with_meta(self._done_offsets)
        try:
            if asynchronous:
                self.consumer.commit(offsets=offsets, asynchronous=True)
            else:
                self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("arbiter: commit failed: %s", exc)

    def _with_meta(self, done: dict[tuple[str, int], Done]) -> list[TopicPartition]:
        """Leg offsets to commit, each with the durable state a restarted arbiter goes on from."""
        canonical = {f"{t}:{p}": self._window_start((t, p)) for (t, p) in self._written_next}
        return [
            TopicPartition(
                t, p, offset, metadata=json.dumps({"v": _META_VERSION, "canonical": canonical, "repeats": rep})
            )
            for (t, p), (offset, rep) in done.items()
        ]

    def _note_written(self, tp: tuple[str, int], offset: int, exchange_ns: int) -> None:
        """A canonical record is on the topic (acknowledged, or read back): where the window starts moves."""
        self._written_next[tp] = max(self._written_next.get(tp, 0), offset + 1)
        if not exchange_ns:
            return
        log_ = self._written.setdefault(tp, deque())
        log_.append((exchange_ns, offset))
        newest = max(exchange_ns, log_[0][0])
        horizon = newest - int(self.settings.arbiter_window_s * 1e9) - _MARGIN_NS
        while log_ and log_[0][0] < horizon:
            log_.popleft()

    def _window_start(self, tp: tuple[str, int]) -> int:
        """The offset of the oldest record of `tp` still inside the identity window (with a margin)."""
        log_ = self._written.get(tp)
        return log_[0][1] if log_ else self._written_next.get(tp, 0)

    def _housekeeping(self) -> None:
        self._loop_beat = time.monotonic()
        self.notifier.watchdog()
        if not self.active or self.core is None:
            return
        lease = self.settings.arbiter_lease_s
        if self._delivery.checkpoints or time.monotonic() - self._last_commit > lease / 3:
            self._commit_safe()  # also the lease keepalive
        # holes are judged by the market's clock: exchange time, run on by the wall only while every leg
        # is read to its end (a backlog crossing a close is judged by its own times, never the wall's)
        self.clock.set_caught_up(not len(self.merger) and all(self._read_to_end(t) is True for t in self.core.routes))
        if self._lease_ok():
            for out in self.core.check_gaps(self.clock.now_ns()):
                self._produce(out)

    def _shutdown(self) -> None:
        if self.active and self.producer is not None:
            self.producer.flush(self.settings.flush_timeout_s)
            self._commit_safe(asynchronous=False)
        self.active = False
        if self.consumer is not None:
            try:
                self.consumer.close()  # leaves the group: a standby takes over at once
            except (KafkaException, RuntimeError) as exc:
                log.warning("arbiter: close: %s", exc)
        if self.producer is not None:
            self.producer.flush(self.settings.flush_timeout_s)

    # --- health and metrics -------------------------------------------------------------------------

    def _stats(self) -> Stats | None:
        return self.core.stats if self.core is not None else None

    def _extra(self) -> dict[str, Any]:
        return {"active": 1 if self.active else 0, "takeovers": self.takeovers, "delivery_errors": self.delivery_errors}

    def _health(self) -> dict[str, Any]:
        live = time.monotonic() - self._loop_beat < 10
        return {
            "live": live,
            "ready": live,
            "active": self.active,
            "run_id": f"{self.core.run_id:016x}" if self.core else None,
        }
