"""txf_registry: declared subjects and topics of txfstream, and the tool that registers and gates them."""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from txf_kit.topicmap import DEFAULT_PATH, load_topic_map
from txf_registry.declaration import Declaration, load
from txf_registry.registry import Registry
from txf_registry.topics import AUTO, choose_durability, ensure_topics


def provision(
    bootstrap_servers: str,
    registry_url: str,
    topic_prefix: str = "",
    legs: bool | Sequence[str] = False,
    durability: str = AUTO,
) -> Declaration:
    """`make register` as a function: register every declared subject and create every topic.

    Used by the tests and benchmarks to get their own, prefixed set of topics on a shared stack;
    the registry and Kafka connections are plain (no auth), as on the local stack. `durability` is a
    profile of the topic map (single, cluster) or auto (by the number of brokers).
    """
    decl = load(DEFAULT_PATH, topic_prefix=topic_prefix, legs=legs)
    Registry(SchemaRegistryClient({"url": registry_url, "timeout": 10}), registry_url).register(decl)
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    ensure_topics(admin, decl, choose_durability(admin, decl, durability)[0])
    return decl


def topic_settings(topic_prefix: str) -> dict[str, str]:
    """Producer settings (field names) that route to the topics of `provision(..., topic_prefix)`."""
    return {"topic_prefix": topic_prefix}


def topic_names(topic_prefix: str = "") -> dict[str, str]:
    """Declared topic name -> the name it has under `topic_prefix` (what `provision` created)."""
    return {e.name: topic_prefix + e.name for e in load_topic_map()}
