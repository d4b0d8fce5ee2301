"""A fake Shioaji 1.7.9 client that honours the real callback contract, for unit tests.

Never construct `shioaji.Shioaji()` in tests: it makes network calls. This fake
- checks every call against the REAL method signature of `shioaji.Shioaji`
  (read from the installed 1.7.9 extension), so a wrong keyword fails here too;
- accepts quote callbacks only if they take exactly one positional argument
  (what 1.7.9 calls them with; it inspects the arity and deprecates 2-arg ones);
- calls the event callback with (resp_code, event_code, info, event) and the
  session-down callback with NO arguments, from its own "library" thread;
- records calls, and any exception a callback lets escape into the library.
"""

from __future__ import annotations

import inspect
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# shioaji opens $SJ_LOG_PATH (default ./shioaji.log) when first imported.
_LOG = Path(tempfile.gettempdir()) / "txfstream-tests" / "shioaji.log"
_LOG.parent.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("SJ_LOG_PATH", str(_LOG))

import shioaji as sj  # noqa: E402

LIBRARY_THREAD = "sj-fake-runtime"


@dataclass(frozen=True)
class FakeContract:
    """The attributes a 1.7.9 futures contract has that the source uses."""

    code: str
    target_code: str | None
    symbol: str
    security_type: str = "FUT"
    exchange: str = "TAIFEX"


def txf_contracts() -> list[FakeContract]:
    """TXF futures as `api.contracts.futures("TXF")` lists them: months plus R1/R2 aliases."""
    return [
        FakeContract("TXFK6", None, "TXF202611"),
        FakeContract("TXFL6", None, "TXF202612"),
        FakeContract("TXFC7", None, "TXF202703"),
        FakeContract("TXFR1", "TXFK6", "TXFR1"),
        FakeContract("TXFR2", "TXFL6", "TXFR2"),
    ]


class FakeContractsApi:
    def __init__(self, api: FakeShioaji, contracts: list[FakeContract]) -> None:
        self._api = api
        self._contracts = contracts

    def futures(self, root: str, region: Any = None) -> list[FakeContract]:
        self._api._record("contracts.futures", root)
        return [c for c in self._contracts if c.code.startswith(root)]


def _real_signature(name: str) -> inspect.Signature:
    return inspect.signature(getattr(sj.Shioaji, name))


class FakeShioaji:
    """Drop-in for `sj.Shioaji` as the live source uses it."""

    def __init__(
        self,
        *,
        simulation: bool = False,
        login_failures: int = 0,
        login_error: Callable[[str, str], Exception] | None = None,
        login_gate: threading.Event | None = None,
        contracts: list[FakeContract] | None = None,
        subscribe_error: Callable[[Any, Any], Exception | None] | None = None,
        logout_error: Exception | None = None,
    ) -> None:
        self.simulation = simulation
        self.login_failures = login_failures
        self.login_error = login_error or (lambda key, secret: RuntimeError("login failed"))
        self.login_gate = login_gate
        self.subscribe_error = subscribe_error
        self.logout_error = logout_error
        self.contracts = FakeContractsApi(self, contracts if contracts is not None else txf_contracts())
        self.calls: list[tuple[str, Any]] = []
        self.call_threads: list[tuple[str, str]] = []
        self.escaped: list[BaseException] = []  # exceptions a callback raised into the "library"
        self._lock = threading.Lock()
        self.tick_cb: Callable[..., Any] | None = None
        self.bidask_cb: Callable[..., Any] | None = None
        self.event_cb: Callable[..., Any] | None = None
        self.session_down_cb: Callable[..., Any] | None = None

    # ---- bookkeeping

    def _record(self, name: str, detail: Any = None) -> None:
        with self._lock:
            self.calls.append((name, detail))
            self.call_threads.append((name, threading.current_thread().name))

    def _check(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Bind the call against the installed shioaji's real signature (TypeError if it would not fit)."""
        _real_signature(name).bind(self, *args, **kwargs)

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)

    # ---- auth

    def login(self, *args: Any, **kwargs: Any) -> list[Any]:
        self._check("login", *args, **kwargs)
        bound = _real_signature("login").bind(self, *args, **kwargs)
        key, secret = bound.arguments["api_key"], bound.arguments["secret_key"]
        self._record("login", {k: v for k, v in bound.arguments.items() if k not in ("self", "api_key", "secret_key")})
        if self.login_gate is not None:
            self.login_gate.wait(10)
        if self.login_failures > 0:
            self.login_failures -= 1
            raise self.login_error(key, secret)
        return []

    def logout(self) -> None:
        self._check("logout")
        self._record("logout")
        if self.logout_error is not None:
            raise self.logout_error

    # ---- stream

    def subscribe(self, contract: Any, *args: Any, **kwargs: Any) -> None:
        self._check("subscribe", contract, *args, **kwargs)
        self._record("subscribe", (contract, kwargs.get("quote_type"), kwargs.get("version")))
        if self.subscribe_error is not None:
            err = self.subscribe_error(contract, kwargs.get("quote_type"))
            if err is not None:
                raise err

    def unsubscribe(self, contract: Any, *args: Any, **kwargs: Any) -> None:
        self._check("unsubscribe", contract, *args, **kwargs)
        self._record("unsubscribe", (contract, kwargs.get("quote_type"), kwargs.get("version")))

    # ---- callback setters: the 1.7.9 contract

    @staticmethod
    def _one_arg(callback: Callable[..., Any], setter: str) -> None:
        params = [
            p
            for p in inspect.signature(callback).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
        if len(params) != 1:
            raise TypeError(
                f"{setter}: 1.7.9 calls this callback with one argument (quote), got {len(params)} parameters"
            )

    def set_on_tick_fop_v1_callback(self, callback: Callable[..., Any], bind: bool = False) -> None:
        self._check("set_on_tick_fop_v1_callback", callback, bind)
        self._one_arg(callback, "set_on_tick_fop_v1_callback")
        self._record("set_on_tick_fop_v1_callback")
        self.tick_cb = callback

    def set_on_bidask_fop_v1_callback(self, callback: Callable[..., Any], bind: bool = False) -> None:
        self._check("set_on_bidask_fop_v1_callback", callback, bind)
        self._one_arg(callback, "set_on_bidask_fop_v1_callback")
        self._record("set_on_bidask_fop_v1_callback")
        self.bidask_cb = callback

    def set_event_callback(self, callback: Callable[..., Any]) -> None:
        self._check("set_event_callback", callback)
        self._record("set_event_callback")
        self.event_cb = callback

    def set_session_down_callback(self, callback: Callable[..., Any]) -> None:
        self._check("set_session_down_callback", callback)
        self._record("set_session_down_callback")
        self.session_down_cb = callback

    # ---- the "library": drive callbacks exactly as 1.7.9 calls them

    def _invoke(self, fn: Callable[..., Any] | None, *args: Any) -> None:
        assert fn is not None, "callback not registered"
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - this is what tests assert never happens
            self.escaped.append(exc)

    def emit_tick(self, quote: Any) -> None:
        self._invoke(self.tick_cb, quote)

    def emit_bidask(self, quote: Any) -> None:
        self._invoke(self.bidask_cb, quote)

    def emit_event(self, resp_code: int, event_code: int, info: str, event: str) -> None:
        self._invoke(self.event_cb, resp_code, event_code, info, event)

    def emit_session_down(self) -> None:
        self._invoke(self.session_down_cb)  # NO arguments, as 1.7.9 does

    def in_library_thread(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on a separate thread (like the Rust runtime) and wait for it to finish."""
        t = threading.Thread(target=fn, name=LIBRARY_THREAD, daemon=True)
        t.start()
        t.join(10)
        assert not t.is_alive(), "library thread did not finish"
