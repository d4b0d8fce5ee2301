"""Create the declared Kafka topics with their partitions and retention; report drift."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from txf_registry.declaration import Declaration


@dataclass(frozen=True)
class TopicState:
    """A declared topic after `ensure_topics`: created now, or existing (with any drift)."""

    name: str
    created: bool
    drift: tuple[str, ...] = ()


def ensure_topics(
    admin: AdminClient, decl: Declaration, replication_factor: int | None = None, timeout_s: float = 15.0
) -> list[TopicState]:
    """Create missing topics; for existing ones list partition/config differences (never changes them)."""
    rf = replication_factor or decl.replication_factor
    try:
        existing = admin.list_topics(timeout=timeout_s).topics
    except KafkaException as exc:
        raise RuntimeError(f"Kafka unreachable ({exc}); start it (`make up`) or set TXF_KAFKA_BOOTSTRAP") from None
    missing = [t for t in decl.topics if t.name not in existing]
    states: dict[str, TopicState] = {}
    if missing:
        futures = admin.create_topics(
            [NewTopic(t.name, num_partitions=t.partitions, replication_factor=rf, config=t.config) for t in missing],
            operation_timeout=timeout_s,
        )
        for name, fut in futures.items():
            try:
                fut.result(timeout_s)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise RuntimeError(f"cannot create topic {name}: {exc}") from None
            states[name] = TopicState(name, created=True)
    present = [t for t in decl.topics if t.name in existing]
    if present:
        configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, t.name) for t in present])
        by_name = {res.name: fut.result(timeout_s) for res, fut in configs.items()}
        for t in present:
            drift = []
            partitions = len(existing[t.name].partitions)
            if partitions != t.partitions:
                drift.append(f"partitions {partitions} (declared {t.partitions})")
            for key, want in t.config.items():
                have = by_name[t.name].get(key)
                if have is None or have.value != want:
                    drift.append(f"{key}={have.value if have else None} (declared {want})")
            states[t.name] = TopicState(t.name, created=False, drift=tuple(drift))
    return [states[t.name] for t in decl.topics]
