"""Create the declared Kafka topics with their partitions, retention and durability; report drift with its fix.

Durability (replication factor, min.insync.replicas) comes from the topic map's profile for where the
topics run (`[durability.single]`, `[durability.cluster]`), chosen by `choose_durability`. A topic that
exists is never changed behind the operator's back: each difference from the declaration is reported
with the command that fixes it; only `fix_config` (txf-registry topics --fix-config) sets declared
config values, on request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from txf_kit.topicmap import DURABILITY_PROFILES, Durability
from txf_registry.declaration import Declaration, Topic

AUTO = "auto"


@dataclass(frozen=True)
class Drift:
    """One way an existing topic differs from its declaration, and how to bring it back."""

    what: str  # e.g. "replication factor 1 (declared 3)"
    fix: str
    config_key: str | None = None  # set when --fix-config can apply the declared value


@dataclass(frozen=True)
class TopicState:
    """A declared topic after `ensure_topics`: created now, or existing (with any drift)."""

    name: str
    created: bool
    drifts: tuple[Drift, ...] = ()

    @property
    def drift(self) -> tuple[str, ...]:
        return tuple(d.what for d in self.drifts)


def _metadata(admin: AdminClient, timeout_s: float) -> Any:
    try:
        return admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise RuntimeError(f"Kafka unreachable ({exc}); start it (`make up`) or set TXF_KAFKA_BOOTSTRAP") from None


def choose_durability(
    admin: AdminClient, decl: Declaration, wanted: str = AUTO, timeout_s: float = 15.0
) -> tuple[Durability, str]:
    """The durability profile to create and judge topics by, and why it was chosen.

    `wanted` is a profile name, or "auto": "single" when the cluster has one broker, "cluster" when it
    has at least the cluster profile's replication factor. Auto counts the brokers alive now, so a
    production cluster should name its profile (TXF_TOPIC_DURABILITY=cluster): a cluster with brokers
    down is never taken for a single broker silently, it is refused.
    """
    if wanted != AUTO:
        if wanted not in decl.durability:
            raise RuntimeError(
                f"durability profile {wanted!r} is not declared; choose one of {', '.join(DURABILITY_PROFILES)} "
                "or auto (TXF_TOPIC_DURABILITY / --durability)"
            )
        return decl.durability[wanted], "named by TXF_TOPIC_DURABILITY or --durability"
    brokers = len(_metadata(admin, timeout_s).brokers)
    cluster = decl.durability["cluster"]
    if brokers == 1:
        return decl.durability["single"], "auto: 1 broker"
    if brokers >= cluster.replication_factor:
        return cluster, f"auto: {brokers} brokers"
    raise RuntimeError(
        f"{brokers} brokers answer: too few for the cluster profile (replication factor "
        f"{cluster.replication_factor}) and more than one. Fix: bring the other brokers back, or name the "
        "profile: TXF_TOPIC_DURABILITY=cluster (or single) / --durability"
    )


def declared_config(topic: Topic, durability: Durability) -> dict[str, str]:
    """Every topic config the declaration sets: its own (retention) plus the profile's min.insync.replicas."""
    return {**topic.config, "min.insync.replicas": str(durability.min_insync_replicas)}


def ensure_topics(
    admin: AdminClient, decl: Declaration, durability: Durability | None = None, timeout_s: float = 15.0
) -> list[TopicState]:
    """Create missing topics; for existing ones list partition, replication and config drift (never changes them)."""
    durability = durability or choose_durability(admin, decl, AUTO, timeout_s)[0]
    metadata = _metadata(admin, timeout_s)
    existing = metadata.topics
    missing = [t for t in decl.topics if t.name not in existing]
    states: dict[str, TopicState] = {}
    if missing:
        rf = durability.replication_factor
        futures = admin.create_topics(
            [NewTopic(t.name, t.partitions, rf, config=declared_config(t, durability)) for t in missing],
            operation_timeout=timeout_s,
        )
        for name, fut in futures.items():
            try:
                fut.result(timeout_s)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" in str(exc):
                    pass
                elif "INVALID_REPLICATION_FACTOR" in str(exc):
                    raise RuntimeError(
                        f"cannot create topic {name} with replication factor {rf} ({durability.profile} profile): "
                        f"the cluster has {len(metadata.brokers)} broker(s). Fix: start the cluster "
                        "(`make up BROKERS=3`), or choose the profile that fits: TXF_TOPIC_DURABILITY=single"
                    ) from None
                else:
                    raise RuntimeError(f"cannot create topic {name}: {exc}") from None
            states[name] = TopicState(name, created=True)
    present = [t for t in decl.topics if t.name in existing]
    if present:
        configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, t.name) for t in present])
        by_name = {res.name: fut.result(timeout_s) for res, fut in configs.items()}
        for t in present:
            drifts = _drift(t, existing[t.name], by_name[t.name], durability)
            states[t.name] = TopicState(t.name, created=False, drifts=tuple(drifts))
    return [states[t.name] for t in decl.topics]


def _drift(topic: Topic, metadata: Any, config: dict[str, Any], durability: Durability) -> list[Drift]:
    out = []
    partitions = len(metadata.partitions)
    if partitions < topic.partitions:
        out.append(
            Drift(
                f"partitions {partitions} (declared {topic.partitions})",
                f"kafka-topics.sh --alter --topic {topic.name} --partitions {topic.partitions} "
                "(between sessions: a key's later records go to another partition than its earlier ones)",
            )
        )
    elif partitions > topic.partitions:
        out.append(
            Drift(
                f"partitions {partitions} (declared {topic.partitions})",
                "partitions never shrink: declare the real count in subjects.toml, or delete the topic "
                "and run `txf-registry topics` again (its records are lost)",
            )
        )
    replicas = sorted({len(p.replicas) for p in metadata.partitions.values()})
    if replicas and replicas != [durability.replication_factor]:
        counts = "/".join(map(str, replicas))
        out.append(
            Drift(
                f"replication factor {counts} (declared {durability.replication_factor}, {durability.profile} profile)",
                f"kafka-reassign-partitions.sh --execute with a plan giving each partition of {topic.name} "
                f"{durability.replication_factor} replicas (txf-registry never moves data), or, if this is not a "
                f"{durability.profile} deployment, name the right profile: TXF_TOPIC_DURABILITY",
            )
        )
    for key, want in declared_config(topic, durability).items():
        entry = config.get(key)
        value = entry.value if entry is not None else None
        if value != want:
            out.append(
                Drift(
                    f"{key}={value} (declared {want})",
                    f"txf-registry topics --fix-config (sets {key}={want} on {topic.name})",
                    config_key=key,
                )
            )
    return out


def fix_config(
    admin: AdminClient, decl: Declaration, states: list[TopicState], durability: Durability, timeout_s: float = 15.0
) -> list[str]:
    """Set the declared value of every drifted config key (incremental: other keys untouched); what was set."""
    topics = {t.name: t for t in decl.topics}
    resources = []
    done = []
    for state in states:
        keys = [d.config_key for d in state.drifts if d.config_key is not None]
        if not keys:
            continue
        want = declared_config(topics[state.name], durability)
        entries = [ConfigEntry(k, want[k], incremental_operation=AlterConfigOpType.SET) for k in keys]
        resources.append(ConfigResource(ConfigResource.Type.TOPIC, state.name, incremental_configs=entries))
        done += [f"{state.name}: {k}={want[k]}" for k in keys]
    if resources:
        for res, fut in admin.incremental_alter_configs(resources).items():
            try:
                fut.result(timeout_s)
            except KafkaException as exc:
                raise RuntimeError(f"cannot set the declared config of {res.name}: {exc}") from None
    return done
