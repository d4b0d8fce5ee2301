"""The archiver's settings: the kit's shared ones (Kafka, registry, topic map, calendar) plus its own.

Read from the environment and `.env` like every service's (`TXF_*`); the archive's own are
`TXF_ARCHIVE_*` and `TXF_BARS_*`. Which topics are archived, and with which message, comes from the
topic map (txf_kit/subjects.toml): every topic with a txf.v1 message (quotes, the gap ledger, the
bars), never the dead letters (JSON, no schema).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from pydantic import Field

from txf_archive.layout import default_root
from txf_consumer.settings import RegistrySettings
from txf_kit.settings import ServiceSettings
from txf_kit.topicmap import load_topic_map


class ArchiveSettings(ServiceSettings):
    """Everything `txf-archive run` and `txf-archive bars` read; field docs are the user-facing reference."""

    # where the Parquet archive lives (one writer per directory: <root>/.lock)
    archive_root: Path = Field(default_factory=default_root, validation_alias="TXF_ARCHIVE_ROOT")
    # consumer group of the archiver (its committed offsets show its lag; the files decide where it resumes)
    archive_group: str = Field("txf-archive", validation_alias="TXF_ARCHIVE_GROUP")
    # a topic-partition's records are written out after this many bytes were read ... (bounded memory)
    archive_roll_bytes: int = Field(64 * 1024 * 1024, gt=0, validation_alias="TXF_ARCHIVE_ROLL_BYTES")
    # ... or after this many seconds since its first unwritten record (how far behind the files may be)
    archive_roll_s: float = Field(30.0, gt=0, validation_alias="TXF_ARCHIVE_ROLL_S")
    # Prometheus metrics port of the archiver (0: none)
    archive_metrics_port: int = Field(0, ge=0, validation_alias="TXF_ARCHIVE_METRICS_PORT")
    # consumer group and transactional id stem of the bar builder
    bars_group: str = Field("txf-archive-bars", validation_alias="TXF_BARS_GROUP")
    # an open bar is published this long after its minute ended when no newer trade came (live feed)
    bars_grace_s: float = Field(5.0, ge=0, validation_alias="TXF_BARS_GRACE_S")
    # Prometheus metrics port of the bar builder (0: none)
    bars_metrics_port: int = Field(0, ge=0, validation_alias="TXF_BARS_METRICS_PORT")

    def archived_topics(self) -> dict[str, str]:
        """topic -> txf.v1 message full name, for every topic of the map that carries a message."""
        return {self.topic_prefix + e.name: e.message for e in load_topic_map() if e.message}

    def tick_topics(self) -> list[str]:
        """The topics carrying txf.v1.Tick (the bar builder's input)."""
        return [t for t, m in self.archived_topics().items() if m == "txf.v1.Tick"]

    def bars_topic(self) -> str:
        return self.topic_prefix + next(e.name for e in load_topic_map() if e.message == "txf.v1.Bar")

    def registry_settings(self) -> RegistrySettings:
        """The consumer library's registry settings (the schema check of every writer schema id)."""
        auth = self.registry_basic_auth.get_secret_value() if self.registry_basic_auth is not None else None
        return RegistrySettings(
            url=self.registry_url.rstrip("/"),
            basic_auth=auth,
            ca_location=self.registry_ssl_ca_location,
            deadline_s=self.startup_deadline_s,
        )

    def consumer_config(self, group: str, client_id: str) -> dict[str, Any]:
        """Consumer properties: manual offsets, read_committed, large fetches; then TXF_KAFKA_EXTRA.

        Static membership (`group.instance.id`, one per host and service: the archive directory's
        lock allows one writer per host anyway): a restarted archiver takes its partitions back at
        once instead of waiting for the killed one's session to time out.
        """
        conf: dict[str, Any] = {
            **self.client_config(),
            "group.id": self.topic_prefix + group,
            "group.instance.id": f"{self.topic_prefix}{group}-{socket.gethostname()}",
            "client.id": client_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.partition.eof": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
        }
        conf.update(self.kafka_extra)
        return conf
