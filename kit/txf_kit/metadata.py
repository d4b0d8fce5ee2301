"""Asking a Kafka client for the cluster's metadata at start-up, the way every service does.

One long `list_topics(timeout=30)` would hide a refused login behind a timeout ("unreachable"), so the
producer, the arbiter, the bar builder and the archiver ask in short requests and serve the client's
callbacks in between: the error callback sees a rejected SCRAM login or an ACL refusal within a second,
and the caller's `refused()` ends the wait with that cause (txf_kit.refusal) instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import ClusterMetadata


def wait_for_metadata(
    client: Producer | Consumer,
    timeout_s: float,
    refused: Callable[[], None],
    serve: Callable[[float], object] | None = None,
) -> ClusterMetadata:
    """The cluster's metadata once a broker answers; KafkaException after `timeout_s` without one, or at
    once when the client's error is fatal (an idempotent producer refused its PID by an ACL: asking again
    cannot help). `refused()` raises the caller's error once its callbacks saw a refusal; `serve(seconds)`
    serves the callbacks (default: client.poll)."""
    serve = serve or client.poll
    deadline = time.monotonic() + timeout_s
    while True:
        serve(0.1)
        refused()
        try:
            metadata: ClusterMetadata = client.list_topics(timeout=0.5)
            return metadata
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.fatal():
                serve(0)  # the error callback's verdict (a refusal, with its exit code) comes first
                refused()
                raise
            if time.monotonic() > deadline:
                raise


def unauthorized_topics(metadata: ClusterMetadata, topics: Iterable[str]) -> list[str]:
    """The `topics` this principal may not even describe (TOPIC_AUTHORIZATION_FAILED in their metadata)."""
    hidden = []
    for t in topics:
        topic = metadata.topics.get(t)
        error = topic.error if topic is not None else None
        if error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            hidden.append(t)
    return hidden
