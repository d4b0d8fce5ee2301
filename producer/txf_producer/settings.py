"""Producer settings from the environment and `.env`, validated at start.

Every setting is `TXF_<NAME>`; the original service's names
(`KAFKA_BOOTSTRAP_SERVERS`, `TICK_TOPIC`, `BIDASK_TOPIC`, `SHIOAJI_API_KEY`,
`SHIOAJI_SECRET_KEY`) are accepted too, so an existing `.env` keeps working.
Secrets are `SecretStr`: they print as '**********' in reprs, logs and errors.
Every secret can come from a file instead of the environment: `<NAME>_FILE`
(TXF_KAFKA_SASL_PASSWORD_FILE, TXF_REGISTRY_BASIC_AUTH_FILE, TXF_SHIOAJI_API_KEY_FILE,
TXF_SHIOAJI_SECRET_KEY_FILE), e.g. a systemd credential, so the secret is never in the
process environment; the consumers in every language read the same TXF_KAFKA_* and
TXF_REGISTRY_* names (see the README's Security section).
See `.env.example` for each setting with its default.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

from txf_producer.sources.base import MESSAGE_NAME_OF, QuoteType
from txf_registry.topicmap import TopicEntry, TopicMapError, load_capture, load_topic_map

#: The quote stream each message of the topic map comes from.
MESSAGE_QUOTE_TYPE = {name: q for q, name in MESSAGE_NAME_OF.items()}
#: The original service's per-topic variables, by what the topic carries (message, alias) or role.
_SETTING_OF_ROUTE = {
    ("txf.v1.Tick", "TXFR1"): "tick_topic",
    ("txf.v1.Tick", "TXFR2"): "txfr2_tick_topic",
    ("txf.v1.BidAsk", "TXFR1"): "bidask_topic",
    ("dead_letter", None): "dead_letter_topic",
}


def _route_key(entry: TopicEntry) -> tuple[str, str | None]:
    return (entry.role, None) if entry.role != "data" else (str(entry.message), entry.contract)


def _env(name: str, default: Any, *legacy: str) -> Any:
    """A field read from TXF_<name> (or a legacy name), with its default."""
    return Field(default, validation_alias=AliasChoices(f"TXF_{name}", *legacy))


class Settings(BaseSettings):
    """All producer settings. Field docs are the user-facing reference."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True)

    # Kafka
    kafka_bootstrap: str = Field(
        "127.0.0.1:19092", validation_alias=AliasChoices("TXF_KAFKA_BOOTSTRAP", "KAFKA_BOOTSTRAP_SERVERS")
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = _env(
        "KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"
    )
    kafka_sasl_mechanism: str | None = _env("KAFKA_SASL_MECHANISM", None)
    kafka_sasl_username: str | None = _env("KAFKA_SASL_USERNAME", None)
    kafka_sasl_password: SecretStr | None = _env("KAFKA_SASL_PASSWORD", None)
    kafka_sasl_password_file: Path | None = _env("KAFKA_SASL_PASSWORD_FILE", None)  # instead of the password
    kafka_ssl_ca_location: str | None = _env("KAFKA_SSL_CA_LOCATION", None)
    kafka_extra: Annotated[dict[str, Any], NoDecode] = _env("KAFKA_EXTRA", {})  # any librdkafka property, as JSON
    compression: Literal["none", "lz4", "zstd", "snappy", "gzip"] = _env("COMPRESSION", "lz4")
    linger_ms: float = _env("LINGER_MS", 1.0)

    # Schema registry (Confluent API)
    registry_url: str = _env("REGISTRY_URL", "http://127.0.0.1:18081/apis/ccompat/v7")
    registry_basic_auth: SecretStr | None = _env("REGISTRY_BASIC_AUTH", None)  # "user:password"
    registry_basic_auth_file: Path | None = _env("REGISTRY_BASIC_AUTH_FILE", None)  # instead of the login
    registry_ssl_ca_location: str | None = _env("REGISTRY_SSL_CA_LOCATION", None)
    auto_register_schemas: bool = _env("AUTO_REGISTER_SCHEMAS", False)

    # Topics: the names, messages and aliases come from the topic map (txf_registry/subjects.toml);
    # a prefix puts several environments on one cluster, and the original service's per-topic
    # variables still rename a route's topic. Unset names are filled in from the map at validation.
    topic_prefix: str = _env("TOPIC_PREFIX", "")
    # A capture leg (one of the topic map's [capture] legs, e.g. "a"): this producer then writes the
    # leg's copies of the topics (leg-a.txf-tick, ...) and txf-arbiter writes each quote once to the
    # canonical ones. Unset: this producer writes the canonical topics itself (one producer, no arbiter).
    capture_leg: str | None = _env("CAPTURE_LEG", None)
    tick_topic: str | None = Field(None, validation_alias=AliasChoices("TXF_TICK_TOPIC", "TICK_TOPIC"))
    txfr2_tick_topic: str | None = _env("TXFR2_TICK_TOPIC", None)
    bidask_topic: str | None = Field(None, validation_alias=AliasChoices("TXF_BIDASK_TOPIC", "BIDASK_TOPIC"))
    dead_letter_topic: str | None = _env("DEAD_LETTER_TOPIC", None)
    subscribe_txfr2_tick: bool = _env("SUBSCRIBE_TXFR2_TICK", False)
    publish_simtrade: bool = _env("PUBLISH_SIMTRADE", False)

    # Shioaji
    shioaji_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TXF_SHIOAJI_API_KEY", "SHIOAJI_API_KEY")
    )
    shioaji_secret_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TXF_SHIOAJI_SECRET_KEY", "SHIOAJI_SECRET_KEY")
    )
    shioaji_api_key_file: Path | None = _env("SHIOAJI_API_KEY_FILE", None)  # instead of the key
    shioaji_secret_key_file: Path | None = _env("SHIOAJI_SECRET_KEY_FILE", None)  # instead of the key
    shioaji_simulation: bool = _env("SHIOAJI_SIMULATION", False)

    # Lifecycle
    startup_deadline_s: float = Field(30.0, gt=0, validation_alias=AliasChoices("TXF_STARTUP_DEADLINE_S"))
    flush_timeout_s: float = Field(10.0, gt=0, validation_alias=AliasChoices("TXF_FLUSH_TIMEOUT_S"))
    queue_full_wait_s: float = Field(2.0, ge=0, validation_alias=AliasChoices("TXF_QUEUE_FULL_WAIT_S"))
    stats_interval_s: float = Field(60.0, gt=0, validation_alias=AliasChoices("TXF_STATS_INTERVAL_S"))
    no_data_timeout_s: float = Field(60.0, gt=0, validation_alias=AliasChoices("TXF_NO_DATA_TIMEOUT_S"))
    no_data_after_open_s: float = Field(300.0, gt=0, validation_alias=AliasChoices("TXF_NO_DATA_AFTER_OPEN_S"))
    holidays: Annotated[frozenset[date], NoDecode] = _env(
        "HOLIDAYS", frozenset()
    )  # exchange holidays, "2027-01-01,2027-02-08"
    holidays_file: Path | None = _env("HOLIDAYS_FILE", None)  # one YYYY-MM-DD per line, '#' comments
    reconnect_grace_s: float = Field(60.0, gt=0, validation_alias=AliasChoices("TXF_RECONNECT_GRACE_S"))
    state_dir: Path = _env("STATE_DIR", Path("state"))
    metrics_host: str = _env("METRICS_HOST", "127.0.0.1")
    metrics_port: int = Field(9464, ge=0, le=65535, validation_alias=AliasChoices("TXF_METRICS_PORT"))  # 0: off
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _env("LOG_LEVEL", "INFO")

    _routes: list[tuple[QuoteType, str, str]] = PrivateAttr(default_factory=list)

    @field_validator("holidays", mode="before")
    @classmethod
    def _parse_dates(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return frozenset(date.fromisoformat(d.strip()) for d in v.split(",") if d.strip())
            except ValueError as exc:
                raise ValueError(f"must be ISO dates separated by commas (2027-01-01,2027-02-08): {exc}") from None
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

    def all_holidays(self) -> frozenset[date]:
        """TXF_HOLIDAYS plus the dates in TXF_HOLIDAYS_FILE (the file deploy/ installs for the schedule)."""
        if self.holidays_file is None:
            return self.holidays
        dates = set(self.holidays)
        for n, line in enumerate(self.holidays_file.read_text("utf-8").splitlines(), 1):
            text = line.split("#", 1)[0].strip()
            if text:
                try:
                    dates.add(date.fromisoformat(text))
                except ValueError:
                    raise SettingsError(
                        f"TXF_HOLIDAYS_FILE {self.holidays_file}:{n}: {text!r} is not YYYY-MM-DD"
                    ) from None
        return frozenset(dates)

    @model_validator(mode="after")
    def _secrets_from_files(self) -> Settings:
        """Read each secret given as a file (`<NAME>_FILE`); a secret set both ways is an error."""
        for secret, file_field, variable in SECRET_FILES:
            path = getattr(self, file_field)
            if path is None:
                continue
            given = getattr(self, secret)
            if given is not None and given.get_secret_value():  # an empty `NAME=` line (the template's) is unset
                raise ValueError(f"{variable} and {variable}_FILE are both set: keep one of them")
            setattr(self, secret, SecretStr(read_secret_file(path, f"{variable}_FILE")))
        return self

    @model_validator(mode="after")
    def _kafka_security(self) -> Settings:
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
    def _resolve_topics(self) -> Settings:
        """Fill every unset topic name from the topic map (with the prefix)."""
        try:
            entries = load_topic_map()
            base = self.topic_prefix + self._leg_prefix()
        except TopicMapError as exc:
            raise ValueError(str(exc)) from None
        for entry in entries:
            setting = _SETTING_OF_ROUTE.get(_route_key(entry))
            if setting is not None and getattr(self, setting) is None:
                setattr(self, setting, base + entry.name)
        self._routes = [
            (
                MESSAGE_QUOTE_TYPE[str(e.message)],
                str(e.contract),
                getattr(self, _SETTING_OF_ROUTE[_route_key(e)])
                if _route_key(e) in _SETTING_OF_ROUTE
                else base + e.name,
            )
            for e in entries
            if e.role == "data" and e.message in MESSAGE_QUOTE_TYPE
        ]
        return self

    def _leg_prefix(self) -> str:
        """The capture leg's topic prefix from the topic map ("" without a leg); an unknown leg is an error."""
        if not self.capture_leg:
            return ""
        capture = load_capture()
        if self.capture_leg not in capture.legs:
            raise TopicMapError(
                f"TXF_CAPTURE_LEG={self.capture_leg!r} is not a capture leg of the topic map "
                f"([capture] legs = {list(capture.legs)}); set one of them, or unset it to write the canonical topics"
            )
        return capture.prefix_of(self.capture_leg)

    def routes(self) -> list[tuple[QuoteType, str, str]]:
        """(quote type, contract alias, topic) for every stream to subscribe and publish (TXFR2 if asked)."""
        return [r for r in self._routes if r[1] != "TXFR2" or self.subscribe_txfr2_tick]

    def client_config(self) -> dict[str, Any]:
        """Connection and security properties any Kafka client of ours needs (producer, admin)."""
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

    def kafka_config(self) -> dict[str, Any]:
        """Producer properties: safe defaults, connection/security, then TXF_KAFKA_EXTRA."""
        conf: dict[str, Any] = {
            **self.client_config(),
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": self.compression,
            "linger.ms": self.linger_ms,
            # Never expire a record locally: while the broker is away, records wait in
            # the queue and are delivered, in order, when it returns. The queue is kept to
            # 16 MiB of payload (~5 minutes of the real 353 msgs/s peak, hours at the average
            # rate) so the producer stays near 100 MB resident; past it the quote callback
            # waits TXF_QUEUE_FULL_WAIT_S for room, then the record goes to the spool file.
            "message.timeout.ms": 0,
            "queue.buffering.max.messages": 100_000,
            "queue.buffering.max.kbytes": 16_384,
            "client.id": "txf-producer",
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


#: The secrets that may be kept in a file instead: (field, its file's field, the secret's variable).
SECRET_FILES = (
    ("kafka_sasl_password", "kafka_sasl_password_file", "TXF_KAFKA_SASL_PASSWORD"),
    ("registry_basic_auth", "registry_basic_auth_file", "TXF_REGISTRY_BASIC_AUTH"),
    ("shioaji_api_key", "shioaji_api_key_file", "TXF_SHIOAJI_API_KEY"),
    ("shioaji_secret_key", "shioaji_secret_key_file", "TXF_SHIOAJI_SECRET_KEY"),
)


def read_secret_file(path: Path, variable: str) -> str:
    """A secret kept in a file: its text without the trailing newline. The error names the variable and
    the file, never the content."""
    try:
        text = path.read_text("utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ValueError(f"{variable}={path}: cannot read it ({reason})") from None
    if not text:
        raise ValueError(f"{variable}={path}: the file is empty")
    return text


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise SettingsError naming every bad variable."""
    return load(Settings, **overrides)


S = TypeVar("S", bound=Settings)


def load(cls: type[S], **overrides: Any) -> S:
    """Read and validate settings of `cls` (Settings or a service's own subclass); SettingsError on a bad one."""
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
    except _SourceError as exc:  # a value the settings source could not even parse
        raise SettingsError(f"invalid settings: {exc}") from None
