"""Connection settings of the consumer: defaults from the environment, overridden by flags.

The variable names are the producer's (`TXF_KAFKA_BOOTSTRAP`, `TXF_REGISTRY_URL`,
`TXF_REGISTRY_BASIC_AUTH` or `TXF_REGISTRY_BASIC_AUTH_FILE`, `TXF_REGISTRY_SSL_CA_LOCATION`, and for a secured
cluster `TXF_KAFKA_SECURITY_PROTOCOL`, `TXF_KAFKA_SASL_MECHANISM`,
`TXF_KAFKA_SASL_USERNAME`, `TXF_KAFKA_SASL_PASSWORD` or `TXF_KAFKA_SASL_PASSWORD_FILE`,
`TXF_KAFKA_SSL_CA_LOCATION`), so one `.env`/unit file serves both, and the Go,
TypeScript and Java consumers read the same names. Passwords are read from the
environment or a file only, never from a flag, so they do not show up in `ps`
output or shell history.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from txf_kit.secretfiles import SettingError, secret_from_env

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
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> RegistrySettings:
        """Settings from TXF_REGISTRY_* variables; keyword overrides that are not None win.

        The login comes from TXF_REGISTRY_BASIC_AUTH or a file named by TXF_REGISTRY_BASIC_AUTH_FILE;
        raises SecuritySettingsError when both are set or the file cannot be read."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "url": env.get("TXF_REGISTRY_URL") or DEFAULT_REGISTRY_URL,
            "basic_auth": secret_from_env(env, "TXF_REGISTRY_BASIC_AUTH"),
            "ca_location": env.get("TXF_REGISTRY_SSL_CA_LOCATION") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["url"] = str(values["url"]).rstrip("/")
        return cls(**values)  # type: ignore[arg-type]


PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


#: A TXF_KAFKA_* or TXF_REGISTRY_* setting is missing or wrong (the kit's one error for settings read from
#: the environment); the message names the variable, never a password.
SecuritySettingsError = SettingError


def kafka_security(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """librdkafka properties for a secured cluster, from the TXF_KAFKA_* variables ({} for PLAINTEXT).

    SASL needs a mechanism, a user and exactly one of TXF_KAFKA_SASL_PASSWORD and
    TXF_KAFKA_SASL_PASSWORD_FILE; a CA file must exist. Raises SecuritySettingsError.
    """
    env = os.environ if env is None else env
    protocol = (env.get("TXF_KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise SecuritySettingsError(f"TXF_KAFKA_SECURITY_PROTOCOL={protocol}: not one of {', '.join(PROTOCOLS)}")
    conf = {"security.protocol": protocol}
    ca = env.get("TXF_KAFKA_SSL_CA_LOCATION")
    if ca:
        if not Path(ca).is_file():
            raise SecuritySettingsError(f"TXF_KAFKA_SSL_CA_LOCATION={ca}: no such file (PEM CA certificates)")
        conf["ssl.ca.location"] = ca
    if protocol.startswith("SASL_"):
        password = secret_from_env(env, "TXF_KAFKA_SASL_PASSWORD")
        mechanism = (env.get("TXF_KAFKA_SASL_MECHANISM") or "").upper()
        missing = [
            name
            for name, value in (
                ("TXF_KAFKA_SASL_MECHANISM", mechanism),
                ("TXF_KAFKA_SASL_USERNAME", env.get("TXF_KAFKA_SASL_USERNAME")),
                ("TXF_KAFKA_SASL_PASSWORD or TXF_KAFKA_SASL_PASSWORD_FILE", password),
            )
            if not value
        ]
        if missing:
            raise SecuritySettingsError(f"TXF_KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)}")
        if mechanism not in MECHANISMS:
            raise SecuritySettingsError(f"TXF_KAFKA_SASL_MECHANISM={mechanism}: not one of {', '.join(MECHANISMS)}")
        conf.update(
            {
                "sasl.mechanism": mechanism,
                "sasl.username": env["TXF_KAFKA_SASL_USERNAME"],
                "sasl.password": str(password),
            }
        )
    return conf


def default_bootstrap(env: Mapping[str, str] | None = None) -> str:
    """Kafka bootstrap servers: TXF_KAFKA_BOOTSTRAP (or the producer's legacy name), else the local stack."""
    env = os.environ if env is None else env
    return env.get("TXF_KAFKA_BOOTSTRAP") or env.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP
