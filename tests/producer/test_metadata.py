"""txf_kit.metadata.wait_for_metadata with a stand-in client: retries what may pass, stops at once on
a fatal client error, and lets the caller's refusal (seen by its error callback) win over the bare error."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from txf_kit.metadata import wait_for_metadata

ANSWER = object()


class StandIn:
    """list_topics answers from a script: an exception to raise, or the metadata to return."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.asked = 0
        self.served: list[float] = []

    def poll(self, seconds: float) -> int:
        self.served.append(seconds)
        return 0

    def list_topics(self, timeout: float) -> Any:
        self.asked += 1
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


def _down() -> KafkaException:
    return KafkaException(KafkaError(KafkaError._TRANSPORT, "Connection refused"))


def _fatal() -> KafkaException:
    return KafkaException(
        KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED, "Failed to acquire idempotence PID", fatal=True)
    )


def test_a_broker_that_answers_late_is_waited_for() -> None:
    client = StandIn(_down(), _down(), ANSWER)
    assert wait_for_metadata(client, 60, lambda: None) is ANSWER  # type: ignore[arg-type]
    assert client.asked == 3


def test_a_fatal_client_error_ends_the_wait_at_once() -> None:
    client = StandIn(_fatal(), ANSWER)
    with pytest.raises(KafkaException) as raised:
        wait_for_metadata(client, 60, lambda: None)  # type: ignore[arg-type]
    assert raised.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    assert client.asked == 1


def test_the_callers_refusal_wins_over_the_fatal_error() -> None:
    """The error callback, served once more after the fatal answer, records the refusal; `refused()` raises
    it (with the caller's exit code) instead of the bare KafkaException."""

    class Refused(Exception):
        pass

    client = StandIn(_fatal())

    def refused() -> None:
        if client.asked:  # what the error callback saw once the client failed
            raise Refused("exit 77")

    with pytest.raises(Refused):
        wait_for_metadata(client, 60, refused)  # type: ignore[arg-type]
    assert client.served[-1] == 0  # served after the fatal answer, before the verdict
