"""Connection settings of the consumer: defaults from the environment, overridden by flags.

The variable names are the producer's (`TXF_KAFKA_BOOTSTRAP`, `TXF_REGISTRY_URL`,
`TXF_REGISTRY_BASIC_AUTH`, `TXF_REGISTRY_SSL_CA_LOCATION`), so one `.env`/unit file
serves both. The registry password is read from the environment only, never from
a flag, so it does not show up in `ps` output or shell history.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"
DEFAULT_REGISTRY_URL = "http://127.0.0.1:18081/apis/ccompat/v7"


@dataclass(frozen=True)
class RegistrySettings:
    """Where and how to reach a Confluent-API schema registry.

    `basic_auth` is "user:password"; `ca_location` a PEM file of CAs to trust for
    an https URL; `timeout_s` bounds each HTTP request, `deadline_s` all retries of
    one lookup (a registry that is restarting gets that long to answer).
    """

    url: str = DEFAULT_REGISTRY_URL
    basic_auth: str | None = field(default=None, repr=False)
    ca_location: str | None = None
    timeout_s: float = 10.0
    deadline_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "RegistrySettings":
        """Settings from TXF_REGISTRY_* variables; keyword overrides that are not None win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "url": env.get("TXF_REGISTRY_URL") or DEFAULT_REGISTRY_URL,
            "basic_auth": env.get("TXF_REGISTRY_BASIC_AUTH") or None,
            "ca_location": env.get("TXF_REGISTRY_SSL_CA_LOCATION") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["url"] = str(values["url"]).rstrip("/")
        return cls(**values)  # type: ignore[arg-type]


def default_bootstrap(env: Mapping[str, str] | None = None) -> str:
    """Kafka bootstrap servers: TXF_KAFKA_BOOTSTRAP (or the producer's legacy name), else the local stack."""
    env = os.environ if env is None else env
    return env.get("TXF_KAFKA_BOOTSTRAP") or env.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP
