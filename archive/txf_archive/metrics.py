"""Prometheus metrics of the archiver and the bar builder (each on its own registry and port).

Names (all prefixed txf_archive_): rows_written_total{type}, malformed_total{topic}, files_written_total,
bytes_written_total, segments_total, lag_records{topic,partition} (high watermark minus the next
offset to archive), last_segment_timestamp_seconds, flush_seconds (histogram); and for the bar
builder txf_bars_published_total, txf_bars_late_ticks_total, txf_bars_skipped_simtrade_total.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class ArchiveMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.rows = Counter("txf_archive_rows_written_total", "Rows written to Parquet, by type", ["type"], registry=r)
        self.malformed = Counter("txf_archive_malformed_total", "Records kept raw as malformed", ["topic"], registry=r)
        self.files = Counter("txf_archive_files_written_total", "Parquet part files written", registry=r)
        self.bytes = Counter("txf_archive_bytes_written_total", "Bytes of Parquet written", registry=r)
        self.segments = Counter("txf_archive_segments_total", "Segments made durable", registry=r)
        self.lag = Gauge(
            "txf_archive_lag_records",
            "High watermark minus the next offset to archive",
            ["topic", "partition"],
            registry=r,
        )
        self.last_segment = Gauge(
            "txf_archive_last_segment_timestamp_seconds", "When the last segment became durable", registry=r
        )
        self.flush_seconds = Histogram(
            "txf_archive_flush_seconds",
            "Time to decode and write one segment",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )

    def serve(self, host: str, port: int) -> None:
        """Expose the metrics on http://host:port/metrics (port 0: not at all)."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)


class BarMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.published = Counter("txf_bars_published_total", "Bars published (committed transactions)", registry=r)
        self.late = Counter("txf_bars_late_ticks_total", "Ticks that came after their bar was published", registry=r)
        self.simtrade = Counter("txf_bars_skipped_simtrade_total", "Trial-match ticks left out of bars", registry=r)

    def serve(self, host: str, port: int) -> None:
        """Expose the metrics on http://host:port/metrics (port 0: not at all)."""
        if port:
            start_http_server(port, addr=host, registry=self.registry)
