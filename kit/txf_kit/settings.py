"""What every service reads from the environment: Kafka, the registry, the topic map, the calendar.

Every setting is `TXF_<NAME>`, read from the environment and `.env`, validated at start; each
service's own settings are a subclass (the producer's `Settings`, `ArbiterSettings`,
`ArchiveSettings`), so a shared `producer.env` serves them all and no service inherits another's
settings. Secrets are `SecretStr` (they print as '**********' in reprs, logs and errors) and every
one can come from a file instead, `<NAME>_FILE` (a systemd credential): `SECRET_FILES` lists them,
a subclass adds its own. The consumers in every language read the same TXF_KAFKA_* and
TXF_REGISTRY_* names. See `.env.example` for each setting with its default.

Needs the kit's `service` extra (pydantic-settings).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from txf_kit.calendar import TradingCalendar
from txf_kit.secretfiles import SettingError, read_secret_file
from txf_kit.topicmap import TopicEntry, TopicMapError, load_capture, load_topic_map


def env(name: str, default: Any, *legacy: str, **constraints: Any) -> Any:
    """A field read from TXF_<name> (or a legacy name), with its default and pydantic constraints."""
    return Field(default, validation_alias=AliasChoices(f"TXF_{name}", *legacy), **constraints)


class ServiceSettings(BaseSettings):
    """The settings every service shares. Field comments are the user-facing reference."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)
    #: (secret field, its file field, the secret's variable): the secrets that may live in a file instead
    SECRET_FILES: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("kafka_sasl_password", "kafka_sasl_password_file", "TXF_KAFKA_SASL_PASSWORD"),
        ("registry_basic_auth", "registry_basic_auth_file", "TXF_REGISTRY_BASIC_AUTH"),
    )

    # Kafka
    kafka_bootstrap: str = env("KAFKA_BOOTSTRAP", "127.0.0.1:19092", "KAFKA_BOOTSTRAP_SERVERS")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = env(
        "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"
    )
    kafka_sasl_mechanism: str | None = env("KAFKA_SASL_MECHANISM", None)
    kafka_sasl_username: str | None = env("KAFKA_SASL_USERNAME", None)
    kafka_sasl_password: SecretStr | None = env("KAFKA_SASL_PASSWORD", None)
    kafka_sasl_password_file: Path | None = env("KAFKA_SASL_PASSWORD_FILE", None)  # instead of the password
    kafka_ssl_ca_location: str | None = env("KAFKA_SSL_CA_LOCATION", None)
    kafka_extra: Annotated[dict[str, Any], NoDecode] = env("KAFKA_EXTRA", {})  # any librdkafka property, as JSON
    compression: Literal["none", "lz4", "zstd", "snappy", "gzip"] = env("COMPRESSION", "lz4")

    # Schema registry (Confluent API)
    registry_url: str = env("REGISTRY_URL", "http://127.0.0.1:18081/apis/ccompat/v7")
    registry_basic_auth: SecretStr | None = env("REGISTRY_BASIC_AUTH", None)  # "user:password"
    registry_basic_auth_file: Path | None = env("REGISTRY_BASIC_AUTH_FILE", None)  # instead of the login
    registry_ssl_ca_location: str | None = env("REGISTRY_SSL_CA_LOCATION", None)
    auto_register_schemas: bool = env("AUTO_REGISTER_SCHEMAS", False)

    # Topics: names come from the topic map (txf_kit/subjects.toml); a prefix puts several
    # environments on one cluster. The capture legs of a redundant deployment are the map's
    # ([capture] legs = a, b) unless TXF_CAPTURE_LEGS names others ("a,b,c"): a third leg needs no
    # edit of a packaged file, and every program (producer, arbiter, registry tool) sees the same list.
    topic_prefix: str = env("TOPIC_PREFIX", "")
    capture_legs: Annotated[tuple[str, ...], NoDecode] = env("CAPTURE_LEGS", ())

    # The trading calendar: exchange holidays, "2027-01-01,2027-02-08", and/or a file of them
    holidays: Annotated[frozenset[date], NoDecode] = env("HOLIDAYS", frozenset())
    holidays_file: Path | None = env("HOLIDAYS_FILE", None)  # one YYYY-MM-DD per line, '#' comments

    # Lifecycle and observability
    startup_deadline_s: float = env("STARTUP_DEADLINE_S", 30.0, gt=0)
    flush_timeout_s: float = env("FLUSH_TIMEOUT_S", 10.0, gt=0)
    metrics_host: str = env("METRICS_HOST", "127.0.0.1")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = env("LOG_LEVEL", "INFO")

    @field_validator("holidays", mode="before")
    @classmethod
    def _parse_dates(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return frozenset(date.fromisoformat(d.strip()) for d in v.split(",") if d.strip())
            except ValueError as exc:
                raise ValueError(f"must be ISO dates separated by commas (2027-01-01,2027-02-08): {exc}") from None
        return v

    @field_validator("capture_legs", mode="before")
    @classmethod
    def _split_capture_legs(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = tuple(x.strip() for x in v.split(",") if x.strip())
        if v and (len(set(v)) != len(v) or not all(str(leg).isalnum() for leg in v)):
            raise ValueError(f"must be distinct alphanumeric leg names separated by commas (a,b,c), got {v!r}")
        return v

    @field_validator("kafka_extra", mode="before")
    @classmethod
    def _parse_json(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v) if v.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"must be a JSON object of librdkafka properties: {exc}") from None
        return v

    @model_validator(mode="after")
    def _secrets_from_files(self) -> ServiceSettings:
        """Read each secret given as a file (`<NAME>_FILE`); a secret set both ways is an error."""
        for secret, file_field, variable in self.SECRET_FILES:
            path = getattr(self, file_field)
            if path is None:
                continue
            given = getattr(self, secret)
            if given is not None and given.get_secret_value():  # an empty `NAME=` line (the template's) is unset
                raise ValueError(f"{variable} and {variable}_FILE are both set: keep one of them")
            setattr(self, secret, SecretStr(read_secret_file(path, f"{variable}_FILE")))
        return self

    @model_validator(mode="after")
    def _kafka_security(self) -> ServiceSettings:
        """SASL needs a mechanism, a user and one password (from the environment or a file); files exist."""
        if self.kafka_security_protocol.startswith("SASL_"):
            missing = [
                name
                for name, value in (
                    ("TXF_KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                    ("TXF_KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                    ("TXF_KAFKA_SASL_PASSWORD or TXF_KAFKA_SASL_PASSWORD_FILE", self.kafka_sasl_password),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"TXF_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs {', '.join(missing)}"
                )
        for name, path in (
            ("TXF_KAFKA_SSL_CA_LOCATION", self.kafka_ssl_ca_location),
            ("TXF_REGISTRY_SSL_CA_LOCATION", self.registry_ssl_ca_location),
        ):
            if path and not Path(path).is_file():
                raise ValueError(f"{name}={path}: no such file (a PEM file of the CA certificates to trust)")
        return self

    @model_validator(mode="after")
    def _topic_map(self) -> ServiceSettings:
        """The topic map must be readable: every service derives its topics from it."""
        try:
            load_topic_map()
            load_capture()
        except TopicMapError as exc:
            raise ValueError(str(exc)) from None
        return self

    # --- the calendar ------------------------------------------------------------------------------

    def all_holidays(self) -> frozenset[date]:
        """TXF_HOLIDAYS plus the dates in TXF_HOLIDAYS_FILE (the file deploy/ installs for the schedule)."""
        if self.holidays_file is None:
            return self.holidays
        dates = set(self.holidays)
        try:
            lines = self.holidays_file.read_text("utf-8").splitlines()
        except OSError as exc:
            raise SettingsError(f"TXF_HOLIDAYS_FILE={self.holidays_file}: cannot read it ({exc.strerror})") from None
        for n, line in enumerate(lines, 1):
            text = line.split("#", 1)[0].strip()
            if text:
                try:
                    dates.add(date.fromisoformat(text))
                except ValueError:
                    raise SettingsError(
                        f"TXF_HOLIDAYS_FILE {self.holidays_file}:{n}: {text!r} is not YYYY-MM-DD"
                    ) from None
        return frozenset(dates)

    def calendar(self) -> TradingCalendar:
        """The trading calendar with this deployment's holidays."""
        return TradingCalendar(self.all_holidays())

    # --- topics -------------------------------------------------------------------------------------

    def topic(self, entry: TopicEntry) -> str:
        """A canonical topic's name in this environment (with TXF_TOPIC_PREFIX)."""
        return self.topic_prefix + entry.name

    def role_topic(self, role: str) -> str:
        """The canonical topic of a role of the map (ledger, dead_letter, ...), with the prefix."""
        return self.topic(next(e for e in load_topic_map() if e.role == role))

    def legs(self) -> tuple[str, ...]:
        """The capture legs of this deployment: TXF_CAPTURE_LEGS, else the topic map's [capture] legs."""
        return self.capture_legs or load_capture().legs

    def leg_topic(self, leg: str, entry: TopicEntry) -> str:
        """A capture leg's copy of a topic (leg-a.txf-tick), with the prefix."""
        return self.topic_prefix + load_capture().prefix_of(leg) + entry.name

    def check_leg(self, leg: str, variable: str) -> None:
        """SettingsError unless `leg` is one of this deployment's capture legs."""
        if leg not in self.legs():
            raise SettingsError(
                f"{variable}: {leg!r} is not a capture leg of this deployment (legs: {list(self.legs())}); "
                "set one of them, or name every leg in TXF_CAPTURE_LEGS (a,b,c)"
            )

    # --- clients ------------------------------------------------------------------------------------

    def client_config(self) -> dict[str, Any]:
        """Connection and security properties any Kafka client of ours needs (producer, consumer, admin)."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.kafka_bootstrap,
            "security.protocol": self.kafka_security_protocol,
        }
        for key, value in (
            ("sasl.mechanism", self.kafka_sasl_mechanism),
            ("sasl.username", self.kafka_sasl_username),
            ("ssl.ca.location", self.kafka_ssl_ca_location),
        ):
            if value:
                conf[key] = value
        if self.kafka_sasl_password is not None:
            conf["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        return conf

    def writer_config(self, client_id: str) -> dict[str, Any]:
        """A producer that loses nothing and writes nothing twice: idempotent, acks=all, records never
        expired locally (a broker outage is waited out), then TXF_KAFKA_EXTRA."""
        conf: dict[str, Any] = {
            **self.client_config(),
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": self.compression,
            "message.timeout.ms": 0,
            "client.id": client_id,
        }
        conf.update(self.kafka_extra)
        return conf

    def registry_config(self) -> dict[str, Any]:
        """SchemaRegistryClient configuration (URL, basic auth, TLS CA)."""
        # A bounded request timeout: the client's default is none, and a registry that
        # accepts the connection but never answers must not hang start-up.
        conf: dict[str, Any] = {"url": self.registry_url, "timeout": 10}
        if self.registry_basic_auth is not None:
            conf["basic.auth.user.info"] = self.registry_basic_auth.get_secret_value()
        if self.registry_ssl_ca_location:
            conf["ssl.ca.location"] = self.registry_ssl_ca_location
        return conf


class SettingsError(RuntimeError):
    """Invalid settings; the message names each bad setting by its environment variable."""


S = TypeVar("S", bound=ServiceSettings)


def load(cls: type[S], **overrides: Any) -> S:
    """Read and validate settings of `cls` (a service's own subclass); SettingsError naming every bad one."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            if err["loc"]:  # the alias: the variable's name
                lines.append(f"{err['loc'][0]}: {err['msg']}")
            else:  # a check across settings (a model validator): its message names the variables
                lines.append(str(err["msg"]).removeprefix("Value error, "))
        raise SettingsError("invalid settings: " + "; ".join(lines)) from None
    except (_SourceError, SettingError) as exc:  # a value the settings source could not even parse
        raise SettingsError(f"invalid settings: {exc}") from None
