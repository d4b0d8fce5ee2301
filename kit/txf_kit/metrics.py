"""A service's Prometheus endpoint and its one histogram: /metrics, /healthz, /readyz from a thread.

Every service (the producer, the arbiter, the archiver, the bar builder) exports what it knows through
a custom collector, computed when scraped, never on its hot path, and serves it here beside its
health: `/healthz` answers while the process and its loop live, `/readyz` while it does its job.
Needs the kit's `service` extra (prometheus-client).
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.registry import Collector

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


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


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
