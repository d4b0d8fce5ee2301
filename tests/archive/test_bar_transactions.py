"""The bar builder's transactions through a broker failover (unit: a scripted producer, no Kafka).

A failover makes a transactional call fail; the broker may say the transaction must be aborted. The
same bars must then go out once, in a new transaction, and every call must be bounded: librdkafka's
`abort_transaction()` without a timeout waits for ever, and a coordinator lost mid-abort left the
builder hung and deaf to SIGTERM in the nemesis (seed 2 of the CI profile: 809 bars never published).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from txf_archive import barservice
from txf_archive.barservice import BarService


class ScriptedProducer:
    """Records every transactional call; `fail` maps a call name to the errors it raises, in turn."""

    def __init__(self, fail: dict[str, list[KafkaError]]) -> None:
        self.fail = fail
        self.calls: list[tuple[str, Any]] = []
        self.produced: list[bytes] = []

    def _call(self, name: str, timeout: Any = None) -> None:
        self.calls.append((name, timeout))
        if self.fail.get(name):
            raise KafkaException(self.fail[name].pop(0))

    def begin_transaction(self) -> None:
        self._call("begin")

    def produce(self, topic: str, key: bytes, value: bytes) -> None:
        self.produced.append(value)

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float | None = None) -> None:
        self._call("offsets", timeout)

    def commit_transaction(self, timeout: float | None = None) -> None:
        self._call("commit", timeout)

    def abort_transaction(self, timeout: float | None = None) -> None:
        self._call("abort", timeout)


class OneBar:
    code = "TXFL6"

    def to_message(self, sequence: int, run_id: int, now_ns: int) -> Any:
        return SimpleNamespace(SerializeToString=lambda: f"bar {sequence}".encode())


def _service() -> BarService:
    service = object.__new__(BarService)  # only what _commit touches: no registry, no Kafka
    service.settings = SimpleNamespace(flush_timeout_s=10.0)
    service.builder = SimpleNamespace(published={"TXFL6": 1}, low_water=lambda tp: None)
    service.consumed = {("txf-tick", 0): 42}
    service.sequence = {}
    service.run_id = 7
    service.out_topic = "txf-bars-1m"
    service.summary = {"bars": 0, "transactions": 0}
    service.metrics = SimpleNamespace(published=SimpleNamespace(inc=lambda n: None))
    service._in_transaction = False
    service._log = lambda message: None
    return service


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(barservice.time, "sleep", lambda s: None)


def test_an_abortable_commit_is_aborted_with_a_bound_and_the_same_bars_sent_once_more() -> None:
    must_abort = KafkaError(KafkaError._FENCED, "coordinator moved", txn_requires_abort=True)
    producer = ScriptedProducer({"commit": [must_abort]})
    service = _service()
    service._commit(SimpleNamespace(consumer_group_metadata=lambda: None), producer, b"", [OneBar()])
    names = [name for name, _ in producer.calls]
    assert names == ["begin", "offsets", "commit", "abort", "begin", "offsets", "commit"]
    assert all(timeout is not None and timeout > 0 for name, timeout in producer.calls if name != "begin")
    assert producer.produced == [b"bar 1", b"bar 1"]  # the aborted copy is never read (read_committed)
    assert service.summary == {"bars": 1, "transactions": 1} and service.sequence == {"TXFL6": 1}
    assert service._in_transaction is False


def test_an_abort_the_broker_keeps_refusing_ends_the_builder_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    must_abort = KafkaError(KafkaError._FENCED, "coordinator moved", txn_requires_abort=True)
    timed_out = KafkaError(KafkaError._TIMED_OUT, "abort timed out", retriable=True)
    producer = ScriptedProducer({"commit": [must_abort], "abort": [timed_out] * 1000})
    clock = iter(range(0, 100_000, 5))  # each look at the clock is 5 s later
    monkeypatch.setattr(barservice.time, "monotonic", lambda: float(next(clock)))
    with pytest.raises(KafkaException):
        _service()._commit(SimpleNamespace(consumer_group_metadata=lambda: None), producer, b"", [OneBar()])
    aborts = [timeout for name, timeout in producer.calls if name == "abort"]
    assert 1 < len(aborts) < 1000 and all(t == 10.0 for t in aborts)  # retried within TXN_RETRY_S, bounded
