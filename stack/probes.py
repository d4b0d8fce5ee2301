"""Does it answer? Real client requests against the stack's servers, never a port check alone.

Kafka: a metadata request through confluent-kafka (librdkafka), as every client of the stack makes
it; a broker counts as up when the cluster lists it (KRaft lists only registered, unfenced
brokers). Registry: `GET /subjects` of the Confluent API answers 200 with a JSON list.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from stack.config import HOST, StackConfig


def cluster_metadata(bootstrap: str, timeout: float = 3.0, security: dict[str, Any] | None = None) -> dict[str, Any]:
    """{'cluster_id', 'controller_id', 'brokers': [(node_id, host, port)], 'topics': {name: TopicMetadata}}.

    Raises ConnectionError when no broker of `bootstrap` answers within `timeout`. librdkafka's own
    connection logs are silenced: a probe that waits for a starting broker fails many times on purpose.
    `security`: librdkafka properties of an authenticated client (the secured profile's).
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    quiet = logging.getLogger("txf.localstack.librdkafka")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    admin = AdminClient(
        {**(security or {}), "bootstrap.servers": bootstrap, "socket.timeout.ms": max(10, int(timeout * 1000))},
        logger=quiet,
    )
    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise ConnectionError(f"no Kafka metadata from {bootstrap} within {timeout:g} s: {exc}") from None
    brokers = sorted((b.id, b.host, b.port) for b in md.brokers.values())
    return {"cluster_id": md.cluster_id, "controller_id": md.controller_id, "brokers": brokers, "topics": md.topics}


def kafka_metadata(
    port: int, host: str = HOST, timeout: float = 3.0, security: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`cluster_metadata` of the broker at host:port."""
    return cluster_metadata(f"{host}:{port}", timeout, security)


def broker_listed(port: int, timeout: float = 3.0, security: dict[str, Any] | None = None) -> bool:
    """The broker on `port` answers and the cluster lists it (registered and unfenced)."""
    try:
        md = kafka_metadata(port, timeout=timeout, security=security)
    except (OSError, ConnectionError):
        return False
    return any(p == port for _n, _h, p in md["brokers"])


def kafka_ready(cfg: StackConfig, timeout: float = 3.0) -> bool:
    """The single-node profile's broker answers."""
    return broker_listed(cfg.kafka_port, timeout)


def registry_ready(cfg: StackConfig, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(cfg.registry_url + "/subjects", timeout=timeout) as resp:
            return resp.status == 200 and isinstance(json.loads(resp.read()), list)
    except (OSError, urllib.error.URLError, ValueError):
        return False


def probe(cfg: StackConfig | None = None) -> tuple[bool, bool]:
    """(single-node Kafka answers, registry answers) on the configured ports."""
    cfg = cfg or StackConfig.from_env()
    return kafka_ready(cfg), registry_ready(cfg)


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def listening(port: int) -> bool:
    """Something accepts connections on HOST:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex((HOST, port)) == 0


def wait_port_free(port: int, seconds: float = 65.0) -> bool:
    """Whether HOST:port can be bound, waiting out a port that nothing listens on.

    Ports in the kernel's ephemeral range (32768-60999 here) are also handed to outgoing connections;
    such a connection's TIME_WAIT (60 s) keeps a server from binding the port although nobody
    listens. That clears by itself, so it is waited for; a listener is reported at once.
    """
    deadline = time.monotonic() + seconds
    while not port_free(port):
        if listening(port) or time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True
