"""The hot path: a quote callback -> exact txf.v1 bytes in the registry wire format -> `produce()`.

`Publisher` is the `QuoteSink` every source calls from its own thread. Per
quote it routes by contract code, encodes the quote's fields straight into
txf.v1 wire bytes (wire.py; a quote the encoder refuses takes the reference
path through a upb message, convert.py), stamps the stream's next sequence
number, prepends the cached Confluent frame header and hands the bytes to
librdkafka's local queue. It never waits on the network: `produce()` only
enqueues, and delivery reports arrive on the poll thread.

Nothing accepted is lost or hidden:
- a quote that cannot be converted exactly goes, with its error, to the
  dead-letter topic (JSON), is counted and logged with rate limiting;
- a full local queue makes the callback wait a bounded time (visible in the
  counters), after which the record goes to the spool file, and so do the
  records after it, at once, until Kafka acknowledges again;
- a record Kafka reports as failed goes to the spool file.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from time import time_ns as _time_ns
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from txf.v1 import Tick
from txf_kit.logs import RateLimitedLog
from txf_producer import wire
from txf_producer.convert import (
    ConversionError,
    build_bidask,
    build_tick,
    diagnose_bidask,
    diagnose_tick,
    reraise_exit,
)
from txf_producer.record import MESSAGE_OF
from txf_producer.sources.base import QuoteType
from txf_producer.sources.events import SourceEvent, Subscribed
from txf_producer.spool import Spool

log = logging.getLogger(__name__)
_join = b"".join
_uvarint = wire.uvarint
_SMALL_VARINT = wire.SMALL_VARINTS
_C14 = wire.CONTINUED_14_BITS


@dataclass
class Stream:
    """One published stream: a (quote type, contract code) of this run, on one topic.

    `header` is the Confluent frame (magic byte, schema id, message indexes) the
    registry-aware serializer produced for `topic`; `prefix` is that header plus
    the encoded `code` field, which every record of the stream starts with;
    `run_piece` is the encoded run id (set by the Publisher); `sequence` is the
    last number assigned; `lock` keeps sequence order equal to queue order.
    """

    quote_type: QuoteType
    code: str
    alias: str
    topic: str
    header: bytes
    key: bytes = b""
    sequence: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    run_piece: bytes = field(default=b"", repr=False)
    encoder: wire.Encoder = field(init=False, repr=False)
    build: Callable[[Any, int, int], Any] = field(init=False, repr=False)
    encode: Callable[[dict[str, Any], int, bytes, bytes], tuple[list[bytes], bool]] = field(init=False, repr=False)
    prefix: bytes = field(init=False, repr=False)
    sequence_key: bytes = field(init=False, repr=False)
    sequence_slot: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        message = MESSAGE_OF[self.quote_type]
        self.encoder = wire.ENCODERS[message]
        self.key = self.code.encode()
        self.prefix = self.header + self.encoder.code_field(self.code)
        self.build = build_tick if message is Tick else build_bidask
        self.encode = self.encoder.parts
        self.sequence_key, self.sequence_slot = self.encoder.sequence_key, self.encoder.sequence_slot


class Counters:
    """Plain integer counters. Each is written by one thread (its stream's or the poll thread)."""

    def __init__(self) -> None:
        self.received_tick = 0
        self.received_bidask = 0
        self.delivered: dict[str, int] = {}
        self.delivery_errors = 0
        self.dead_lettered = 0
        self.skipped_simtrade = 0
        self.queue_full_waits = 0
        self.spooled = 0
        self.last_quote_ns = 0
        self.last_delivery_ns = 0

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy for logs and health."""
        return {
            "received_tick": self.received_tick,
            "received_bidask": self.received_bidask,
            "delivered": dict(self.delivered),
            "delivery_errors": self.delivery_errors,
            "dead_lettered": self.dead_lettered,
            "skipped_simtrade": self.skipped_simtrade,
            "queue_full_waits": self.queue_full_waits,
            "spooled": self.spooled,
        }


class Publisher:
    """QuoteSink that publishes to Kafka. Thread-safe across source threads."""

    def __init__(
        self,
        producer: Producer,
        *,
        run_id: int,
        dead_letter_topic: str,
        spool: Spool,
        publish_simtrade: bool = False,
        queue_full_wait_s: float = 2.0,
        on_event: Callable[[SourceEvent], None] | None = None,
        on_delivery_latency: Callable[[float], None] | None = None,
        on_delivery_error: Callable[[KafkaError], None] | None = None,
    ) -> None:
        self._producer = producer
        self._produce = producer.produce
        self._ticks: dict[str, Stream] = {}
        self._bidasks: dict[str, Stream] = {}
        self._installed = False
        self._early: list[tuple[QuoteType, Any, int]] = []
        self._route_lock = threading.Lock()
        self._run_id = run_id
        self._run_pieces = {q: wire.ENCODERS[m].run_id_field(run_id) for q, m in MESSAGE_OF.items()}
        self._dlq = dead_letter_topic
        self._spool = spool
        self._simtrade = publish_simtrade
        self._queue_full_wait_s = queue_full_wait_s
        self._stuck_ns = 0  # when a wait for queue room last ran out (0: never); see _produce_when_room
        self._on_event = on_event
        self._on_latency = on_delivery_latency
        self._on_delivery_error = on_delivery_error
        self._reject_log = RateLimitedLog(log, interval_s=10.0)
        self._delivery_log = RateLimitedLog(log, interval_s=10.0)
        self.counters = Counters()
        self.streams: list[Stream] = []
        self._retired: list[Stream] = []  # streams replaced by a roll (their counts still count)

    def install(self, streams: list[Stream]) -> None:
        """Route by contract code from now on; publish, in order, quotes that came first.

        A source may deliver quotes before `Source.start` has returned the
        subscriptions that name their codes. Those wait in `_early` (under the
        route lock) and are published here before the routes become visible, so
        a stream's sequence order stays its arrival order.
        """
        for s in streams:
            s.run_piece = self._run_pieces[s.quote_type]
        ticks = {s.code: s for s in streams if s.quote_type is QuoteType.TICK}
        bidasks = {s.code: s for s in streams if s.quote_type is QuoteType.BIDASK}
        for s in streams:
            self.counters.delivered.setdefault(s.topic, 0)
        with self._route_lock:
            for quote_type, quote, receive_ns in self._early:
                routes = ticks if quote_type is QuoteType.TICK else bidasks
                stream = routes.get(_code_of(quote))  # type: ignore[arg-type]
                if stream is None:
                    self._reject(quote_type, quote, receive_ns, KeyError("code"), routes)
                else:
                    self._publish(stream, quote, receive_ns)
            self._early.clear()
            self.streams = list(streams)
            self._ticks, self._bidasks = ticks, bidasks
            self._installed = True

    def _unrouted(self, quote_type: QuoteType, quote: Any, receive_ns: int) -> None:
        """A code with no route: hold it until routes are installed, else dead-letter it."""
        with self._route_lock:
            if not self._installed:
                self._early.append((quote_type, quote, receive_ns))
                return
        routes = self._ticks if quote_type is QuoteType.TICK else self._bidasks
        stream = routes.get(_code_of(quote))  # type: ignore[arg-type]
        if stream is None:
            self._reject(quote_type, quote, receive_ns, KeyError("code"), routes)
        else:
            self._publish(stream, quote, receive_ns)

    # --- QuoteSink -----------------------------------------------------------

    def on_tick(self, quote: Any, receive_ns: int) -> None:
        """Shioaji tick callback body: convert, frame, enqueue. Never raises."""
        c = self.counters
        c.received_tick += 1
        c.last_quote_ns = receive_ns
        try:
            stream = self._ticks[quote.code]
        except BaseException as exc:  # noqa: BLE001 - unknown code, routes not installed yet, or unreadable
            reraise_exit(exc)
            self._unrouted(QuoteType.TICK, quote, receive_ns)
            return
        self._publish(stream, quote, receive_ns)

    def on_bidask(self, quote: Any, receive_ns: int) -> None:
        """Shioaji bidask callback body: convert, frame, enqueue. Never raises."""
        c = self.counters
        c.received_bidask += 1
        c.last_quote_ns = receive_ns
        try:
            stream = self._bidasks[quote.code]
        except BaseException as exc:  # noqa: BLE001 - unknown code, routes not installed yet, or unreadable
            reraise_exit(exc)
            self._unrouted(QuoteType.BIDASK, quote, receive_ns)
            return
        self._publish(stream, quote, receive_ns)

    def _publish(self, stream: Stream, quote: Any, receive_ns: int) -> None:
        """Encode, number, frame and enqueue one routed quote (the hot path, one call deep)."""
        try:
            parts, simtrade = stream.encode(quote.to_dict(raw=True), receive_ns, stream.prefix, stream.run_piece)
        except BaseException as exc:  # noqa: BLE001 - the reference path decides exactly, or dead-letters
            reraise_exit(exc)
            self._publish_reference(stream, quote, receive_ns)
            return
        if simtrade and not self._simtrade:
            self.counters.skipped_simtrade += 1
            return
        with stream.lock:  # sequence order == queue order, whatever thread calls
            sequence = stream.sequence = stream.sequence + 1
            parts[stream.sequence_slot] = stream.sequence_key + (  # a day's sequences stay below 2**28
                _SMALL_VARINT[sequence]
                if sequence < 16384
                else _C14[sequence & 16383] + _SMALL_VARINT[sequence >> 14]
                if sequence < 268_435_456
                else _uvarint(sequence)
            )
            value = _join(parts)
            try:
                self._produce(stream.topic, value, stream.key, -1, self._delivered)
            except BufferError:
                self._produce_when_room(stream.topic, stream.key, value)
            except KafkaException as exc:
                self._refused(stream.topic, stream.key, value, exc)

    def _publish_reference(self, stream: Stream, quote: Any, receive_ns: int) -> None:
        """A quote the wire encoder refused: build it as a upb message (convert.py), or dead-letter it."""
        try:
            msg = stream.build(quote, receive_ns, self._run_id)
            if msg.simtrade and not self._simtrade:
                self.counters.skipped_simtrade += 1
                return
        except BaseException as exc:  # noqa: BLE001 - every failure is dead-lettered, none escapes
            reraise_exit(exc)
            self._reject(stream.quote_type, quote, receive_ns, exc)
            return
        with stream.lock:
            stream.sequence = msg.sequence = stream.sequence + 1
            value = stream.header + msg.SerializeToString()
            try:
                self._produce(stream.topic, value, stream.key, -1, self._delivered)
            except BufferError:
                self._produce_when_room(stream.topic, stream.key, value)
            except KafkaException as exc:
                self._refused(stream.topic, stream.key, value, exc)

    def published(self) -> dict[str, int]:
        """Records handed to Kafka per topic: the sum of its streams' sequence numbers."""
        out: dict[str, int] = {}
        for s in self.streams + self._retired:
            out[s.topic] = out.get(s.topic, 0) + s.sequence
        return out

    def stats(self) -> dict[str, Any]:
        """Counters plus published-per-topic, JSON-able."""
        return {**self.counters.snapshot(), "published": self.published()}

    def on_event(self, event: SourceEvent) -> None:
        """Source events go to the lifecycle owner (the app), which reacts on its loop.

        A month-code roll (a Subscribed with `roll`) is applied here, on the source's
        thread, before the quotes with the new code that follow it.
        """
        if isinstance(event, Subscribed) and event.roll:
            for sub in event.subscriptions:
                self._roll(sub.alias, sub.code, sub.quote_type)
        if self._on_event is not None:
            self._on_event(event)

    def _roll(self, alias: str, code: str, quote_type: QuoteType) -> None:
        """Route `code` like the stream that `alias` had: same topic and header, a new sequence."""
        with self._route_lock:
            old = next((s for s in self.streams if s.alias == alias and s.quote_type is quote_type), None)
            if old is None or old.code == code:
                return
            new = Stream(quote_type, code, alias, old.topic, old.header, run_piece=old.run_piece)
            routes = dict(self._ticks if quote_type is QuoteType.TICK else self._bidasks)
            routes[code] = new
            self.streams = [s for s in self.streams if s is not old] + [new]
            self._retired.append(old)
            if quote_type is QuoteType.TICK:
                self._ticks = routes
            else:
                self._bidasks = routes
        log.info("contract roll: %s %s now %s -> %s", alias, quote_type.value, code, new.topic)

    # --- internals -------------------------------------------------------------

    def _produce_when_room(self, topic: str, key: bytes, value: bytes) -> None:
        """Local queue full: wait a bounded time for room, else spool. Visible either way.

        The wait rides out a burst while Kafka is merely slow. Once a wait has run out and Kafka has
        acknowledged nothing since, Kafka is away (brokers down, or too few in sync for acks=all):
        the next records go to the spool at once, without waiting again, because each wait holds the
        source's thread and so would throttle the whole feed to one quote per wait. The first
        acknowledgement after that re-arms the wait.
        """
        c = self.counters
        if not (self._stuck_ns and c.last_delivery_ns <= self._stuck_ns):
            c.queue_full_waits += 1
            deadline = time.monotonic() + self._queue_full_wait_s
            while time.monotonic() < deadline:
                self._producer.poll(0.05)
                try:
                    self._produce(topic, value, key, -1, self._delivered)
                    return
                except BufferError:
                    continue
            self._stuck_ns = _time_ns()
        self._spool.append(topic, key, value, "local queue full")
        c.spooled += 1
        self._delivery_log.error(
            "queue-full",
            "local Kafka queue full for %.1fs and nothing acknowledged since: record spooled to %s "
            "(%d spooled so far; republish them with `txf-producer respool`)",
            self._queue_full_wait_s,
            self._spool.path,
            c.spooled,
        )

    def _refused(self, topic: str, key: bytes, value: bytes, exc: KafkaException) -> None:
        """produce() itself refused the record (the producer hit a fatal error, e.g. its principal may not
        write): spool it like a failed delivery, so nothing accepted is lost."""
        err: KafkaError = exc.args[0]
        self.counters.delivery_errors += 1
        self._spool.append(topic, key, value, f"produce refused: {err.str()}")
        self.counters.spooled += 1
        self._delivery_log.error(
            "refused", "Kafka refused a record for %s (%s): spooled to %s", topic, err.str(), self._spool.path
        )
        if self._on_delivery_error is not None:
            self._on_delivery_error(err)

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        """Delivery report (poll thread): count, measure, and spool any failure."""
        c = self.counters
        topic = str(msg.topic())  # a delivery report always names its topic
        if err is None:
            c.delivered[topic] = c.delivered.get(topic, 0) + 1
            c.last_delivery_ns = _time_ns()
            if self._on_latency is not None:
                latency = msg.latency()
                if latency is not None:
                    self._on_latency(latency)
            return
        c.delivery_errors += 1
        self._spool.append(topic, msg.key(), msg.value(), f"delivery failed: {err.str()}")
        c.spooled += 1
        self._delivery_log.error(
            "delivery", "delivery to %s failed (%s): record spooled to %s", msg.topic(), err.str(), self._spool.path
        )
        if self._on_delivery_error is not None:
            self._on_delivery_error(err)

    def _reject(
        self,
        quote_type: QuoteType,
        quote: Any,
        receive_ns: int,
        exc: BaseException,
        unrouted_among: dict[str, Stream] | None = None,
    ) -> None:
        """Dead-letter a quote that cannot be published exactly, with the reason.

        `unrouted_among` is given when the quote's code has no route (the routes it
        was looked up in); otherwise the quote was routed and failed conversion.
        """
        code = _code_of(quote)
        if unrouted_among is not None:
            error = ConversionError(
                "code", f"not a subscribed {quote_type.value} contract (subscribed: {sorted(unrouted_among)})", code
            )
        else:
            try:
                error = diagnose_tick(quote) if quote_type is QuoteType.TICK else diagnose_bidask(quote)
            except BaseException as diag_exc:  # noqa: BLE001 - diagnosis must never raise into the source
                reraise_exit(diag_exc)
                error = ConversionError("quote", f"undiagnosable: {type(diag_exc).__name__}: {diag_exc}")
            if error.field == "quote":
                error = ConversionError("quote", f"{type(exc).__name__}: {exc}")
        record = {
            "quote_type": quote_type.value,
            "error": {"field": error.field, "reason": error.reason, "value": repr(error.value)},
            "quote": _describe(quote),
            "receive_time_ns": receive_ns,
            "producer_run_id": self._run_id,
        }
        value = json.dumps(record, ensure_ascii=False, default=repr).encode()
        key = code.encode() if isinstance(code, str) else b""
        try:
            self._produce(self._dlq, value, key, on_delivery=self._delivered)
        except BufferError:
            self._produce_when_room(self._dlq, key, value)
        except KafkaException as exc:
            self._refused(self._dlq, key, value, exc)
        self.counters.dead_lettered += 1
        self._reject_log.warning(
            f"reject:{quote_type.value}:{error.field}", "dead-lettered %s quote %s: %s", quote_type.value, code, error
        )


def _code_of(quote: Any) -> str | None:
    """The quote's contract code, or None when it has none or cannot say."""
    try:
        code = quote.code
    except BaseException as exc:  # noqa: BLE001 - a broken object still gets its dead-letter record
        reraise_exit(exc)
        return None
    return code if isinstance(code, str) else None


def _describe(quote: Any) -> dict[str, str]:
    """Every public attribute of a quote as text, for the dead-letter record.

    When the object cannot be read whole (a Rust panic in `to_dict`), each
    attribute is read on its own, so the record still shows all it can.
    """
    try:
        items = list(quote.to_dict().items() if hasattr(quote, "to_dict") else vars(quote).items())
    except BaseException as exc:  # noqa: BLE001 - a broken object still gets a record
        reraise_exit(exc)
        items = []
        for name in (n for n in dir(quote) if not n.startswith("_")):
            try:
                value = getattr(quote, name)
            except BaseException as attr_exc:  # noqa: BLE001
                reraise_exit(attr_exc)
                value = f"<unreadable: {type(attr_exc).__name__}: {attr_exc}>"
            if not callable(value):
                items.append((name, value))
    return {k: str(v) if not isinstance(v, list) else "[" + ", ".join(map(str, v)) + "]" for k, v in items}
