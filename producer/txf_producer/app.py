"""The producer's lifecycle on asyncio + uvloop: start, run, stop, and why it exits.

Quotes never touch the event loop: the source's thread calls the Publisher,
which enqueues into librdkafka directly (the fastest, lowest-latency path). The
loop owns everything around them: start-up checks with deadlines, signals,
source events bridged from the source's thread (`call_soon_threadsafe`),
periodic stats, the no-data watchdog, and a bounded shutdown.

Exit codes (systemd restarts on anything but 0, 77 and 78):
  0   stopped on purpose (SIGTERM/SIGINT, or a finite feed ended); all accepted
      quotes were delivered or, past the flush bound, spooled to disk
  1   fatal: broker or registry unreachable past the start-up deadline, login
      failed, session down and not back within the grace period, feed stalled
  77  not authorized (EX_NOPERM): the Kafka principal may not write the topics
      (ACLs); restarting cannot help until an administrator grants it
  78  invalid settings or rejected credentials (EX_CONFIG): a Shioaji key or the
      Kafka password (SASL) refused; restarting would only hammer the broker
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from txf_kit import exits, refusal
from txf_kit.framing import frame_header, new_serializer, schema_id_of
from txf_kit.metadata import unauthorized_topics, wait_for_metadata
from txf_kit.metrics import LatencyHistogram, monotonic_age
from txf_kit.notify import Notifier
from txf_producer.metrics import serve
from txf_producer.publisher import Publisher, Stream
from txf_producer.record import MESSAGE_OF
from txf_producer.settings import Settings
from txf_producer.sources.base import QuoteSink, Source, SourceConfigError, SourceError, SubscriptionSink
from txf_producer.sources.events import Connected, Disconnected, EndOfFeed, Reconnected, SourceEvent, describe
from txf_producer.spool import Spool
from txf_producer.stall import Action, FeedState, StallDetector

log = logging.getLogger("txf_producer")

EXIT_OK, EXIT_FATAL = 0, 1
EXIT_NOT_AUTHORIZED, EXIT_CONFIG = refusal.EXIT_NOT_AUTHORIZED, refusal.EXIT_CONFIG
#: what a refused producer needs, and what became of its records (refusal's exit-77 line)
WRITE_GRANT, SPOOLED = "WRITE on the txf topics", "records it could not write are in the spool"


class Fatal(RuntimeError):
    """A reason to exit 1 so systemd restarts the producer; the message is the one log line."""


class Refused(Fatal):
    """Kafka refused this client: rejected credentials (`code` 78) or writes its ACLs do not allow (77),
    which systemd does not restart (a restart would only repeat the refused login), or a fatal error of
    the client (1, restarted: a new process is a new producer instance)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


@dataclass
class RunResult:
    """What a run ended with, for the CLI and for tests."""

    exit_code: int
    reason: str
    stats: dict[str, Any] = field(default_factory=dict)
    run_id: int = 0


class ProducerApp:
    """One producer run: build everything, run until told or until fatal, stop cleanly."""

    def __init__(
        self,
        settings: Settings,
        source: Source,
        *,
        wrap_sink: Callable[[QuoteSink], QuoteSink] | None = None,
        stall_detector: StallDetector | None = None,
    ) -> None:
        self.settings = settings
        self.source = source
        self.run_id = secrets.randbits(64)
        self._wrap_sink = wrap_sink
        self.stall = stall_detector
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Future[tuple[int, str]] | None = None
        self._disconnect_timer: asyncio.TimerHandle | None = None
        self._poll_stop = threading.Event()
        self.producer: Producer | None = None
        self.publisher: Publisher | None = None
        self._sink: QuoteSink | None = None
        self.started_ns = 0
        self.latency = LatencyHistogram()
        self.notifier = Notifier()
        self.producing = False
        self._loop_beat_ns = 0
        self._brokers_down_ns = 0
        self._refusal: Refused | None = None  # Kafka refused our login or our writes (any thread)

    # --- health and metrics ---------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Counters and state for /metrics (any thread)."""
        s: dict[str, Any] = self.publisher.stats() if self.publisher is not None else {}
        s["queue"] = len(self.producer) if self.producer is not None else 0
        s["last_quote_age_s"] = monotonic_age(self.publisher.counters.last_quote_ns) if self.publisher else None
        health = self.health()
        s["ready"] = health["ready"]
        s["feed"] = health["feed"]
        s["queue_max"] = int(self.settings.kafka_config()["queue.buffering.max.messages"])
        s["service_exits"] = exits.counts(self.settings.state_dir)
        return s

    def health(self) -> dict[str, Any]:
        """Liveness (the event loop turns) and readiness (producing, broker up, not stalled)."""
        reasons = []
        live = (time.time_ns() - self._loop_beat_ns) < 10e9
        if not live:
            reasons.append("event loop stuck")
        if not self.producing:
            reasons.append("not producing yet")
        delivered_ns = self.publisher.counters.last_delivery_ns if self.publisher else 0
        if self._brokers_down_ns and delivered_ns < self._brokers_down_ns:
            reasons.append("all brokers down")
        feed = self.stall.state.value if self.stall is not None else "unwatched"
        if self.stall is not None and self.stall.state is FeedState.STALLED:
            reasons.append("feed stalled inside a trading session")
        if self.stall is not None and self.stall.state is FeedState.NO_DATA_SINCE_OPEN:
            reasons.append("no quotes since the session opened (exchange holiday, or the subscription never took)")
        return {
            "live": live,
            "ready": live and not reasons,
            "reasons": reasons,
            "feed": feed,
            "run_id": f"{self.run_id:016x}",
        }

    def _kafka_error(self, err: Any) -> None:
        """librdkafka global errors (poll thread): remember when every broker went away; stop on a refusal."""
        code = err.code()
        refused = refusal.describe(self.settings, err, WRITE_GRANT, SPOOLED)
        if refused is not None:
            self._refuse(*refused)
            return
        if err.fatal():  # this producer instance can do nothing more; a new process gets a new one
            self._refuse(EXIT_FATAL, f"fatal Kafka error: {err.str()}")
            return
        if code == KafkaError._ALL_BROKERS_DOWN:
            self._brokers_down_ns = time.time_ns()
        log.warning("kafka: %s", err.str())

    def _delivery_failed(self, err: KafkaError) -> None:
        """A record's delivery failed (it is spooled): an authorization failure or a fatal error ends the run."""
        if err.code() in refusal.AUTHORIZATION_ERRORS or err.fatal():
            self._kafka_error(err)

    def _serve_errors(self, timeout: float) -> None:
        """poll(): delivery reports and error_cb. A fatal error (e.g. no right to write, found while the
        idempotent producer asks for its id) is raised by poll itself, once: reported like error_cb's."""
        assert self.producer is not None
        try:
            self.producer.poll(timeout)
        except KafkaException as exc:
            self._kafka_error(exc.args[0])

    def _refuse(self, code: int, reason: str) -> None:
        """Remember the first refusal and end the run with it (thread-safe; start-up checks raise it)."""
        if self._refusal is not None:
            return
        self._refusal = Refused(code, reason)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._finish, code, reason)

    def _raise_refusal(self) -> None:
        if self._refusal is not None:
            raise self._refusal

    async def _heartbeat(self) -> None:
        """Proves the loop turns (liveness) and feeds systemd's watchdog while the feed is healthy."""
        while True:
            self._loop_beat_ns = time.time_ns()
            if self.stall is None or self.stall.state is not FeedState.STALLED:
                self.notifier.watchdog()  # a stalled feed starves systemd's watchdog too
            await asyncio.sleep(1.0)

    # --- bridge from source threads ------------------------------------------

    def _event_from_thread(self, event: SourceEvent) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_event, event)

    def _on_event(self, event: SourceEvent) -> None:
        log.info("source event: %s", describe(event))
        if isinstance(event, EndOfFeed):
            self._finish(EXIT_OK, "feed ended" if event.complete else f"feed ended early: {event.detail}")
        elif isinstance(event, Disconnected):
            if self._disconnect_timer is None:
                grace = self.settings.reconnect_grace_s
                assert self._loop is not None
                self._disconnect_timer = self._loop.call_later(
                    grace,
                    self._finish,
                    EXIT_FATAL,
                    f"quote session down ({event.detail or 'disconnected'}) and not back within {grace:.0f}s",
                )
        elif isinstance(event, (Reconnected, Connected)):
            if self._disconnect_timer is not None:
                self._disconnect_timer.cancel()
                self._disconnect_timer = None

    def _finish(self, code: int, reason: str) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result((code, reason))

    def request_stop(self, reason: str = "stop requested") -> None:
        """Thread-safe graceful stop (exit 0)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._finish, EXIT_OK, reason)

    # --- start-up ----------------------------------------------------------------

    async def _retry_until(self, what: str, fix: str, attempt: Callable[[], Any]) -> Any:
        """Run a blocking `attempt` in a thread until it succeeds or the start-up deadline passes."""
        deadline = time.monotonic() + self.settings.startup_deadline_s
        delay = 0.5
        while True:
            try:
                return await asyncio.to_thread(attempt)
            except Fatal:
                raise
            except Exception as exc:  # noqa: BLE001 - reported with the deadline below
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + delay > deadline:
                raise Fatal(f"{what} failed for {self.settings.startup_deadline_s:.0f}s ({last}); {fix}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _frame_headers(self) -> dict[str, bytes]:
        """Frame header per topic, from the registry through the real ProtobufSerializer."""
        s = self.settings
        registry = SchemaRegistryClient(s.registry_config())
        headers: dict[str, bytes] = {}
        for quote_type, _alias, topic in s.routes():
            message_type = MESSAGE_OF[quote_type]
            serializer = new_serializer(message_type, registry, s.auto_register_schemas)

            def attempt(serializer: Any = serializer, message_type: Any = message_type, topic: str = topic) -> bytes:
                try:
                    return frame_header(serializer, message_type, topic)
                except Exception as exc:  # a refused login or an untrusted certificate: no retry
                    refused = refusal.registry_login_refused(s, exc)
                    if refused is not None:
                        raise Refused(EXIT_CONFIG, refused) from None
                    raise

            headers[topic] = await self._retry_until(
                f"schema registry lookup of subject {topic}-value at {s.registry_url}",
                "start the registry or fix TXF_REGISTRY_URL, and register the contract with `make register`"
                if not s.auto_register_schemas
                else "start the registry or fix TXF_REGISTRY_URL",
                attempt,
            )
            log.info(
                "topic %s: schema id %d (%s)", topic, schema_id_of(headers[topic]), message_type.DESCRIPTOR.full_name
            )
        return headers

    async def _check_kafka(self, producer: Producer) -> None:
        """The broker answers within the deadline and every topic we write exists."""
        s = self.settings
        needed = sorted({t for _q, _a, t in s.routes()} | {str(s.dead_letter_topic)})

        def attempt() -> None:
            metadata = wait_for_metadata(
                producer, min(5.0, s.startup_deadline_s), self._raise_refusal, serve=self._serve_errors
            )
            hidden = unauthorized_topics(metadata, needed)
            if hidden:
                raise Refused(
                    EXIT_NOT_AUTHORIZED,
                    refusal.not_authorized(s, f"topics {hidden}: authorization failed", WRITE_GRANT, SPOOLED),
                )
            missing = [t for t in needed if t not in metadata.topics or metadata.topics[t].error is not None]
            if missing:  # not worth waiting for
                raise Fatal(
                    f"topics {missing} do not exist on {s.kafka_bootstrap}: create them with "
                    "`make register` (txf-registry topics)"
                )

        await self._retry_until(
            f"Kafka metadata from {s.kafka_bootstrap}", "start the broker or fix TXF_KAFKA_BOOTSTRAP", attempt
        )

    def _poll_loop(self) -> None:
        """Serve delivery reports until stopped (the only thread that calls poll())."""
        assert self.producer is not None
        while not self._poll_stop.is_set():
            self._serve_errors(0.1)

    # --- run ------------------------------------------------------------------------

    async def run(self) -> RunResult:
        """Start, run until a stop or a fatal error, stop; never raises."""
        self._loop = asyncio.get_running_loop()
        self._done = self._loop.create_future()
        self.started_ns = time.time_ns()
        s = self.settings
        tasks: list[asyncio.Task[Any]] = []
        poller: threading.Thread | None = None
        spool = Spool(s.state_dir / "spool.msgpack")
        code, reason = EXIT_FATAL, "not started"
        signals = (signal.SIGTERM, signal.SIGINT) if threading.current_thread() is threading.main_thread() else ()
        for sig in signals:  # a run embedded in another thread (tests) is stopped by request_stop()
            self._loop.add_signal_handler(sig, self._finish, EXIT_OK, f"{signal.Signals(sig).name} received")
        server = None
        self._loop_beat_ns = time.time_ns()
        try:
            metrics_port = s.metrics_port_in_use()
            if metrics_port:
                try:
                    server = serve(s.metrics_host, metrics_port, self.snapshot, self.health, self.latency)
                    log.info(
                        "metrics and health on http://%s:%d/metrics /healthz /readyz",
                        s.metrics_host,
                        server.server_port,
                    )
                except OSError as exc:  # metrics are for watching; a busy port must not stop the feed
                    log.error(
                        "metrics/health endpoint not served on %s:%d (%s): set TXF_METRICS_PORT",
                        s.metrics_host,
                        metrics_port,
                        exc,
                    )
            headers = await self._frame_headers()
            # librdkafka's own log lines go through Python logging, not raw stderr
            try:
                self.producer = Producer(
                    {**s.kafka_config(), "error_cb": self._kafka_error},
                    logger=logging.getLogger("txf_producer.librdkafka"),
                )
            except KafkaException as exc:  # a property librdkafka refuses (e.g. an unreadable CA file)
                raise Refused(EXIT_CONFIG, f"Kafka client settings refused: {exc.args[0].str()}") from None
            await self._check_kafka(self.producer)
            self.publisher = Publisher(
                self.producer,
                run_id=self.run_id,
                dead_letter_topic=str(s.dead_letter_topic),  # resolved from the topic map at validation
                spool=spool,
                publish_simtrade=s.publish_simtrade,
                queue_full_wait_s=s.queue_full_wait_s,
                on_event=self._event_from_thread,
                on_delivery_latency=self.latency.observe,
                on_delivery_error=self._delivery_failed,
            )
            poller = threading.Thread(target=self._poll_loop, name="kafka-poll", daemon=True)
            poller.start()
            sink: QuoteSink = self.publisher if self._wrap_sink is None else self._wrap_sink(self.publisher)
            self._sink = sink
            subscriptions = await self.source.start(sink)
            if isinstance(sink, SubscriptionSink):  # the recorder's header names the resolved streams
                sink.set_subscriptions(subscriptions)
            self.publisher.install(self._streams(subscriptions, headers))
            log.info(
                "producing: run id %016x, streams %s",
                self.run_id,
                ", ".join(f"{st.alias}/{st.code} {st.quote_type.value} -> {st.topic}" for st in self.publisher.streams),
            )
            self.producing = True
            self.notifier.ready(f"producing {len(self.publisher.streams)} streams, run {self.run_id:016x}")
            tasks.append(asyncio.create_task(self._heartbeat()))
            tasks.append(asyncio.create_task(self._stats_every(s.stats_interval_s)))
            if self.stall is not None:
                tasks.append(asyncio.create_task(self._watch()))
            for task in tasks:  # a background task that dies must take the process with it, loudly
                task.add_done_callback(self._task_ended)
            code, reason = await self._done
        except Refused as exc:
            code, reason = exc.code, str(exc)
        except Fatal as exc:
            code, reason = EXIT_FATAL, str(exc)
        except SourceConfigError as exc:  # wrong credentials: a restart would only burn logins
            code, reason = EXIT_CONFIG, f"source {self.source.name}: {exc}"
        except SourceError as exc:
            code, reason = EXIT_FATAL, f"source {self.source.name}: {exc}"
        except (KafkaException, OSError) as exc:
            code, reason = EXIT_FATAL, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a bug: say so in one line (traceback in the log), exit 1, never silently
            log.exception("unexpected error")
            code, reason = EXIT_FATAL, f"unexpected {type(exc).__name__}: {exc}"
        finally:
            if self._refusal is not None:  # the cause, whatever it made fail later (a feed that ended, a produce)
                code, reason = self._refusal.code, str(self._refusal)
            self.producing = False
            self.notifier.stopping(reason)
            for task in tasks:
                task.cancel()
            for sig in signals:
                self._loop.remove_signal_handler(sig)
            await self._shutdown(spool, poller)
            if self._refusal is not None:  # met while flushing (a feed that ended before Kafka refused it)
                code, reason = self._refusal.code, str(self._refusal)
            if server is not None:
                server.shutdown()
                server.server_close()
        stats = self.publisher.stats() if self.publisher else {}
        stats["spooled_total"] = spool.count
        return RunResult(code, reason, stats, self.run_id)

    def _task_ended(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background task %s failed", task.get_coro(), exc_info=exc)
            self._finish(EXIT_FATAL, f"internal task failed: {type(exc).__name__}: {exc}")

    def _streams(self, subscriptions: list[Any], headers: dict[str, bytes]) -> list[Stream]:
        topic_of = {(q, a): t for q, a, t in self.settings.routes()}
        streams = []
        for sub in subscriptions:
            topic = topic_of.get((sub.quote_type, sub.alias))
            if topic is None:
                raise Fatal(f"source subscribed {sub.alias} {sub.quote_type.value}, which has no topic route")
            streams.append(Stream(sub.quote_type, sub.code, sub.alias, topic, headers[topic]))
        return streams

    async def _shutdown(self, spool: Spool, poller: threading.Thread | None) -> None:
        """Stop the source, flush within the bound, spool what is left, stop polling."""
        try:
            await asyncio.wait_for(self.source.stop(), timeout=max(1.0, self.settings.flush_timeout_s / 2))
        except Exception as exc:  # noqa: BLE001 - shutdown goes on regardless
            log.warning("source stop: %s: %s", type(exc).__name__, exc)
        close = getattr(self._sink, "close", None)  # a wrapping sink (the recorder) flushes its file
        if close is not None:
            try:
                await asyncio.to_thread(close)
            except Exception as exc:  # noqa: BLE001
                log.error("closing %s: %s: %s", type(self._sink).__name__, type(exc).__name__, exc)
        if self.producer is not None:
            self._poll_stop.set()
            if poller is not None:
                await asyncio.to_thread(poller.join)
            left = await asyncio.to_thread(self.producer.flush, self.settings.flush_timeout_s)
            if left:
                log.error(
                    "%d records not delivered within %.0fs: spooling them to %s",
                    left,
                    self.settings.flush_timeout_s,
                    spool.path,
                )
                self.producer.purge(in_queue=True, in_flight=True, blocking=True)
                await asyncio.to_thread(self.producer.flush, 1.0)  # serves the purge reports -> spool
        spool.close()

    async def _stats_every(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            if self.publisher is not None:
                log.info("stats %s queue=%d", self.publisher.stats(), len(self.producer) if self.producer else 0)

    async def _watch(self) -> None:
        """Judge silence every few seconds; re-subscribe on a stall, exit 1 if that did not help."""
        assert self.stall is not None and self.publisher is not None
        period = min(5.0, self.stall.timeout_s / 4)
        while True:
            await asyncio.sleep(period)
            action = self.stall.check(time.time_ns(), self.publisher.counters.last_quote_ns)
            if action is Action.RESUBSCRIBE:
                log.warning(
                    "feed %s (%.0fs bound): re-subscribing", self.stall.state.value, self.stall.bound_s(time.time_ns())
                )
                self.notifier.status(f"feed {self.stall.state.value}: re-subscribing")
                try:
                    await self.source.resubscribe()
                except Exception as exc:  # noqa: BLE001 - the next check decides
                    log.error("re-subscribe failed: %s: %s", type(exc).__name__, exc)
            elif action is Action.FATAL:
                silent = (time.time_ns() - self.publisher.counters.last_quote_ns) / 1e9
                self._finish(
                    EXIT_FATAL,
                    f"no quotes for {silent:.0f}s inside a trading session, re-subscribing "
                    "did not help (silent feed stall)",
                )


def run_app(make_app: Callable[[], ProducerApp]) -> RunResult:
    """Run a ProducerApp on uvloop and return its result."""
    import uvloop

    async def main() -> RunResult:
        return await make_app().run()

    return uvloop.run(main())
