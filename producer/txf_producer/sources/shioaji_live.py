"""The live source: a Shioaji 1.7 session delivering TXF Tick and BidAsk quotes.

Shioaji calls our callbacks from its own (Rust runtime) threads with real
`TickFOPv1` / `BidAskFOPv1` objects; they go straight to the sink, untouched.
Everything that blocks (client creation, login, contract list, subscribe,
logout) runs in a worker thread with a time bound, never on the event loop.

Facts this module relies on (shioaji 1.7.9, `_core.pyi`):
- `set_on_tick_fop_v1_callback(callback: Callable[[TickFOPv1], None], bind=False)`
  and the BidAsk twin take ONE-argument callbacks; the library inspects the
  callback's parameters and still accepts `(exchange, quote)` with a
  deprecation warning, so ours are plain one-parameter functions.
- `set_event_callback(callback: Callable[[int, int, str, str], None])`:
  `(resp_code, event_code, info, event)`.
- `set_session_down_callback(callback: Callable[[], None])`: NO arguments. The
  original service registered a one-argument function, so its self-healing
  never ran; ours accepts any arguments and reports DISCONNECTED.
- `subscribe(contract, quote_type=None, intraday_odd=False, version=None, ...)`:
  we pass `quote_type=sj.QuoteType.Tick|BidAsk` and `version=sj.QuoteVersion.v1`
  (the only version 1.7.9 knows) explicitly.
- Importing shioaji opens its log file at `$SJ_LOG_PATH` (default ./shioaji.log
  in the cwd); the parent directory must exist, else it logs to stdout. Set it
  with `prepare_shioaji_log()` before anything imports shioaji (note that
  `txf_producer.quotes` imports it).

Broker limits: 5 concurrent connections per person, 1000 logins a day, and too
many logins get a temporary ban, so login is retried a few times with long
pauses and never in a tight loop; a rejected key is not retried at all.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from txf_producer.sources.base import QuoteSink, QuoteType, Source, SourceConfigError, SourceError, Subscription
from txf_producer.sources.events import Connected, Disconnected, Reconnected, SourceEvent, SourceFault, Subscribed
from txf_producer.sources.shioaji_client import (
    CallTimedOut,
    default_api_factory,
    in_thread,
    is_permanent_login_error,
    prepare_shioaji_log,
    shioaji_constants,
)
from txf_producer.sources.shioaji_config import MAX_LOGIN_ATTEMPTS, MIN_LOGIN_BACKOFF_S, LoginRetry, ShioajiConfig

__all__ = [
    "LoginRetry",
    "ShioajiConfig",
    "ShioajiSource",
    "default_api_factory",
    "prepare_shioaji_log",
    "EVENT_KINDS",
    "MIN_LOGIN_BACKOFF_S",
    "MAX_LOGIN_ATTEMPTS",
]

log = logging.getLogger(__name__)

#: Solace session event codes -> (the typed event it becomes, what it means). "subscribe ok" (16) is
#: only logged: the source reports a `Subscribed` with the resolved streams itself, once subscribe returns.
SessionEventType = type[Connected] | type[Disconnected] | type[Reconnected] | type[SourceFault]
EVENT_KINDS: dict[int, tuple[SessionEventType | None, str]] = {
    0: (Connected, "session up"),
    1: (Disconnected, "session down"),
    2: (SourceFault, "connect failed"),
    4: (SourceFault, "subscription error"),
    12: (Disconnected, "reconnecting"),
    13: (Reconnected, "reconnected"),
    16: (None, "subscribe ok"),
}

_CREDENTIALS_HINT = "set TXF_SHIOAJI_API_KEY and TXF_SHIOAJI_SECRET_KEY, or their _FILE forms"
_MAX_REASON_CHARS = 300


# --------------------------------------------------------------------------- the source


class ShioajiSource(Source):
    """A Shioaji session as a `Source`.

    `api_factory(config)` returns the client (default: `default_api_factory`);
    `sleep` is the async sleep used between login attempts and `clock` gives
    event times in UTC epoch ns, both injectable for tests.
    """

    name = "shioaji"

    def __init__(
        self,
        config: ShioajiConfig,
        api_factory: Callable[[ShioajiConfig], Any] | None = None,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self._factory = api_factory or default_api_factory
        self._sleep = sleep
        self._clock = clock
        self._api: Any = None
        self._sink: QuoteSink | None = None
        self._tick_target: Callable[[Any, int], None] = _drop
        self._bidask_target: Callable[[Any, int], None] = _drop
        self._subs: list[tuple[Subscription, Any]] = []  # (subscription, contract object)
        self._sj_types: dict[QuoteType, Any] = {}
        self._sj_version: Any = None
        self._logged_in = False
        self._started = False
        self._stopped = False
        self._err_lock = threading.Lock()
        self._last_error_report_ns = 0
        #: Exceptions caught inside library callbacks (sink failures, bad events).
        self.callback_errors = 0
        self.login_attempts = 0

    def __repr__(self) -> str:
        cfg = self.config
        return f"ShioajiSource(product={cfg.product!r}, simulation={cfg.simulation}, subscriptions={len(self._subs)})"

    @property
    def subscriptions(self) -> list[Subscription]:
        return [s for s, _ in self._subs]

    # ---- start

    async def start(self, sink: QuoteSink) -> list[Subscription]:
        if self._started:
            raise SourceError("ShioajiSource.start called twice: create a new source to start again")
        if not self.config.has_credentials:
            raise SourceConfigError(
                f"Shioaji credentials missing: api_key and secret_key must be non-empty ({_CREDENTIALS_HINT})"
            )
        self._started = True
        self._sink = sink
        cfg = self.config

        error: str | None = None
        try:
            self._api = await in_thread(lambda: self._factory(cfg), cfg.login_timeout_s, "create")
        except Exception as exc:
            error = (
                f"Shioaji client could not be created: {self._reason(exc)} - check the shioaji install "
                "and network access"
            )
        if error:
            raise SourceError(error)
        api = self._api
        self._sj_types, self._sj_version = shioaji_constants()

        # Callbacks before login, so the session-up event and an early drop are seen.
        self._tick_target = sink.on_tick
        self._bidask_target = sink.on_bidask
        try:
            api.set_on_tick_fop_v1_callback(self._make_quote_callback("tick"))
            api.set_on_bidask_fop_v1_callback(self._make_quote_callback("bidask"))
            api.set_event_callback(self._on_event)
            api.set_session_down_callback(self._on_session_down)
        except Exception as exc:
            error = f"Shioaji callbacks could not be set: {self._reason(exc)} - is the installed shioaji 1.7.x?"
        if error:
            raise SourceError(error)

        await self._login()
        try:
            contracts = await self._resolve_contracts()
            await self._subscribe_all(contracts)
        except BaseException:
            await self._shutdown()  # release the connection: it counts against the 5 allowed
            raise
        subs = self.subscriptions
        log.info("shioaji: subscribed %s", ", ".join(f"{s.alias}->{s.code} {s.quote_type.value}" for s in subs))
        return subs

    async def _login(self) -> None:
        cfg, api = self.config, self._api
        retry = cfg.login_retry
        key, secret = cfg.api_key.get_secret_value(), cfg.secret_key.get_secret_value()
        last = ""
        for attempt in range(1, retry.max_attempts + 1):
            self.login_attempts += 1
            error: str | None = None
            permanent = False
            try:
                await in_thread(
                    lambda: api.login(api_key=key, secret_key=secret, subscribe_trade=False),
                    cfg.login_timeout_s,
                    "login",
                )
            except CallTimedOut:
                error = (
                    f"Shioaji login timed out after {cfg.login_timeout_s:g}s and was not retried "
                    "(a hung login may still open a session) - check network access to Sinopac, then restart"
                )
            except Exception as exc:
                last = self._reason(exc)
                permanent = is_permanent_login_error(exc)
                log.warning("shioaji: login attempt %d/%d failed: %s", attempt, retry.max_attempts, last)
            else:
                self._logged_in = True
                log.info("shioaji: logged in (attempt %d, simulation=%s)", attempt, cfg.simulation)
                return
            if error:  # raised outside the except block: no chained broker exception
                raise SourceError(error)
            if permanent:
                raise SourceConfigError(
                    f"Shioaji login rejected: {last} - check api_key/secret_key ({_CREDENTIALS_HINT}); not retried"
                )
            if attempt < retry.max_attempts:
                delay = retry.delay_after(attempt)
                log.info("shioaji: next login attempt in %.0f s", delay)
                await self._sleep(delay)
        raise SourceError(
            f"Shioaji login failed after {retry.max_attempts} attempts: {last} - check the credentials, "
            "Sinopac's service status and the login limits (5 connections, 1000 logins/day; retry later if banned)"
        )

    async def _resolve_contracts(self) -> dict[str, Any]:
        cfg, api = self.config, self._api
        error: str | None = None
        by_code: dict[str, Any] = {}
        try:
            listed = await in_thread(lambda: list(api.contracts.futures(cfg.product)), cfg.login_timeout_s, "contracts")
            by_code = {c.code: c for c in listed}
        except Exception as exc:
            error = (
                f"Shioaji contract list for {cfg.product!r} failed: {self._reason(exc)} - check the product "
                "root and retry"
            )
        if error:
            raise SourceError(error)
        missing = [a for a in dict.fromkeys((*cfg.tick_aliases, *cfg.bidask_aliases)) if a not in by_code]
        if missing:
            aliases = [c for c in sorted(by_code) if c.startswith(f"{cfg.product}R")] or sorted(by_code)[:8]
            raise SourceError(
                f"contract {', '.join(map(repr, missing))} not in api.contracts.futures({cfg.product!r}) "
                f"(has {', '.join(aliases) or 'nothing'}) - fix the configured tick/bidask aliases"
            )
        return by_code

    async def _subscribe_all(self, contracts: dict[str, Any]) -> None:
        subs: list[tuple[Subscription, Any]] = []
        seen: dict[tuple[str, QuoteType], str] = {}
        for alias, qtype in self.config.wanted():
            contract = contracts[alias]
            code = getattr(contract, "target_code", None) or contract.code
            if (code, qtype) in seen:
                raise SourceError(
                    f"{alias!r} and {seen[code, qtype]!r} both resolve to {code} for {qtype.value}: "
                    "quotes could not be routed - configure only one of them"
                )
            seen[code, qtype] = alias
            subs.append((Subscription(alias=alias, code=code, quote_type=qtype), contract))
        for sub, contract in subs:
            await self._subscribe(sub, contract)
            self._subs.append((sub, contract))
            self._announce(
                Subscribed(self._clock(), (sub,), detail=f"{sub.alias} {sub.quote_type.value} -> {sub.code}")
            )

    async def _subscribe(self, sub: Subscription, contract: Any) -> None:
        error: str | None = None
        try:
            await in_thread(
                lambda: self._api.subscribe(
                    contract, quote_type=self._sj_types[sub.quote_type], version=self._sj_version
                ),
                self.config.subscribe_timeout_s,
                "subscribe",
            )
        except CallTimedOut:
            error = f"timed out after {self.config.subscribe_timeout_s:g}s"
        except Exception as exc:
            error = self._reason(exc)
        if error:
            raise SourceError(
                f"Shioaji subscribe {sub.alias} ({sub.code}) {sub.quote_type.value} failed: {error} - "
                "check the account's market-data permission and subscription limit, then restart"
            )

    async def _unsubscribe(self, sub: Subscription, contract: Any) -> None:
        """Best effort: logs and returns on failure."""
        try:
            await in_thread(
                lambda: self._api.unsubscribe(
                    contract, quote_type=self._sj_types[sub.quote_type], version=self._sj_version
                ),
                self.config.subscribe_timeout_s,
                "unsubscribe",
            )
        except CallTimedOut:
            log.warning("shioaji: unsubscribe %s %s timed out", sub.alias, sub.quote_type.value)
        except Exception as exc:
            log.warning("shioaji: unsubscribe %s %s failed: %s", sub.alias, sub.quote_type.value, self._reason(exc))

    # ---- resubscribe / stop

    async def resubscribe(self) -> None:
        """Unsubscribe and subscribe again every stream (after a silent stall); SourceError if a subscribe fails."""
        if self._stopped or not self._logged_in:
            log.warning("shioaji: resubscribe ignored, the source is not running")
            return
        log.warning("shioaji: resubscribing %d streams", len(self._subs))
        for sub, contract in list(self._subs):
            await self._unsubscribe(sub, contract)
            await self._subscribe(sub, contract)

    async def stop(self) -> None:
        """Stop delivery, unsubscribe (best effort), log out once (bounded). Idempotent, never raises."""
        if self._stopped:
            return
        self._stopped = True
        try:
            await self._shutdown()
        except Exception as exc:  # noqa: BLE001 - stop never raises (cancellation still propagates)
            log.warning("shioaji: stop interrupted: %s", self._reason(exc))

    async def _shutdown(self) -> None:
        self._tick_target = _drop
        self._bidask_target = _drop
        if self._api is None or not self._logged_in:
            return
        for sub, contract in list(self._subs):
            await self._unsubscribe(sub, contract)
        self._logged_in = False  # logout is tried once, whatever happens
        api = self._api
        try:
            await in_thread(api.logout, self.config.logout_timeout_s, "logout")
            log.info("shioaji: logged out")
        except CallTimedOut:
            log.warning(
                "shioaji: logout timed out after %gs; the process exit will close the session",
                self.config.logout_timeout_s,
            )
        except Exception as exc:
            log.warning("shioaji: logout failed: %s", self._reason(exc))

    # ---- callbacks (library threads)

    def _make_quote_callback(self, stream: str) -> Callable[[Any], None]:
        """A ONE-parameter function, as Shioaji's v1 setters expect (`Callable[[TickFOPv1], None]`).

        The hot path: the arrival time is stamped here, once, for every sink; then the sink call,
        no copy, no work.
        """
        failed = self._callback_failed
        now_ns = time.time_ns
        if stream == "tick":

            def on_tick_fop_v1(quote: Any) -> None:
                try:
                    self._tick_target(quote, now_ns())
                except Exception as exc:
                    failed("tick", exc)

            return on_tick_fop_v1

        def on_bidask_fop_v1(quote: Any) -> None:
            try:
                self._bidask_target(quote, now_ns())
            except Exception as exc:
                failed("bidask", exc)

        return on_bidask_fop_v1

    def _on_event(self, resp_code: int, event_code: int, info: str, event: str) -> None:
        """Event callback `(resp_code, event_code, info, event)`; never raises."""
        try:
            info_s, event_s = self._scrub(str(info)), self._scrub(str(event))
            known = EVENT_KINDS.get(event_code)
            kind: SessionEventType | None
            if known is None:
                level = logging.WARNING if resp_code else logging.INFO
                log.log(level, "shioaji event %s (resp %s): %s %s", event_code, resp_code, info_s, event_s)
                if not resp_code:
                    return
                kind, meaning = SourceFault, f"event {event_code}"
            else:
                kind, meaning = known
                quiet = kind is None or kind is Connected or kind is Reconnected
                log.log(
                    logging.INFO if quiet else logging.WARNING,
                    "shioaji event %s %s (resp %s): %s %s",
                    event_code,
                    meaning,
                    resp_code,
                    info_s,
                    event_s,
                )
                if kind is None:
                    return
            self._send(
                kind(self._clock(), f"{meaning} (event {event_code}, resp {resp_code}): {info_s} {event_s}".strip())
            )
        except Exception as exc:
            self._callback_failed("event", exc)

    def _on_session_down(self, *args: Any, **kwargs: Any) -> None:
        """Session-down callback. Shioaji calls it with NO arguments; extra ones are tolerated, never required."""
        try:
            log.warning("shioaji: session down")
            extra = f" (called with {[self._scrub(repr(a)) for a in args]})" if args or kwargs else ""
            self._send(Disconnected(self._clock(), "session down" + extra))
        except Exception as exc:
            self._callback_failed("session_down", exc)

    def _send(self, event: SourceEvent) -> None:
        """From a library callback (whose caller catches and counts a failure)."""
        sink = self._sink
        if sink is not None:
            sink.on_event(event)

    def _announce(self, event: SourceEvent) -> None:
        """From start() on the loop: a sink that fails on an event must not fail the start."""
        try:
            self._send(event)
        except Exception as exc:  # noqa: BLE001
            log.error("shioaji: sink refused %s: %s", event.kind, self._reason(exc))

    def _callback_failed(self, where: str, exc: BaseException) -> None:
        """Count, log and report (at most once a second) an exception caught in a library callback."""
        try:
            with self._err_lock:
                self.callback_errors += 1
                count = self.callback_errors
                now = self._clock()
                report = count == 1 or now - self._last_error_report_ns >= 1_000_000_000
                if report:
                    self._last_error_report_ns = now
            if not report:
                return
            reason = self._reason(exc)
            log.error("shioaji: %s callback failed (%d so far): %s", where, count, reason)
            sink = self._sink
            if sink is not None:
                sink.on_event(SourceFault(now, f"{where} callback failed ({count} so far): {reason}"))
        except Exception:  # the sink's on_event failed too: nothing left to tell
            pass

    # ---- helpers

    def _scrub(self, text: str) -> str:
        for secret in (self.config.api_key, self.config.secret_key):
            value = secret.get_secret_value()
            if value:
                text = text.replace(value, "***")
        return text

    def _reason(self, exc: BaseException) -> str:
        """One scrubbed line: 'Type: message' (the broker may echo the key back)."""
        text = " ".join(f"{type(exc).__name__}: {exc}".split()).rstrip(":")
        text = self._scrub(text)
        return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 3] + "..."


def _drop(quote: Any, receive_ns: int) -> None:
    """Quote target before start and after stop."""
