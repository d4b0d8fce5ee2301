"""The topic map is defined once (txf_kit/subjects.toml) and the producer's routes come from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from txf_kit.topicmap import DEFAULT_PATH, TopicMapError, load_topic_map
from txf_producer.settings import load_settings
from txf_producer.sources.base import QuoteType


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


def test_the_map_is_packaged_with_the_kit() -> None:
    """A non-editable install (deploy/install.sh) carries the map every service reads at start."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "kit" / "pyproject.toml").read_text("utf-8"))
    assert "subjects.toml" in pyproject["tool"]["setuptools"]["package-data"]["txf_kit"]
    assert DEFAULT_PATH.parent.name == "txf_kit"


def test_capture_legs_get_their_own_copies_of_the_quote_topics() -> None:
    from txf_kit.topicmap import load_capture
    from txf_registry import declaration

    capture = load_capture()
    assert capture.legs and "{leg}" in capture.leg_prefix
    decl = declaration.load(legs=True, topic_prefix="env-")
    names = {t.name for t in decl.topics}
    for leg in capture.legs:
        prefix = "env-" + capture.prefix_of(leg)
        carried = [e for e in load_topic_map() if e.role in ("data", "dead_letter")]
        assert {prefix + e.name for e in carried} <= names
        assert prefix + "txf-gaps" not in names  # the ledger is the arbiter's, not a leg's
        leg_topics = [t for t in decl.topics if t.name.startswith(prefix)]
        assert all(t.config == {"retention.ms": str(capture.leg_retention_ms)} for t in leg_topics)
        subjects = {s.name for s in decl.subjects}
        assert {f"{prefix}{e.name}-value" for e in carried if e.message} <= subjects
    assert not any(t.name.startswith("env-leg-") for t in declaration.load(topic_prefix="env-").topics)


def test_a_capture_leg_writes_the_legs_copies_and_an_unknown_leg_is_named() -> None:
    """TXF_CAPTURE_LEG=a: every quote topic and the dead-letter topic get the leg's prefix from the map."""
    from txf_kit.topicmap import load_capture
    from txf_producer.settings import SettingsError

    capture = load_capture()
    leg = capture.legs[0]
    settings = load_settings(topic_prefix="uat.", capture_leg=leg)
    plain = load_settings(topic_prefix="uat.")
    expect = {t.replace("uat.", "uat." + capture.prefix_of(leg), 1) for _q, _a, t in plain.routes()}
    assert {t for _q, _a, t in settings.routes()} == expect
    assert settings.dead_letter_topic == "uat." + capture.prefix_of(leg) + "txf-dlq"
    with pytest.raises(SettingsError, match=r"TXF_CAPTURE_LEG='z' is not a capture leg .*legs: \['a', 'b'\]"):
        load_settings(capture_leg="z")


def test_a_third_leg_needs_no_edit_of_a_packaged_file() -> None:
    """TXF_CAPTURE_LEGS=a,b,c: leg c writes its own copies, the registry tool declares them, the arbiter
    reads all three, and each leg on one host has a metrics port of its own by default."""
    from txf_arbiter.settings import ArbiterSettings
    from txf_kit.settings import load
    from txf_registry import declaration

    three = load_settings(capture_legs="a,b,c", capture_leg="c")
    assert {t for _q, _a, t in three.routes()} == {"leg-c.txf-tick", "leg-c.txf-bidask"}
    assert three.dead_letter_topic == "leg-c.txf-dlq"
    ports = [load_settings(capture_legs="a,b,c", capture_leg=leg).metrics_port_in_use() for leg in "abc"]
    assert ports == [9468, 9469, 9470]
    assert load_settings().metrics_port_in_use() == 9464
    assert load_settings(capture_leg="a", metrics_port=0).metrics_port_in_use() == 0  # TXF_METRICS_PORT wins
    names = {t.name for t in declaration.load(legs=three.legs()).topics}
    assert {"leg-c.txf-tick", "leg-c.txf-bidask", "leg-c.txf-dlq"} <= names
    arbiter = load(ArbiterSettings, capture_legs="a,b,c")
    assert {leg for leg, _t, _e in arbiter.leg_routes()} == {"a", "b", "c"}


def test_the_arbiter_writes_the_canonical_dead_letters_whatever_leg_its_host_captures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The RUNBOOK's layout: TXF_CAPTURE_LEG=a in producer.env, which txf-arbiter.service reads too. The
    arbiter has no capture leg of its own (its settings are not the producer's): its dead letters are
    the canonical txf-dlq, where its ACLs let it write, never leg-a.txf-dlq."""
    from txf_arbiter.settings import ArbiterSettings
    from txf_kit.settings import load

    monkeypatch.setenv("TXF_CAPTURE_LEG", "a")
    monkeypatch.setenv("TXF_TOPIC_PREFIX", "uat.")
    arbiter = load(ArbiterSettings)
    assert arbiter.dead_letter_topic() == "uat.txf-dlq"
    assert arbiter.ledger_topic() == "uat.txf-gaps"
    assert load_settings().dead_letter_topic == "uat.leg-a.txf-dlq"  # the producer of that host: its leg's


def test_durability_profiles_are_declared_once_and_checked(tmp_path: Path) -> None:
    from txf_kit.topicmap import load_durability

    profiles = load_durability()
    assert (profiles["single"].replication_factor, profiles["single"].min_insync_replicas) == (1, 1)
    # acks=all + 2 of 3 in sync: one broker may die without losing an acknowledged record
    assert (profiles["cluster"].replication_factor, profiles["cluster"].min_insync_replicas) == (3, 2)
    bad = tmp_path / "subjects.toml"
    text = DEFAULT_PATH.read_text("utf-8")
    bad.write_text(text.replace("min_insync_replicas = 2", "min_insync_replicas = 4"))
    with pytest.raises(TopicMapError, match=r"\[durability.cluster\] min_insync_replicas 4 must be 1..replication"):
        load_durability(bad)
    bad.write_text(text.replace("[durability.single]", "[durability.solo]"))
    with pytest.raises(TopicMapError, match=r"declare \[durability.single\]"):
        load_durability(bad)


def test_the_load_test_topic_is_partitioned_declared_and_never_routed() -> None:
    from txf_registry import declaration

    (entry,) = [e for e in load_topic_map() if e.role == "load_test"]
    assert entry.message == "txf.v1.BidAsk" and entry.contract is None
    (topic,) = [t for t in declaration.load().topics if t.name == entry.name]
    assert topic.partitions >= 3  # a consumer group of three has a partition each, and more
    assert f"{entry.name}-value" in {s.name for s in declaration.load().subjects}
    settings = load_settings(subscribe_txfr2_tick=True)
    assert entry.name not in {t for _q, _a, t in settings.routes()}
    assert not any(t.name.endswith("." + entry.name) for t in declaration.load(legs=True).topics)  # no leg copy
