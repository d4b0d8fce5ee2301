"""Prometheus metrics and health endpoints, read at scrape time, never on the hot path.

The quote path only bumps plain integers (publisher.Counters) and, on the poll
thread, one bucket of `LatencyHistogram`; a custom collector turns them into
Prometheus families when scraped. `/healthz` answers while the process and its
event loop live; `/readyz` only while the producer is producing: started,
broker reachable, and not stalled inside a trading session.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from txf_producer.stall import FeedState

# One txf_feed_state series per state of the stall detector.
FEED_STATES = tuple(state.value for state in FeedState)
# produce() -> broker acknowledgement, seconds (loopback acks=all is ~1 ms; a feed p99 is ~0.8 s)
LATENCY_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class LatencyHistogram:
    """Fixed buckets, written by one thread (the Kafka poll thread), read by scrapes."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS_S) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    def buckets(self) -> list[tuple[str, int]]:
        """Cumulative (le, count) pairs, +Inf last, as Prometheus wants them."""
        out, total = [], 0
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            total += count
            out.append((bound, total))
        return out


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


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def serve(
    host: str,
    port: int,
    snapshot: Callable[[], dict[str, Any]],
    health: Callable[[], dict[str, Any]],
    latency: LatencyHistogram,
) -> WSGIServer:
    """Serve the producer's /metrics, /healthz and /readyz on host:port from a daemon thread."""
    return serve_collector(host, port, ProducerCollector(snapshot, latency), health)


def serve_collector(host: str, port: int, collector: Collector, health: Callable[[], dict[str, Any]]) -> WSGIServer:
    """Serve `collector` on /metrics and `health()` on /healthz (its "live") and /readyz (its "ready")."""
    registry = CollectorRegistry()
    registry.register(collector)
    ProcessCollector(registry=registry)  # process_start_time_seconds (restarts), RSS, CPU, open fds
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path in ("/healthz", "/readyz"):
            h = health()
            ok = h["live"] if path == "/healthz" else h["ready"]
            body = json.dumps(h, sort_keys=True).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        body_parts: list[bytes] = metrics_app(environ, start_response)
        return body_parts

    server = make_server(host, port, app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server


def monotonic_age(last_ns: int) -> float | None:
    """Seconds since a time.time_ns() stamp, or None if it never happened."""
    return None if not last_ns else max(0.0, (time.time_ns() - last_ns) / 1e9)
