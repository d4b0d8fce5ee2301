"""The arbiter's Prometheus families: per leg (what it contributed, how fresh it is) and per hole."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from txf_arbiter.core import Stats
from txf_kit.metrics import LatencyHistogram


class ArbiterCollector(Collector):
    """Computed per scrape from the core's plain counters (never on the record path)."""

    def __init__(
        self, stats: Callable[[], Stats | None], extra: Callable[[], dict[str, Any]], latency: LatencyHistogram
    ) -> None:
        self._stats = stats
        self._extra = extra
        self._latency = latency

    def collect(self) -> Iterable[Any]:
        e = self._extra()
        yield GaugeMetricFamily("txf_arbiter_active", "1 while this arbiter is the one writing", value=e["active"])
        yield CounterMetricFamily(
            "txf_arbiter_takeovers", "Times this process became the active arbiter", value=e["takeovers"]
        )
        yield CounterMetricFamily(
            "txf_arbiter_delivery_errors", "Canonical records Kafka refused", value=e["delivery_errors"]
        )
        h = HistogramMetricFamily(
            "txf_arbiter_leg_to_ack_seconds", "A quote's leg receive time to its canonical record's acknowledgement"
        )
        h.add_metric([], self._latency.buckets(), self._latency.sum)
        yield h
        s = self._stats()
        if s is None:
            return
        yield CounterMetricFamily("txf_arbiter_emitted", "Quotes written to the canonical topics", value=s.emitted)
        yield CounterMetricFamily(
            "txf_arbiter_late", "Quotes written after a later one of their stream (flag LATE)", value=s.late
        )
        yield CounterMetricFamily("txf_arbiter_holes", "Capture holes recorded (no leg delivered)", value=s.holes)
        families = {
            "records": CounterMetricFamily("txf_arbiter_leg_records", "Leg records read", labels=["leg"]),
            "first_seen": CounterMetricFamily(
                "txf_arbiter_leg_first_seen",
                "Quotes this leg delivered first (its share of the output)",
                labels=["leg"],
            ),
            "duplicates": CounterMetricFamily(
                "txf_arbiter_leg_duplicates", "Quotes this leg delivered after another leg (dropped)", labels=["leg"]
            ),
            "dead_letters": CounterMetricFamily(
                "txf_arbiter_leg_dead_letters",
                "Leg records dead-lettered (unreadable, foreign, too late)",
                labels=["leg"],
            ),
        }
        age = GaugeMetricFamily(
            "txf_arbiter_leg_age_seconds",
            "Seconds since the newest record this leg captured (its receive time)",
            labels=["leg"],
        )
        now = time.time_ns()
        for leg, st in sorted(s.legs.items()):
            for name, family in families.items():
                family.add_metric([leg], getattr(st, name))
            age.add_metric([leg], (now - st.last_receive_ns) / 1e9 if st.last_receive_ns else float("nan"))
        yield from families.values()
        yield age
