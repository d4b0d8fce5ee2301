"""Alerting rules and dashboard of deploy/monitoring/: promtool on synthetic series, then a real
Prometheus (Debian's package, installed by tools/bootstrap.sh) scraping a running producer.

The live part boots one container (containerkit.py): install.sh (which also installs the rules to
/opt/txfstream/monitoring/), Kafka + registry, the producer on the simulator under systemd, and
Prometheus started from the shipped example configuration with 1 s intervals instead of 15 s.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from containerkit import UNIT, ProducerContainer, booted
from deploykit import DEPLOY
from systemd_container import wait_until

MONITORING = DEPLOY / "monitoring"
RULES = MONITORING / "txf-producer.rules.yml"
DASHBOARD = MONITORING / "txf-producer.dashboard.json"
PROMETHEUS_PORT = 9090
# Every alert the issue asks for (feed, delivery, spool, queue, watchdog, consumer lag) and the rest.
ALERTS = {
    "TxfFeedStalled",
    "TxfNoDataSinceOpen",
    "TxfDeliveryErrors",
    "TxfSpoolGrowing",
    "TxfQueueNearFull",
    "TxfProducerNotReady",
    "TxfProducerWatchdogKill",
    "TxfProducerRestarting",
    "TxfDeliveryLatencyHigh",
    "TxfConsumerLag",
    "TxfCaptureHole",
    "TxfNoActiveArbiter",
    "TxfCaptureLegSilent",
}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: tools/bootstrap.sh installs Debian's prometheus package"
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, cwd=MONITORING)


def test_rules_are_valid_and_every_alert_is_there() -> None:
    check = _promtool("check", "rules", RULES.name)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in check.stdout
    assert set(re.findall(r"- alert: (\w+)", RULES.read_text())) == ALERTS


def test_promtool_unit_tests_of_every_alert_pass() -> None:
    tests = (MONITORING / "txf-producer.rules.test.yml").read_text()
    assert set(re.findall(r"alertname: (\w+)", tests)) == ALERTS, "each alert has its promtool test"
    run = _promtool("test", "rules", "txf-producer.rules.test.yml")
    assert run.returncode == 0 and "SUCCESS" in run.stdout, run.stdout + run.stderr


def test_the_rules_test_would_catch_a_broken_rule(tmp_path: Any) -> None:
    """Negative control: a threshold changed by mistake makes `promtool test rules` fail."""
    (tmp_path / RULES.name).write_text(
        RULES.read_text().replace("increase(txf_spooled_total", "increase(txf_spooled_totl")
    )
    (tmp_path / "t.yml").write_text((MONITORING / "txf-producer.rules.test.yml").read_text())
    promtool = shutil.which("promtool")
    assert promtool
    run = subprocess.run(
        [promtool, "test", "rules", "t.yml"], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert run.returncode != 0 and "TxfSpoolGrowing" in run.stdout + run.stderr


ARCHIVE_RULES = MONITORING / "txf-archive.rules.yml"
ARCHIVE_ALERTS = {"TxfArchiveDown", "TxfArchiveBehind", "TxfArchiveMalformed", "TxfBarsLateTicks"}


def test_archive_rules_are_valid_and_each_alert_has_its_promtool_test() -> None:
    check = _promtool("check", "rules", ARCHIVE_RULES.name)
    assert check.returncode == 0 and f"SUCCESS: {len(ARCHIVE_ALERTS)} rules found" in check.stdout, check.stdout
    assert set(re.findall(r"- alert: (\w+)", ARCHIVE_RULES.read_text())) == ARCHIVE_ALERTS
    tests = (MONITORING / "txf-archive.rules.test.yml").read_text()
    assert set(re.findall(r"alertname: (\w+)", tests)) == ARCHIVE_ALERTS
    run = _promtool("test", "rules", "txf-archive.rules.test.yml")
    assert run.returncode == 0 and "SUCCESS" in run.stdout, run.stdout + run.stderr


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:txf|process)_[a-z0-9_]+)\b", expr))


# --------------------------------------------------------------------------- live


@pytest.fixture(scope="module")
def live() -> Iterator[ProducerContainer]:
    with booted("monitoring") as c:
        c.install("--schedule", "none")
        c.start_stack()
        c.use_sim("--rate", "300")
        c.systemctl("start", UNIT)
        config = c.run("cat", "/opt/txfstream/monitoring/prometheus.example.yml").stdout
        fast = config.replace("scrape_interval: 15s", "scrape_interval: 1s").replace(
            "evaluation_interval: 15s", "evaluation_interval: 1s"
        )
        assert fast != config
        c.write("/etc/prometheus/txf-test.yml", fast)
        check = c.run("promtool", "check", "config", "/etc/prometheus/txf-test.yml", check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        c.run(
            "systemd-run",
            "--unit=txf-test-prometheus",
            "--",
            "/usr/bin/prometheus",
            "--config.file=/etc/prometheus/txf-test.yml",
            "--storage.tsdb.path=/var/lib/txf-test-prometheus",
            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
        )
        yield c
        c.systemctl("stop", "txf-test-prometheus.service", UNIT)


def _api(c: ProducerContainer, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    answer = c.probe("http", f"http://127.0.0.1:{PROMETHEUS_PORT}/api/v1/{path}{query}")
    assert answer["status"] == 200, answer
    body = json.loads(answer["body"])
    assert body["status"] == "success", body
    return body["data"]


def test_prometheus_scrapes_the_producer_and_loads_every_rule(live: ProducerContainer) -> None:
    c = live

    def target_up() -> bool:
        targets = _api(c, "targets")["activeTargets"]
        return any(t["labels"]["job"] == "txf-producer" and t["health"] == "up" for t in targets) or False

    wait_until(target_up, 60, "Prometheus to scrape the producer")

    def evaluated() -> list[dict[str, Any]] | None:
        rules = [r for g in _api(c, "rules")["groups"] for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules) else None

    rules = wait_until(evaluated, 30, "every rule evaluated once")
    assert {r["name"] for r in rules} == ALERTS
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]
    time.sleep(3)  # three evaluations of a healthy run (what is asserted: nothing fires)
    active = _api(c, "alerts")["alerts"]
    assert active == [], active  # a healthy producer raises nothing


def test_every_dashboard_query_names_live_metrics_and_returns_data(live: ProducerContainer) -> None:
    c = live
    scrape = c.probe("http", "http://127.0.0.1:9464/metrics")["body"]
    exposed = {line.split("{")[0].split(" ")[0] for line in scrape.splitlines() if line and not line.startswith("#")}
    queries = _dashboard_queries()
    assert queries
    for expr in queries:
        names = _metric_names(expr)
        assert names, f"query names no producer metric: {expr}"
        assert names <= exposed, f"{expr}: {sorted(names - exposed)} not in a live /metrics scrape"
    wait_until(
        lambda: all(_api(c, "query", query=e.replace("$instance", ".*"))["result"] for e in queries),
        60,
        "every dashboard query to return data",
    )
    # the txf-arbiter group's metrics come from the arbiter (test_systemd_service.py scrapes it)
    rule_metrics = {m for m in _metric_names(RULES.read_text()) if not m.startswith("txf_arbiter_")}
    assert rule_metrics <= exposed, f"rules use {sorted(rule_metrics - exposed)}, which the producer does not expose"
