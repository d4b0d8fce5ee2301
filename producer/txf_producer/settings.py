"""Producer settings: the kit's shared ones (Kafka, registry, topic map, calendar) plus its own.

Every setting is `TXF_<NAME>`; the original service's names (`KAFKA_BOOTSTRAP_SERVERS`,
`TICK_TOPIC`, `BIDASK_TOPIC`, `SHIOAJI_API_KEY`, `SHIOAJI_SECRET_KEY`) are accepted too, so an
existing `.env` keeps working. The Shioaji keys can come from files like every secret
(TXF_SHIOAJI_API_KEY_FILE, TXF_SHIOAJI_SECRET_KEY_FILE), e.g. systemd credentials, so they are
never in the process environment. See `.env.example` for each setting with its default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import PrivateAttr, SecretStr, model_validator

from txf_kit.settings import ServiceSettings, SettingsError, env, load
from txf_kit.topicmap import TopicEntry, TopicMapError, load_capture, load_topic_map
from txf_producer.sources.base import MESSAGE_NAME_OF, QuoteType

__all__ = ["Settings", "SettingsError", "load", "load_settings", "SECRET_FILES", "LEG_METRICS_BASE"]

#: The quote stream each message of the topic map comes from.
MESSAGE_QUOTE_TYPE = {name: q for q, name in MESSAGE_NAME_OF.items()}
#: The original service's per-topic variables, by what the topic carries (message, alias) or role.
_SETTING_OF_ROUTE = {
    ("txf.v1.Tick", "TXFR1"): "tick_topic",
    ("txf.v1.Tick", "TXFR2"): "txfr2_tick_topic",
    ("txf.v1.BidAsk", "TXFR1"): "bidask_topic",
    ("dead_letter", None): "dead_letter_topic",
}
#: /metrics of a plain producer; a capture leg's default is LEG_METRICS_BASE + its place in the legs
#: (a: 9468, b: 9469, ...), so legs on one host never take one port (the arbiter has 9465, the
#: archiver 9466, the bar builder 9467: deploy/common.sh uses the same numbers)
PRODUCER_METRICS_PORT, LEG_METRICS_BASE = 9464, 9468


def _route_key(entry: TopicEntry) -> tuple[str, str | None]:
    return (entry.role, None) if entry.role != "data" else (str(entry.message), entry.contract)


class Settings(ServiceSettings):
    """All producer settings. Field comments are the user-facing reference."""

    SECRET_FILES: ClassVar[tuple[tuple[str, str, str], ...]] = (
        *ServiceSettings.SECRET_FILES,
        ("shioaji_api_key", "shioaji_api_key_file", "TXF_SHIOAJI_API_KEY"),
        ("shioaji_secret_key", "shioaji_secret_key_file", "TXF_SHIOAJI_SECRET_KEY"),
    )

    linger_ms: float = env("LINGER_MS", 1.0)

    # Topics: the names, messages and aliases come from the topic map; the original service's
    # per-topic variables still rename a route's topic. Unset names are filled in at validation.
    # A capture leg (one of the deployment's legs, e.g. "a"): this producer then writes the
    # leg's copies of the topics (leg-a.txf-tick, ...) and txf-arbiter writes each quote once to the
    # canonical ones. Unset: this producer writes the canonical topics itself (one producer, no arbiter).
    capture_leg: str | None = env("CAPTURE_LEG", None)
    tick_topic: str | None = env("TICK_TOPIC", None, "TICK_TOPIC")
    txfr2_tick_topic: str | None = env("TXFR2_TICK_TOPIC", None)
    bidask_topic: str | None = env("BIDASK_TOPIC", None, "BIDASK_TOPIC")
    dead_letter_topic: str | None = env("DEAD_LETTER_TOPIC", None)
    subscribe_txfr2_tick: bool = env("SUBSCRIBE_TXFR2_TICK", False)
    publish_simtrade: bool = env("PUBLISH_SIMTRADE", False)

    # Shioaji
    shioaji_api_key: SecretStr | None = env("SHIOAJI_API_KEY", None, "SHIOAJI_API_KEY")
    shioaji_secret_key: SecretStr | None = env("SHIOAJI_SECRET_KEY", None, "SHIOAJI_SECRET_KEY")
    shioaji_api_key_file: Path | None = env("SHIOAJI_API_KEY_FILE", None)  # instead of the key
    shioaji_secret_key_file: Path | None = env("SHIOAJI_SECRET_KEY_FILE", None)  # instead of the key
    shioaji_simulation: bool = env("SHIOAJI_SIMULATION", False)

    # Lifecycle
    queue_full_wait_s: float = env("QUEUE_FULL_WAIT_S", 2.0, ge=0)
    stats_interval_s: float = env("STATS_INTERVAL_S", 60.0, gt=0)
    no_data_timeout_s: float = env("NO_DATA_TIMEOUT_S", 60.0, gt=0)
    no_data_after_open_s: float = env("NO_DATA_AFTER_OPEN_S", 300.0, gt=0)
    reconnect_grace_s: float = env("RECONNECT_GRACE_S", 60.0, gt=0)
    state_dir: Path = env("STATE_DIR", Path("state"))
    # /metrics, /healthz, /readyz (0: off); unset: 9464, or a capture leg's own port (see LEG_METRICS_BASE)
    metrics_port: int | None = env("METRICS_PORT", None, ge=0, le=65535)

    _routes: list[tuple[QuoteType, str, str]] = PrivateAttr(default_factory=list)

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
        """The capture leg's topic prefix ("" without a leg); a leg not among the deployment's is an error."""
        if not self.capture_leg:
            return ""
        if self.capture_leg not in self.legs():
            raise TopicMapError(
                f"TXF_CAPTURE_LEG={self.capture_leg!r} is not a capture leg of this deployment (legs: "
                f"{list(self.legs())}, from TXF_CAPTURE_LEGS or the topic map's [capture]); set one of them, "
                "name every leg in TXF_CAPTURE_LEGS (a,b,c), or unset it to write the canonical topics"
            )
        return load_capture().prefix_of(self.capture_leg)

    def metrics_port_in_use(self) -> int:
        """TXF_METRICS_PORT, else 9464, else (a capture leg) LEG_METRICS_BASE + the leg's place."""
        if self.metrics_port is not None:
            return self.metrics_port
        if self.capture_leg:
            return LEG_METRICS_BASE + self.legs().index(self.capture_leg)
        return PRODUCER_METRICS_PORT

    def routes(self) -> list[tuple[QuoteType, str, str]]:
        """(quote type, contract alias, topic) for every stream to subscribe and publish (TXFR2 if asked)."""
        return [r for r in self._routes if r[1] != "TXFR2" or self.subscribe_txfr2_tick]

    def kafka_config(self) -> dict[str, Any]:
        """Producer properties: the kit's safe writer, the queue bounds, then TXF_KAFKA_EXTRA."""
        conf: dict[str, Any] = {
            **self.writer_config("txf-producer"),
            "linger.ms": self.linger_ms,
            # While the broker is away, records wait in the queue and are delivered, in order, when
            # it returns (message.timeout.ms 0). The queue is kept to 16 MiB of payload (~5 minutes
            # of the real 353 msgs/s peak, hours at the average rate) so the producer stays near
            # 100 MB resident; past it the quote callback waits TXF_QUEUE_FULL_WAIT_S for room, then
            # the record goes to the spool file.
            "queue.buffering.max.messages": 100_000,
            "queue.buffering.max.kbytes": 16_384,
        }
        conf.update(self.kafka_extra)
        return conf


#: The secrets that may be kept in a file instead: (field, its file's field, the secret's variable).
SECRET_FILES = Settings.SECRET_FILES


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise SettingsError naming every bad variable."""
    return load(Settings, **overrides)
