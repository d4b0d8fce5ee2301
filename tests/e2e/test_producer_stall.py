"""A source that goes silent mid-session (no error, no event): the producer re-subscribes, then exits 1.

Real registry and Kafka; the session calendar is replaced by "a session opened
when the test started" and the bound shortened to 2 s, so the timing is real
but short.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from txf_kit import calendar
from txf_producer.app import EXIT_FATAL, ProducerApp, run_app
from txf_producer.quotes import TICK, bidask_from_array, tick_from_array
from txf_producer.settings import load_settings
from txf_producer.simulation.market import SimMarket
from txf_producer.sources.base import QuoteSink, QuoteType, Source, Subscription
from txf_producer.sources.simulated import SimConfig
from txf_producer.stall import FeedState, StallDetector
from txf_registry import provision, topic_settings

pytestmark = pytest.mark.integration
TAIPEI = dt.timezone(dt.timedelta(hours=8))


class GoesSilent(Source):
    """Delivers `n` real quotes from a thread, then nothing: the Shioaji #215/#221 failure."""

    name = "goes-silent"

    def __init__(self, n: int) -> None:
        self.n = n
        self.resubscribes: list[float] = []
        self.market = SimMarket(
            SimConfig(seed=2, streams=(("TXFR1", QuoteType.TICK), ("TXFR1", QuoteType.BIDASK))),
            calendar.to_ns(dt.datetime(2026, 11, 24, 8, 45, tzinfo=TAIPEI)),
        )

    async def start(self, sink: QuoteSink) -> list[Subscription]:
        code = self.market.codes()["TXFR1"]

        def feed() -> None:
            for i, (kind, _t, arr) in enumerate(self.market):
                if i == self.n:
                    return
                if kind == TICK:
                    sink.on_tick(tick_from_array(arr), time.time_ns())
                else:
                    sink.on_bidask(bidask_from_array(arr), time.time_ns())

        threading.Thread(target=feed, daemon=True).start()
        return [Subscription("TXFR1", code, QuoteType.TICK), Subscription("TXFR1", code, QuoteType.BIDASK)]

    async def stop(self) -> None:
        pass

    async def resubscribe(self) -> None:
        self.resubscribes.append(time.monotonic())


def test_silent_feed_is_resubscribed_then_exits_1(stack: Any, tmp_path: Path) -> None:
    prefix = f"stall{uuid.uuid4().hex[:8]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    settings = load_settings(
        kafka_bootstrap=stack.bootstrap_servers,
        registry_url=stack.registry_url,
        **topic_settings(prefix),
        state_dir=tmp_path / "state",
        metrics_port=0,
    )
    opened = time.time_ns()
    session = calendar.Session(
        calendar.SessionKind.DAY, dt.date(2026, 11, 24), opened - 60 * 10**9, opened, opened + 3600 * 10**9, False
    )
    detector = StallDetector(timeout_s=2.0, session_at=lambda now: session)
    source = GoesSilent(500)
    t0 = time.monotonic()
    result = run_app(lambda: ProducerApp(settings, source, stall_detector=detector))
    took = time.monotonic() - t0
    assert result.exit_code == EXIT_FATAL
    assert "silent feed stall" in result.reason and "re-subscribing did not help" in result.reason
    assert len(source.resubscribes) == 1
    assert 2.0 <= source.resubscribes[0] - t0 < 6.0  # at the bound, within one check period (0.5 s) + start-up
    assert 4.0 <= took < 12.0  # a second bound after the re-subscribe, then a bounded shutdown
    assert detector.state is FeedState.STALLED
    assert sum(result.stats["delivered"].values()) == 500  # what came before the stall was all delivered


class BrokenDetector(StallDetector):
    def check(self, now_ns: int, last_quote_ns: int) -> Any:
        raise RuntimeError("detector bug")


def test_a_failing_background_task_ends_the_run_loudly(stack: Any, tmp_path: Path) -> None:
    """The watchdog must never die silently and leave the feed unwatched: the run exits 1 naming it."""
    prefix = f"bug{uuid.uuid4().hex[:8]}-"
    provision(stack.bootstrap_servers, stack.registry_url, prefix)
    settings = load_settings(
        kafka_bootstrap=stack.bootstrap_servers,
        registry_url=stack.registry_url,
        **topic_settings(prefix),
        state_dir=tmp_path / "state",
        metrics_port=0,
    )
    result = run_app(lambda: ProducerApp(settings, GoesSilent(100), stall_detector=BrokenDetector(timeout_s=2.0)))
    assert result.exit_code == EXIT_FATAL
    assert result.reason == "internal task failed: RuntimeError: detector bug"
