"""How a service ends: one exception with its exit code, and one latch for errors raised off its thread.

librdkafka reports a refused login, a missing ACL or a fatal client error from its own callbacks
(error_cb, a delivery report, poll), on whatever thread serves them; the service's loop must end on
its own thread, with the right code. `ErrorLatch` keeps the first such error and the loop raises it
(`raise_if_set`), so every service (the arbiter, the archiver, the bar builder) turns the same
Kafka error into the same exit: 77 or 78 where a restart cannot help (txf_kit.refusal), 1 where
systemd should restart it. `wait_for_broker` is the start-up wait all of them share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import ClusterMetadata

from txf_kit import refusal
from txf_kit.metadata import wait_for_metadata

EXIT_OK, EXIT_FATAL = 0, refusal.EXIT_FATAL
EXIT_NOT_AUTHORIZED, EXIT_CONFIG = refusal.EXIT_NOT_AUTHORIZED, refusal.EXIT_CONFIG


class ServiceExit(RuntimeError):
    """A reason for a service to end; str() is its one log line, `code` its exit status: 1 (systemd
    restarts it), 77 not authorized or 78 settings or credentials rejected (systemd leaves it stopped)."""

    def __init__(self, reason: str, code: int = EXIT_FATAL) -> None:
        super().__init__(reason)
        self.code = code


class ErrorLatch:
    """The first fatal error a service's Kafka callbacks saw, for its loop to raise (thread-safe).

    `grants` names what the service runs on (its exit-77 line says so); `consequence` what became of
    the records it held when it was refused (the producer's spool, say). Without a `connection` (a
    library used without settings) a refusal is told in the broker's words."""

    def __init__(self, connection: refusal.Connection | None, grants: str, consequence: str = "") -> None:
        self.connection = connection
        self.grants = grants
        self.consequence = consequence
        self._lock = threading.Lock()
        self._error: ServiceExit | None = None

    @property
    def error(self) -> ServiceExit | None:
        return self._error

    def exit_for(self, err: KafkaError, what: str = "Kafka error") -> ServiceExit:
        """The exit a Kafka error means: its refusal with 77/78 and the one line, anything else 1."""
        refused = (
            refusal.describe(self.connection, err, self.grants, self.consequence)
            if self.connection is not None
            else refusal.without_settings(err)
        )
        return ServiceExit(refused[1], refused[0]) if refused else ServiceExit(f"{what}: {err.str()}")

    def latch(self, exc: ServiceExit) -> None:
        """Keep `exc` unless an earlier error was kept (the first cause is the one worth telling)."""
        with self._lock:
            if self._error is None:
                self._error = exc

    def offer(self, err: KafkaError, what: str = "Kafka error") -> bool:
        """Latch `err` when it ends the service (fatal, or a refusal); False for what a retry cures."""
        if err.fatal() or refusal.refusal_code(err) is not None:
            self.latch(self.exit_for(err, what))
            return True
        return False

    def raise_if_set(self) -> None:
        if self._error is not None:
            raise self._error

    def wait_for_broker(
        self,
        client: Producer | Consumer,
        timeout_s: float,
        serve: Callable[[float], object] | None = None,
    ) -> ClusterMetadata:
        """The cluster's metadata once a broker answers (txf_kit.metadata): a refusal ends the wait at
        once with its code; no broker within `timeout_s` is exit 1 naming TXF_KAFKA_BOOTSTRAP."""
        try:
            return wait_for_metadata(client, timeout_s, self.raise_if_set, serve)
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            if error is not None and refusal.refusal_code(error) is not None:
                raise self.exit_for(error) from None
            where = f" at {self.connection.kafka_bootstrap}" if self.connection is not None else ""
            raise ServiceExit(
                f"Kafka{where} unreachable within {timeout_s:g} s "
                f"({error.str() if error is not None else exc}): start it or fix TXF_KAFKA_BOOTSTRAP"
            ) from None
