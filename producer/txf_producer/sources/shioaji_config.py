"""The live source's settings: credentials (as SecretStr), streams, login retry policy, time bounds.

Broker limits shape the policy: 5 concurrent connections per person, 1000 logins a day, and too
many logins get a temporary ban, so login is retried a few times with long pauses and never in a
tight loop (`LoginRetry` refuses anything faster).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from txf_producer.sources.base import QuoteType

__all__ = ["LoginRetry", "MAX_LOGIN_ATTEMPTS", "MIN_LOGIN_BACKOFF_S", "ShioajiConfig"]

#: Never retry a login faster than this (broker bans clients that hammer login).
MIN_LOGIN_BACKOFF_S = 5.0
#: Never try more logins than this per start (5 concurrent connections, 1000 logins a day).
MAX_LOGIN_ATTEMPTS = 5


@dataclass(frozen=True)
class LoginRetry:
    """How often to try login: `max_attempts` tries, pausing `backoff_s[i]` after failure i+1.

    The last backoff repeats if there are more attempts than backoffs. The
    defaults (3 attempts, 20 s then 60 s) stay far inside the broker's limits.
    """

    max_attempts: int = 3
    backoff_s: tuple[float, ...] = (20.0, 60.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "backoff_s", tuple(float(b) for b in self.backoff_s))
        if not 1 <= self.max_attempts <= MAX_LOGIN_ATTEMPTS:
            raise ValueError(f"LoginRetry.max_attempts must be 1..{MAX_LOGIN_ATTEMPTS}, got {self.max_attempts}")
        if self.max_attempts > 1 and not self.backoff_s:
            raise ValueError("LoginRetry.backoff_s is empty but more than one attempt is allowed")
        if any(b < MIN_LOGIN_BACKOFF_S for b in self.backoff_s):
            raise ValueError(
                f"LoginRetry.backoff_s must be >= {MIN_LOGIN_BACKOFF_S} s each "
                f"(the broker bans clients that log in too often), got {self.backoff_s}"
            )

    def delay_after(self, failed_attempt: int) -> float:
        """Pause after the `failed_attempt`-th (1-based) failed login."""
        return self.backoff_s[min(failed_attempt, len(self.backoff_s)) - 1]


def _secret(value: Any) -> SecretStr:
    if isinstance(value, SecretStr):
        return value
    return SecretStr("" if value is None else str(value))


def _aliases(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    out = tuple(str(v).strip() for v in value)
    if not out or any(not v for v in out):
        raise ValueError(f"ShioajiConfig.{what} must be a non-empty list of contract codes, got {value!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"ShioajiConfig.{what} has duplicates: {out}")
    return out


@dataclass(frozen=True)
class ShioajiConfig:
    """Everything the live source needs. Secrets are `SecretStr`: repr/str show '**********'.

    Plain strings are accepted for `api_key`/`secret_key` and wrapped. Empty
    credentials are allowed here (so a config can be built and inspected) and
    rejected by `ShioajiSource.start` with a `SourceError`.
    """

    api_key: SecretStr = field(default_factory=lambda: SecretStr(""))
    secret_key: SecretStr = field(default_factory=lambda: SecretStr(""))
    simulation: bool = False
    product: str = "TXF"
    tick_aliases: tuple[str, ...] = ("TXFR1",)
    bidask_aliases: tuple[str, ...] = ("TXFR1",)
    login_retry: LoginRetry = field(default_factory=LoginRetry)
    #: Bound on one blocking broker call (client creation, one login, contract list).
    login_timeout_s: float = 60.0
    #: Bound on one subscribe/unsubscribe call.
    subscribe_timeout_s: float = 15.0
    #: Bound on logout in `stop()` (systemd gives the whole stop 30 s).
    logout_timeout_s: float = 10.0
    #: Shioaji's own log file; None means $SJ_LOG_PATH if set, else ~/.local/state/txfstream/shioaji.log.
    log_path: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_key", _secret(self.api_key))
        object.__setattr__(self, "secret_key", _secret(self.secret_key))
        object.__setattr__(self, "product", str(self.product).strip())
        if not self.product:
            raise ValueError("ShioajiConfig.product must be a futures root such as 'TXF'")
        object.__setattr__(self, "tick_aliases", _aliases(self.tick_aliases, "tick_aliases"))
        object.__setattr__(self, "bidask_aliases", _aliases(self.bidask_aliases, "bidask_aliases"))
        for name in ("login_timeout_s", "subscribe_timeout_s", "logout_timeout_s"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"ShioajiConfig.{name} must be > 0")
        if self.log_path is not None:
            object.__setattr__(self, "log_path", Path(self.log_path))

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key.get_secret_value().strip()) and bool(self.secret_key.get_secret_value().strip())

    def wanted(self) -> list[tuple[str, QuoteType]]:
        """(alias, quote type) pairs to subscribe, in order."""
        return [(a, QuoteType.TICK) for a in self.tick_aliases] + [(a, QuoteType.BIDASK) for a in self.bidask_aliases]
