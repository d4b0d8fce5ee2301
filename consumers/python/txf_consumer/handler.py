"""What a strategy implements to receive quotes: the original design's "Kafka -> Strategy" hook.

The consumer decodes, checks and tracks each record, then calls exactly one of
`on_tick` / `on_bidask` with the generated message and a `RecordMeta`. Handlers
run on the consumer's thread, one record at a time, in partition order; the
record's offset is committed only after the handler returned, so a handler that
raises stops the consumer and the record is read again on the next start
(at-least-once). Keep handlers short: a slow handler delays every later quote.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

from txf.v1 import BidAsk, Gap, Tick

# confluent_kafka timestamp types, by name
TIMESTAMP_TYPES = {0: "none", 1: "create", 2: "log_append"}


class RecordMeta(NamedTuple):
    """Where a message came from and when.

    `kafka_timestamp_ms` is the record timestamp (producer CreateTime or broker
    LogAppendTime, see `kafka_timestamp_type`), `receive_time_ns` the consumer's
    wall clock (epoch ns) just before the tracker and the handler got the record:
    the "consumer receive" end of the latencies the tracker measures. A NamedTuple,
    not a dataclass: one is built per record and this is the cheapest immutable
    record type in CPython (the loop builds it with `tuple.__new__`, skipping the
    generated `__new__`'s Python call).
    """

    topic: str
    partition: int
    offset: int
    schema_id: int
    type_name: str
    key: bytes | None
    kafka_timestamp_ms: int | None
    kafka_timestamp_type: str
    receive_time_ns: int


@runtime_checkable
class QuoteHandler(Protocol):
    """A strategy: receives every decoded txf.v1 message of the subscribed topics."""

    def on_tick(self, tick: Tick, meta: RecordMeta) -> None:
        """One trade (txf.v1.Tick)."""

    def on_bidask(self, bidask: BidAsk, meta: RecordMeta) -> None:
        """One five-level book snapshot (txf.v1.BidAsk)."""


class BaseHandler:
    """A QuoteHandler that ignores everything: subclass it and override what you need.

    Other messages go to `on_<name>` when the handler has it: `on_gap` receives the capture holes of
    the `txf-gaps` ledger topic (txf.v1.Gap) when that topic is subscribed.
    """

    def on_tick(self, tick: Tick, meta: RecordMeta) -> None:
        """Ignore the trade."""

    def on_bidask(self, bidask: BidAsk, meta: RecordMeta) -> None:
        """Ignore the book."""

    def on_gap(self, gap: Gap, meta: RecordMeta) -> None:
        """Ignore the capture hole (txf.v1.Gap, the arbiter's ledger)."""
