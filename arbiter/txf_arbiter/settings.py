"""The arbiter's settings: the kit's shared ones (Kafka, registry, topic map, calendar) plus its own.

Read from the environment and `.env` like every service's (`TXF_*`); the arbiter's own are
`TXF_ARBITER_*`. It does not read the producer's settings: a `producer.env` that sets
TXF_CAPTURE_LEG for the host's leg changes nothing here (the arbiter writes the canonical topics and
the canonical dead letters whatever leg its host captures). The legs, their topics and the canonical
topics all come from the topic map and TXF_CAPTURE_LEGS, never from a list written here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from txf_kit.settings import ServiceSettings, SettingsError
from txf_kit.topicmap import TopicEntry, load_topic_map

#: the arbiter's /metrics port (the producer has 9464, a leg 9468 + its place: they run side by side)
ARBITER_METRICS_PORT = 9465


class ArbiterSettings(ServiceSettings):
    """Everything the arbiter reads; field comments are the user-facing reference (.env.example)."""

    # legs to read (default: every capture leg of the deployment, TXF_CAPTURE_LEGS or the topic map's)
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
    arbiter_metrics_port: int = Field(ARBITER_METRICS_PORT, ge=0, le=65535, validation_alias="TXF_ARBITER_METRICS_PORT")

    @field_validator("arbiter_legs", mode="before")
    @classmethod
    def _split_arbiter_legs(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(x.strip() for x in v.split(",") if x.strip())
        return v

    def read_legs(self) -> tuple[str, ...]:
        """The legs this arbiter reads: TXF_ARBITER_LEGS (each one of the deployment's), else all of them."""
        legs = self.arbiter_legs or self.legs()
        for leg in legs:
            self.check_leg(leg, "TXF_ARBITER_LEGS")
        if not legs:
            raise SettingsError(
                "no capture legs: set TXF_CAPTURE_LEGS (a,b) or declare [capture] legs in the topic map"
            )
        return legs

    def leg_routes(self) -> list[tuple[str, str, TopicEntry]]:
        """(leg, leg topic, the canonical data topic it feeds) for every leg and quote topic."""
        data = [e for e in load_topic_map() if e.role == "data"]
        return [(leg, self.leg_topic(leg, e), e) for leg in self.read_legs() for e in data]

    def canonical(self, entry: TopicEntry) -> str:
        return self.topic(entry)

    def ledger_topic(self) -> str:
        return self.role_topic("ledger")

    def dead_letter_topic(self) -> str:
        """The canonical dead letters (a leg's own are the leg producer's, never the arbiter's)."""
        return self.role_topic("dead_letter")

    def group_id(self) -> str:
        return self.topic_prefix + self.arbiter_group
