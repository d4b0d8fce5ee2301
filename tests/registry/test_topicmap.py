"""The topic map is defined once (txf_registry/subjects.toml) and the producer's routes come from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from txf_producer.settings import load_settings
from txf_producer.sources.base import QuoteType
from txf_registry.topicmap import DEFAULT_PATH, TopicMapError, load_topic_map


def test_the_producer_routes_every_quote_topic_of_the_map() -> None:
    entries = load_topic_map()
    data = [(e.message, e.contract, e.name) for e in entries if e.role == "data"]
    settings = load_settings(subscribe_txfr2_tick=True)
    routes = [
        ({QuoteType.TICK: "txf.v1.Tick", QuoteType.BIDASK: "txf.v1.BidAsk"}[q], alias, topic)
        for q, alias, topic in settings.routes()
    ]
    assert sorted(routes) == sorted(data)
    assert settings.dead_letter_topic == next(e.name for e in entries if e.role == "dead_letter")


def test_a_prefix_and_the_original_variables_rename_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(topic_prefix="staging-")
    assert {t for _q, _a, t in settings.routes()} == {"staging-txf-tick", "staging-txf-bidask"}
    assert settings.dead_letter_topic == "staging-txf-dlq"
    monkeypatch.setenv("TICK_TOPIC", "legacy-ticks")  # the original service's .env keeps working
    settings = load_settings()
    assert (QuoteType.TICK, "TXFR1", "legacy-ticks") in settings.routes()


def test_a_broken_map_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "subjects.toml"
    bad.write_text(DEFAULT_PATH.read_text("utf-8").replace('role = "dead_letter"', 'role = "sink"'))
    with pytest.raises(TopicMapError, match="role 'sink' is not one of"):
        load_topic_map(bad)
    bad.write_text(DEFAULT_PATH.read_text("utf-8").replace('role = "dead_letter"', ""))
    with pytest.raises(TopicMapError, match="topic txf-dlq: a data topic needs a message and a contract alias"):
        load_topic_map(bad)
    text = DEFAULT_PATH.read_text("utf-8")
    bad.write_text(text + text[text.rindex("[[topics]]") :].replace('name = "txf-dlq"', 'name = "txf-dlq2"'))
    with pytest.raises(TopicMapError, match='exactly one topic with role = "dead_letter" \\(found 2\\)'):
        load_topic_map(bad)


def test_the_map_is_packaged_with_the_registry_tool() -> None:
    """A non-editable install (deploy/install.sh) carries the map the producer reads at start."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text("utf-8"))
    assert "subjects.toml" in pyproject["tool"]["setuptools"]["package-data"]["txf_registry"]
    assert DEFAULT_PATH.parent.name == "txf_registry"
