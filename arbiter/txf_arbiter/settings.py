"""The arbiter's settings: the producer's (Kafka, registry, topic prefix, holidays, metrics) plus its own.

Read from the environment and `.env` like the producer's (`TXF_*`); the arbiter's own are
`TXF_ARBITER_*`. The legs, their topics and the canonical topics all come from the topic map
(txf_registry/subjects.toml, [capture]), never from a list written here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from txf_producer.settings import Settings, SettingsError
from txf_registry.topicmap import TopicEntry, load_capture, load_topic_map


class ArbiterSettings(Settings):
    """Everything the arbiter reads; field docs are the user-facing reference (.env.example)."""

    # legs to read (default: every leg the topic map's [capture] declares)
    arbiter_legs: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias="TXF_ARBITER_LEGS")
    # how long (exchange time) a quote's identity is kept to recognise a second copy of it
    arbiter_window_s: float = Field(300.0, gt=0, validation_alias="TXF_ARBITER_WINDOW_S")
    # the shortest silence inside a session that can be a capture hole (the activity model may ask more)
    arbiter_gap_floor_s: float = Field(2.0, gt=0, validation_alias="TXF_ARBITER_GAP_FLOOR_S")
    # the consumer group whose single active member writes (others wait as standbys)
    arbiter_group: str = Field("txf-arbiter", validation_alias="TXF_ARBITER_GROUP")
    # a standby takes over this long after the active one stops answering (broker minimum 6000)
    arbiter_session_timeout_ms: int = Field(6000, ge=1000, validation_alias="TXF_ARBITER_SESSION_TIMEOUT_MS")
    # the active arbiter writes only while its group membership was confirmed this recently
    arbiter_lease_s: float = Field(2.0, gt=0, validation_alias="TXF_ARBITER_LEASE_S")

    # /metrics, /healthz, /readyz of the arbiter (0: off): its own port, so it runs beside a leg producer
    # that reads the same settings file (TXF_METRICS_PORT is the producer's)
    arbiter_metrics_port: int = Field(9465, ge=0, le=65535, validation_alias="TXF_ARBITER_METRICS_PORT")

    @field_validator("arbiter_legs", mode="before")
    @classmethod
    def _split_legs(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(x.strip() for x in v.split(",") if x.strip())
        return v

    def legs(self) -> tuple[str, ...]:
        capture = load_capture()
        legs = self.arbiter_legs or capture.legs
        unknown = sorted(set(legs) - set(capture.legs))
        if unknown:
            raise SettingsError(
                f"TXF_ARBITER_LEGS: {unknown} are not legs of the topic map ([capture] legs = {list(capture.legs)})"
            )
        if len(legs) < 1:
            raise SettingsError("no capture legs: declare [capture] legs in subjects.toml or set TXF_ARBITER_LEGS")
        return legs

    def leg_routes(self) -> list[tuple[str, str, TopicEntry]]:
        """(leg, leg topic, the canonical data topic it feeds) for every leg and quote topic."""
        capture = load_capture()
        data = [e for e in load_topic_map() if e.role == "data"]
        return [(leg, self.topic_prefix + capture.prefix_of(leg) + e.name, e) for leg in self.legs() for e in data]

    def canonical(self, entry: TopicEntry) -> str:
        return self.topic_prefix + entry.name

    def ledger_topic(self) -> str:
        return self.topic_prefix + next(e.name for e in load_topic_map() if e.role == "ledger")

    def group_id(self) -> str:
        return self.topic_prefix + self.arbiter_group
