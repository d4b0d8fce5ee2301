"""The Shioaji library at arm's length: its log file, the real client, its constants, bounded calls.

Importing shioaji opens its log file at `$SJ_LOG_PATH` (default ./shioaji.log in the cwd), so it is
imported here lazily, after `prepare_shioaji_log()`. Everything that blocks in the library runs in
a daemon thread with a time bound (`in_thread`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from txf_producer.sources.base import QuoteType
from txf_producer.sources.shioaji_config import ShioajiConfig

__all__ = [
    "CallTimedOut",
    "default_api_factory",
    "in_thread",
    "is_permanent_login_error",
    "prepare_shioaji_log",
    "shioaji_constants",
]

log = logging.getLogger("txf_producer.sources.shioaji_live")

T = TypeVar("T")

_DEFAULT_LOG_PATH = Path("~/.local/state/txfstream/shioaji.log")


def prepare_shioaji_log(path: Path | str | None = None) -> Path:
    """Point shioaji's log at `path` (creating its directory) via SJ_LOG_PATH; returns the path.

    Must run before the first `import shioaji` anywhere in the process: the
    library opens the file at import. If shioaji is already imported with a
    different SJ_LOG_PATH, this only warns.
    """
    if path is None:
        env = os.environ.get("SJ_LOG_PATH")
        path = Path(env) if env else _DEFAULT_LOG_PATH
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    current = os.environ.get("SJ_LOG_PATH")
    if "shioaji" in sys.modules and current != str(path):
        log.warning(
            "shioaji was imported before its log path was set; its log stays at %s, not %s "
            "(call prepare_shioaji_log() before importing txf_producer.quotes)",
            current or "./shioaji.log",
            path,
        )
    os.environ["SJ_LOG_PATH"] = str(path)
    return path


def default_api_factory(config: ShioajiConfig) -> Any:
    """The real client: sets SJ_LOG_PATH, imports shioaji lazily, `sj.Shioaji(simulation=...)`.

    Makes network calls: never use it in unit tests (pass a fake factory).
    """
    prepare_shioaji_log(config.log_path)
    import shioaji as sj

    return sj.Shioaji(simulation=config.simulation)


def shioaji_constants() -> tuple[dict[QuoteType, Any], Any]:
    import shioaji as sj

    return {QuoteType.TICK: sj.QuoteType.Tick, QuoteType.BIDASK: sj.QuoteType.BidAsk}, sj.QuoteVersion.v1


def is_permanent_login_error(exc: BaseException) -> bool:
    """A rejected key or permission: retrying only burns the daily login budget."""
    try:
        import shioaji as sj
    except Exception:  # pragma: no cover - shioaji is a dependency
        return False
    if isinstance(exc, sj.TokenError):
        return False
    return isinstance(exc, (sj.AuthError, sj.ShioajiPermissionError))


class CallTimedOut(Exception):
    """A broker call outlived its bound (distinct from the broker's own timeout errors)."""


async def in_thread(fn: Callable[[], T], timeout_s: float, what: str) -> T:
    """Run a blocking broker call in a daemon thread, waiting at most `timeout_s`.

    Like asyncio.to_thread, but the thread is a daemon: a broker call that
    hangs past its bound can neither block the loop nor keep the process
    from exiting (the default executor is joined at interpreter shutdown).
    """
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not fut.done():
            (fut.set_result if ok else fut.set_exception)(value)

    def run() -> None:
        outcome: tuple[bool, Any]
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            outcome = (False, exc)
        else:
            outcome = (True, result)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # loop already closed: nobody waits any more
            pass

    threading.Thread(target=run, name=f"shioaji-{what}", daemon=True).start()
    try:
        return await asyncio.wait_for(fut, timeout_s)
    except TimeoutError:
        if not fut.cancelled():  # the call itself raised a TimeoutError: not ours
            raise
    raise CallTimedOut(f"{what} took longer than {timeout_s:g}s")
