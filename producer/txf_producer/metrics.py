"""Prometheus metrics and health endpoints, read at scrape time, never on the hot path.

The quote path only bumps plain integers (publisher.Counters) and, on the poll
thread, one bucket of `LatencyHistogram`; a custom collector turns them into
Prometheus families when scraped. `/healthz` answers while the process and its
event loop live; `/readyz` only while the producer is producing: started,
broker reachable, and not stalled inside a trading session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from txf_kit.metrics import LatencyHistogram, serve_collector
from txf_producer.stall import FeedState

# One txf_feed_state series per state of the stall detector.
FEED_STATES = tuple(state.value for state in FeedState)


class ProducerCollector(Collector):
    """Everything the producer knows, as Prometheus families, computed per scrape."""

    def __init__(self, snapshot: Callable[[], dict[str, Any]], latency: LatencyHistogram) -> None:
        self._snapshot = snapshot
        self._latency = latency

    def collect(self) -> Iterable[Any]:
        s = self._snapshot()
        received = CounterMetricFamily("txf_quotes_received", "Quotes received from the source", labels=["type"])
        received.add_metric(["tick"], s.get("received_tick", 0))
        received.add_metric(["bidask"], s.get("received_bidask", 0))
        yield received
        published = CounterMetricFamily("txf_messages_published", "Records handed to Kafka", labels=["topic"])
        delivered = CounterMetricFamily("txf_messages_delivered", "Records acknowledged by Kafka", labels=["topic"])
        for topic, n in s.get("published", {}).items():
            published.add_metric([topic], n)
        for topic, n in s.get("delivered", {}).items():
            delivered.add_metric([topic], n)
        yield published
        yield delivered
        for name, key, doc in (
            ("txf_dead_lettered", "dead_lettered", "Quotes sent to the dead-letter topic (conversion errors)"),
            ("txf_delivery_errors", "delivery_errors", "Records Kafka failed to deliver (spooled)"),
            ("txf_spooled", "spooled", "Records written to the local spool file"),
            ("txf_skipped_simtrade", "skipped_simtrade", "Pre-open trial-match quotes not published"),
            ("txf_queue_full_waits", "queue_full_waits", "Times the quote callback waited for queue room"),
        ):
            yield CounterMetricFamily(name, doc, value=s.get(key, 0))
        yield GaugeMetricFamily("txf_queue_depth", "Records in librdkafka's local queue", value=s.get("queue", 0))
        yield GaugeMetricFamily(
            "txf_queue_max_messages",
            "Capacity of that queue (queue.buffering.max.messages)",
            value=s.get("queue_max", 0),
        )
        age = s.get("last_quote_age_s")
        yield GaugeMetricFamily(
            "txf_last_quote_age_seconds",
            "Seconds since the last quote (NaN: none yet)",
            value=float("nan") if age is None else age,
        )
        yield GaugeMetricFamily("txf_ready", "1 while producing (see /readyz)", value=1 if s.get("ready") else 0)
        feed = GaugeMetricFamily(
            "txf_feed_state",
            "1 for the stall detector's current judgement of the feed (all 0: the source is not watched, e.g. sim)",
            labels=["state"],
        )
        for state in FEED_STATES:
            feed.add_metric([state], 1 if s.get("feed") == state else 0)
        yield feed
        exits = CounterMetricFamily(
            "txf_service_exits",
            "Earlier runs of the service by how systemd saw them end "
            "(SERVICE_RESULT, counted by ExecStopPost=txf-record-exit)",
            labels=["result"],
        )
        for result, n in s.get("service_exits", {}).items():
            exits.add_metric([result], n)
        yield exits
        h = HistogramMetricFamily(
            "txf_produce_to_ack_seconds", "produce() to broker acknowledgement (acks=all)", unit=""
        )
        h.add_metric([], self._latency.buckets(), self._latency.sum)
        yield h


def serve(
    host: str,
    port: int,
    snapshot: Callable[[], dict[str, Any]],
    health: Callable[[], dict[str, Any]],
    latency: LatencyHistogram,
) -> WSGIServer:
    """Serve the producer's /metrics, /healthz and /readyz on host:port from a daemon thread."""
    return serve_collector(host, port, ProducerCollector(snapshot, latency), health)
