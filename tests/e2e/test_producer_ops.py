"""Metrics, health and sd_notify of a running producer, scraped for real."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from txf_producer.app import EXIT_OK, ProducerApp, run_app
from txf_producer.settings import load_settings
from txf_producer.sources.simulated import SimConfig, SimulatedSource
from txf_registry import provision, topic_settings

pytestmark = pytest.mark.integration
TAIPEI = dt.timezone(dt.timedelta(hours=8))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def topics(stack: Any) -> dict[str, str]:
    prefix = f"ops{uuid.uuid4().hex[:8]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    return topic_settings(prefix)


def test_metrics_health_and_sd_notify_while_producing(
    stack: Any, topics: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_path))
    port = _free_port()
    settings = load_settings(
        kafka_bootstrap=stack.bootstrap_servers,
        registry_url=stack.registry_url,
        state_dir=tmp_path / "state",
        metrics_port=port,
        stats_interval_s=3600,
        **topics,
    )
    streams = tuple((a, q) for q, a, _t in settings.routes())
    source = SimulatedSource(
        SimConfig(seed=3, start=dt.datetime(2026, 11, 24, 8, 45, tzinfo=TAIPEI), streams=streams, rate=2000)
    )
    apps: list[ProducerApp] = []
    result: list[Any] = []

    def make() -> ProducerApp:
        apps.append(ProducerApp(settings, source))
        return apps[0]

    runner = threading.Thread(target=lambda: result.append(run_app(make)))
    runner.start()
    try:
        messages = []
        while not any(m.startswith(b"READY=1") for m in messages):  # sent once producing
            messages.append(notify.recv(4096))
        while b"WATCHDOG=1" not in messages:
            messages.append(notify.recv(4096))
        base = f"http://127.0.0.1:{port}"
        status, body = _get(base + "/readyz")
        assert status == 200 and json.loads(body)["ready"] is True, body
        assert _get(base + "/healthz")[0] == 200
        while True:  # wait for deliveries to show up in a scrape
            status, text = _get(base + "/metrics")
            assert status == 200
            delivered = [
                line
                for line in text.splitlines()
                if line.startswith("txf_messages_delivered_total") and str(settings.bidask_topic) in line
            ]
            if delivered and float(delivered[0].split()[-1]) >= 500:
                break
        for family in (
            'txf_quotes_received_total{type="bidask"}',
            "txf_messages_published_total",
            "txf_dead_lettered_total",
            "txf_delivery_errors_total",
            "txf_queue_depth",
            "txf_last_quote_age_seconds",
            'txf_produce_to_ack_seconds_bucket{le="+Inf"}',
            "txf_ready 1.0",
        ):
            assert family in text, family
        age = float(
            next(line for line in text.splitlines() if line.startswith("txf_last_quote_age_seconds")).split()[-1]
        )
        assert 0 <= age < 5
    finally:
        if apps:
            apps[0].request_stop("test done")
        runner.join(60)
    assert result and result[0].exit_code == EXIT_OK, result
    notify.settimeout(5)
    tail = []
    try:
        while True:
            tail.append(notify.recv(4096))
            if tail[-1].startswith(b"STOPPING=1"):
                break
    except TimeoutError:
        pass
    assert tail and tail[-1].startswith(b"STOPPING=1"), tail
    assert _get_refused(f"http://127.0.0.1:{port}/healthz")  # the endpoint stops with the producer


def _get_refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except (urllib.error.URLError, ConnectionError):
        return True
    return False
