"""The topic map: each topic, the txf.v1 message it carries and the contract alias it is for.

Read from `subjects.toml`, the one place topics are declared (standard library only, so the
producer and the code generator read it without the registry client). Everything else that names
a topic is derived from here: the producer's routes and topic check, the registry subjects
(declaration.py), and the consumers' generated topic tables (tools/gen_topics.py, run by `make gen`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent / "subjects.toml"
#: data: a quote stream (message + contract alias); dead_letter: what could not be published;
#: ledger: a record of the capture itself (the arbiter's holes), with a message but no contract;
#: derived: built by a service from other topics (txf-archive's 1-minute bars), a message but no contract;
#: load_test: a partitioned topic of a message for load and consumer-group tests, never routed.
ROLES = ("data", "dead_letter", "ledger", "derived", "load_test")
#: [durability.<profile>] tables: where the topics run (one broker, or a replicated cluster).
DURABILITY_PROFILES = ("single", "cluster")


class TopicMapError(ValueError):
    """subjects.toml's topics are malformed; the message names the entry and the fix."""


@dataclass(frozen=True)
class TopicEntry:
    """One declared topic. `message` is None for a topic without a registry schema (the dead letters)."""

    name: str
    message: str | None
    contract: str | None
    role: str = "data"


def parse_topic(raw: dict[str, Any], prefix: str = "") -> TopicEntry:
    """One [[topics]] table; `prefix` goes before the name (several environments on one cluster)."""
    name = raw.get("name")
    if not name:
        raise TopicMapError("a [[topics]] entry has no name")
    role = raw.get("role", "data")
    if role not in ROLES:
        raise TopicMapError(f"topic {name}: role {role!r} is not one of {ROLES}")
    message = raw.get("message") or None
    if role == "data" and (message is None or not raw.get("contract")):
        raise TopicMapError(f"topic {name}: a data topic needs a message and a contract alias")
    if role in ("ledger", "derived", "load_test") and message is None:
        raise TopicMapError(f"topic {name}: a {role} topic needs a message")
    return TopicEntry(prefix + name, message, raw.get("contract"), role)


@dataclass(frozen=True)
class Capture:
    """Redundant capture: each leg is a producer writing the data and dead-letter topics under its
    own prefix; the arbiter reads every leg and writes the canonical topics exactly once."""

    legs: tuple[str, ...]
    leg_prefix: str  # with "{leg}" in it, e.g. "leg-{leg}."
    leg_retention_ms: int | None

    def prefix_of(self, leg: str) -> str:
        return self.leg_prefix.format(leg=leg)

    @staticmethod
    def carries(entry: TopicEntry) -> bool:
        """Whether a leg has its own copy of this topic (the quote streams and their dead letters)."""
        return entry.role in ("data", "dead_letter")


def load_capture(path: Path = DEFAULT_PATH) -> Capture:
    """The [capture] table (no legs when it is absent)."""
    raw = read(path).get("capture", {})
    legs = tuple(str(leg) for leg in raw.get("legs", []))
    prefix = str(raw.get("leg_prefix", "leg-{leg}."))
    if legs and "{leg}" not in prefix:
        raise TopicMapError(f"{path}: [capture] leg_prefix {prefix!r} must contain {{leg}}")
    if len(set(legs)) != len(legs) or any(not leg.isalnum() for leg in legs):
        raise TopicMapError(f"{path}: [capture] legs must be distinct alphanumeric names, got {list(legs)}")
    retention = raw.get("leg_retention_ms")
    return Capture(legs, prefix, int(retention) if retention is not None else None)


def load_consumer_defaults(path: Path = DEFAULT_PATH) -> tuple[str, ...]:
    """[consumers] default_topics: what a consumer in any language reads when it is given no topics."""
    topics = read(path).get("consumers", {}).get("default_topics", [])
    if not topics or not all(isinstance(t, str) and t for t in topics):
        raise TopicMapError(f'{path}: [consumers] default_topics must list topic names, e.g. ["txf-tick"]')
    return tuple(topics)


@dataclass(frozen=True)
class Durability:
    """How many copies of each record a topic keeps, and how many must have it before it is acknowledged
    (min.insync.replicas, with the producer's acks=all)."""

    profile: str
    replication_factor: int
    min_insync_replicas: int

    def describe(self) -> str:
        return (
            f"durability {self.profile}: replication factor {self.replication_factor}, "
            f"min.insync.replicas {self.min_insync_replicas}"
        )


def load_durability(path: Path = DEFAULT_PATH) -> dict[str, Durability]:
    """The [durability.<profile>] tables, one per profile of DURABILITY_PROFILES."""
    raw = read(path).get("durability", {})
    out = {}
    for profile in DURABILITY_PROFILES:
        table = raw.get(profile)
        if not isinstance(table, dict):
            raise TopicMapError(f"{path}: declare [durability.{profile}] (replication_factor, min_insync_replicas)")
        try:
            rf, min_isr = int(table["replication_factor"]), int(table["min_insync_replicas"])
        except (KeyError, TypeError, ValueError):
            raise TopicMapError(
                f"{path}: [durability.{profile}] needs integer replication_factor and min_insync_replicas"
            ) from None
        if not 1 <= min_isr <= rf:
            raise TopicMapError(
                f"{path}: [durability.{profile}] min_insync_replicas {min_isr} must be 1..replication_factor ({rf})"
            )
        out[profile] = Durability(profile, rf, min_isr)
    unknown = set(raw) - set(DURABILITY_PROFILES)
    if unknown:
        raise TopicMapError(f"{path}: unknown durability profile(s) {sorted(unknown)}; known: {DURABILITY_PROFILES}")
    return out


def read(path: Path = DEFAULT_PATH) -> dict[str, Any]:
    """subjects.toml as a dict (TopicMapError naming the file when it cannot be read)."""
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TopicMapError(f"cannot read {path}: {exc}") from None


def load_topic_map(path: Path = DEFAULT_PATH, prefix: str = "") -> list[TopicEntry]:
    """Every declared topic, in declaration order; exactly one dead-letter topic."""
    entries = [parse_topic(t, prefix) for t in read(path).get("topics", [])]
    dead = [e for e in entries if e.role == "dead_letter"]
    if len(dead) != 1:
        raise TopicMapError(f'{path}: declare exactly one topic with role = "dead_letter" (found {len(dead)})')
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise TopicMapError(f"{path}: a topic is declared twice")
    return entries


def dead_letter_topic(entries: list[TopicEntry]) -> TopicEntry:
    return next(e for e in entries if e.role == "dead_letter")
