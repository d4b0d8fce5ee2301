"""Run the real `txf-producer` CLI with the live Shioaji source, its client replaced by a scripted fake.

    python tests/e2e/live_with_fake_shioaji.py run --source shioaji --record live.rec

Everything but the broker's client is the shipped path: settings, `build_source`, `ShioajiSource`
(login, contract resolution, subscribe, its callbacks and events), the app, the recorder and the
publisher. The fake (tests/producer/fake_shioaji.py) checks every call against the installed
shioaji's real signatures. Once both streams are subscribed it plays, from its "library" thread,
what a session sends: session up (event 0), subscribe ok (16), then TXF_FAKE_QUOTES real
TickFOPv1/BidAskFOPv1 objects of the simulated market (code TXFK6, TXFR1's target in the fake
contract list), and then nothing: the test stops the process by its PID (SIGINT, as systemd does).
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "producer"))

from fake_shioaji import FakeShioaji  # noqa: E402

from txf_kit import calendar  # noqa: E402
from txf_producer import cli  # noqa: E402
from txf_producer.quotes import TICK, bidask_from_array, tick_from_array  # noqa: E402
from txf_producer.simulation.market import SimMarket  # noqa: E402
from txf_producer.sources import shioaji_live  # noqa: E402
from txf_producer.sources.base import QuoteType  # noqa: E402
from txf_producer.sources.simulated import SimConfig  # noqa: E402

START_NS = calendar.to_ns(datetime(2026, 11, 16, 8, 45, tzinfo=calendar.TAIPEI))  # TXFK6 is the near month


def _rejected_login(key: str, secret: str) -> Exception:
    """Sinopac's answer to keys other than the ones TXF_FAKE_KEYS_SHA256 names (a hash: the keys themselves
    must not be in the environment of a test that checks they are not)."""
    import shioaji as sj

    return sj.AuthError("api_key/secret_key do not match (scripted session)")


class ScriptedShioaji(FakeShioaji):
    """After the second subscribe, plays a short session from its library thread.

    With TXF_FAKE_KEYS_SHA256 (sha256 of "api_key:secret_key") set, a login with other keys is rejected as
    Sinopac rejects a wrong key (shioaji.AuthError): the test sees which keys reached `login`."""

    def __init__(self, quotes: int) -> None:
        super().__init__(login_error=_rejected_login)
        self.quotes = quotes
        self.keys_sha256 = os.environ.get("TXF_FAKE_KEYS_SHA256", "")

    def login(self, *args: Any, **kwargs: Any) -> list[Any]:
        if self.keys_sha256:
            keys = f"{kwargs.get('api_key')}:{kwargs.get('secret_key')}".encode()
            self.login_failures = 0 if hashlib.sha256(keys).hexdigest() == self.keys_sha256 else 1
        return super().login(*args, **kwargs)

    def subscribe(self, contract: Any, *args: Any, **kwargs: Any) -> None:
        super().subscribe(contract, *args, **kwargs)
        if self.count("subscribe") == 2:
            threading.Thread(target=self._session, name="sj-fake-runtime", daemon=True).start()

    def _session(self) -> None:
        self.emit_event(0, 0, "Session up", "")
        self.emit_event(0, 16, "Subscribe or Unsubscribe ok", "TIC/v1/FOP/*/TFE/TXFK6")
        market = SimMarket(
            SimConfig(seed=11, streams=(("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))), START_NS
        )
        for _ in range(self.quotes):
            kind, _t, arr = next(market)
            if kind == TICK:
                self.emit_tick(tick_from_array(arr))
            else:
                self.emit_bidask(bidask_from_array(arr))


def main() -> int:
    quotes = int(os.environ.get("TXF_FAKE_QUOTES", "200"))
    shioaji_live.default_api_factory = lambda config: ScriptedShioaji(quotes)
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
