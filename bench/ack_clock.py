"""When the broker acknowledged each record: a timestamp on every delivery report of the producer in this process.

Wraps `Publisher._delivered` (the delivery callback of the shipped producer) to
note the arrival time and the record; `pairs()` turns them into (producer
receive_time_ns, ack time) per record: callback entered -> broker ack.
"""

from __future__ import annotations

import time
from typing import Any

from txf.v1 import BidAsk, Tick
from txf_producer.publisher import Publisher


class AckClock:
    """Wraps Publisher._delivered: records (ack time, topic, value) per delivered record of this process."""

    def __init__(self) -> None:
        self.acks: list[tuple[int, str, bytes]] = []
        self.first_record_ms = 0.0
        original = Publisher._delivered
        acks = self.acks

        def timed(pub: Publisher, err: Any, msg: Any) -> None:
            if err is None:
                acks.append((time.time_ns(), msg.topic(), msg.value()))
            original(pub, err, msg)

        Publisher._delivered = timed  # type: ignore[method-assign]

    def pairs(self, tick_topic: str) -> list[tuple[int, int]]:
        """(producer receive_time_ns, ack ns) of every record acknowledged so far; forgets them."""
        out = [
            ((Tick if topic == tick_topic else BidAsk).FromString(value[6:]).receive_time_ns, ack_ns)
            for ack_ns, topic, value in self.acks
        ]
        self.acks.clear()
        return out

    def take(self, tick_topic: str, warmup_s: float) -> list[int]:
        """Latencies of the records received after the first `warmup_s` of the phase.

        A new producer spends its first ~50 ms getting its idempotent producer id and
        metadata; in production it starts 15 minutes before the open, so that cost is
        excluded (and reported separately as `first_record_ms`).
        """
        pairs = self.pairs(tick_topic)
        if not pairs:
            return []
        start = min(recv for recv, _a in pairs)
        self.first_record_ms = round((pairs[0][1] - pairs[0][0]) / 1e6, 3)
        return [ack - recv for recv, ack in pairs if recv - start >= warmup_s * 1e9]
