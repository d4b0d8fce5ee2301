"""ShioajiSource against a fake api that honours shioaji 1.7.9's callback contract.

No test constructs `shioaji.Shioaji()` (network, ./shioaji.log); the fake binds
every call against the installed library's real method signatures.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from fake_shioaji import LIBRARY_THREAD, FakeShioaji, sj  # first: sets SJ_LOG_PATH before shioaji loads
from pydantic import SecretStr

from txf_producer.quotes import make_bidask, make_tick
from txf_producer.sources.base import QuoteType, SourceError, Subscription
from txf_producer.sources.events import Connected, Disconnected, Reconnected, SourceEvent, SourceFault, Subscribed
from txf_producer.sources.shioaji_live import (
    EVENT_KINDS,
    LoginRetry,
    ShioajiConfig,
    ShioajiSource,
    default_api_factory,
    prepare_shioaji_log,
)

API_KEY = "AK-7f3c9e-very-secret-key"
SECRET_KEY = "SK-b41d02-even-more-secret"


# --------------------------------------------------------------------------- helpers


class RecordingSink:
    def __init__(self) -> None:
        self.ticks: list[Any] = []
        self.bidasks: list[Any] = []
        self.all_events: list[SourceEvent] = []
        self.threads: set[str] = set()
        self.receive_ns: list[int] = []
        self.fail_ticks = False

    def on_tick(self, quote: Any, receive_ns: int) -> None:
        self.threads.add(threading.current_thread().name)
        self.receive_ns.append(receive_ns)
        if self.fail_ticks:
            raise ValueError("sink exploded")
        self.ticks.append(quote)

    def on_bidask(self, quote: Any, receive_ns: int) -> None:
        self.threads.add(threading.current_thread().name)
        self.receive_ns.append(receive_ns)
        self.bidasks.append(quote)

    def on_event(self, event: SourceEvent) -> None:
        self.all_events.append(event)

    @property
    def events(self) -> list[SourceEvent]:
        """What the session reported (the source's own Subscribed at start aside)."""
        return [e for e in self.all_events if not isinstance(e, Subscribed)]

    @property
    def subscribed(self) -> list[Subscribed]:
        return [e for e in self.all_events if isinstance(e, Subscribed)]

    def kinds(self) -> list[type]:
        return [type(e) for e in self.events]


class FakeSleep:
    """Async sleep that records the delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def tick(code: str = "TXFK6", close: str = "23456.5"):
    return make_tick(
        code=code,
        date="2026-11-24",
        time="09:00:01.123456",
        open=Decimal("23400"),
        underlying_price=Decimal("23410.12"),
        bid_side_total_vol=100,
        ask_side_total_vol=120,
        avg_price=Decimal("23440.5"),
        close=Decimal(close),
        high=Decimal("23480"),
        low=Decimal("23390"),
        amount=Decimal(close),
        total_amount=Decimal("1000000"),
        volume=1,
        total_volume=1234,
        tick_type=1,
        chg_type=2,
        price_chg=Decimal("56.5"),
        pct_chg=Decimal("0.24"),
        simtrade=False,
    )


def bidask(code: str = "TXFK6"):
    return make_bidask(
        code=code,
        date="2026-11-24",
        time="09:00:01.223456",
        bid_total_vol=50,
        ask_total_vol=60,
        bid_price=[Decimal(23456 - i) for i in range(5)],
        bid_volume=[1, 2, 3, 4, 5],
        diff_bid_vol=[0, 1, -1, 0, 0],
        ask_price=[Decimal(23457 + i) for i in range(5)],
        ask_volume=[5, 4, 3, 2, 1],
        diff_ask_vol=[0, 0, 0, -2, 1],
        first_derived_bid_price=Decimal("0"),
        first_derived_ask_price=Decimal("0"),
        first_derived_bid_vol=0,
        first_derived_ask_vol=0,
        underlying_price=Decimal("23410.12"),
        simtrade=False,
    )


def config(**kw: Any) -> ShioajiConfig:
    kw.setdefault("api_key", API_KEY)
    kw.setdefault("secret_key", SECRET_KEY)
    return ShioajiConfig(**kw)


def make_source(fake: FakeShioaji, cfg: ShioajiConfig | None = None, **kw: Any) -> tuple[ShioajiSource, FakeSleep]:
    sleep = FakeSleep()
    src = ShioajiSource(cfg or config(), api_factory=lambda c: fake, sleep=sleep, **kw)
    return src, sleep


def run(coro):
    return asyncio.run(coro)


async def start_stop(src: ShioajiSource, sink: RecordingSink, body=None):
    subs = await src.start(sink)
    try:
        if body is not None:
            await body()
    finally:
        await src.stop()
    return subs


# --------------------------------------------------------------------------- start / subscriptions


def test_start_resolves_aliases_to_target_codes_and_subscribes_v1():
    fake = FakeShioaji()
    src, sleep = make_source(fake, config(tick_aliases=["TXFR1", "TXFR2"], bidask_aliases=["TXFR1"]))
    sink = RecordingSink()

    subs = run(src.start(sink))

    assert subs == [
        Subscription("TXFR1", "TXFK6", QuoteType.TICK),
        Subscription("TXFR2", "TXFL6", QuoteType.TICK),
        Subscription("TXFR1", "TXFK6", QuoteType.BIDASK),
    ]
    subscribed = [d for n, d in fake.calls if n == "subscribe"]
    assert [(c.code, qt, v) for c, qt, v in subscribed] == [
        ("TXFR1", sj.QuoteType.Tick, sj.QuoteVersion.v1),
        ("TXFR2", sj.QuoteType.Tick, sj.QuoteVersion.v1),
        ("TXFR1", sj.QuoteType.BidAsk, sj.QuoteVersion.v1),
    ]
    # callbacks are registered before login, so the session-up event is not missed
    names = fake.names()
    assert names.index("login") > max(
        names.index(n)
        for n in (
            "set_on_tick_fop_v1_callback",
            "set_on_bidask_fop_v1_callback",
            "set_event_callback",
            "set_session_down_callback",
        )
    )
    assert fake.calls[names.index("login")][1]["subscribe_trade"] is False
    assert ("contracts.futures", "TXF") in fake.calls
    assert fake.count("login") == 1 and sleep.delays == []
    # blocking broker calls ran off the event loop thread
    main = threading.current_thread().name
    assert all(t != main for n, t in fake.call_threads if n in ("login", "subscribe", "contracts.futures"))
    run(src.stop())


def test_each_subscription_is_reported_typed_with_alias_code_and_type():
    """What a recording and a replay need: the live source names the streams it resolved."""
    fake = FakeShioaji()
    src, _ = make_source(fake, config(tick_aliases=["TXFR1", "TXFR2"], bidask_aliases=["TXFR1"]), clock=lambda: 7)
    sink = RecordingSink()
    subs = run(start_stop(src, sink))
    assert [e.subscriptions for e in sink.subscribed] == [(s,) for s in subs]
    assert all(e.time_ns == 7 and not e.roll for e in sink.subscribed)


def test_a_real_month_code_can_be_configured_directly():
    fake = FakeShioaji()
    src, _ = make_source(fake, config(tick_aliases=["TXFC7"], bidask_aliases=["TXFR1"]))
    subs = run(start_stop(src, RecordingSink()))
    assert subs == [Subscription("TXFC7", "TXFC7", QuoteType.TICK), Subscription("TXFR1", "TXFK6", QuoteType.BIDASK)]


# --------------------------------------------------------------------------- hot path


def test_quotes_reach_the_sink_unchanged_from_the_library_thread():
    fake = FakeShioaji()
    src, _ = make_source(fake)
    sink = RecordingSink()
    t1, t2, b1 = tick(close="23456.5"), tick(close="23457"), bidask()

    async def body():
        def library():
            fake.emit_tick(t1)
            fake.emit_bidask(b1)
            fake.emit_tick(t2)

        fake.in_library_thread(library)

    run(start_stop(src, sink, body))

    assert len(sink.ticks) == 2 and sink.ticks[0] is t1 and sink.ticks[1] is t2
    assert len(sink.bidasks) == 1 and sink.bidasks[0] is b1
    assert type(sink.ticks[0]) is sj.TickFOPv1 and type(sink.bidasks[0]) is sj.BidAskFOPv1
    assert sink.ticks[0].close == Decimal("23456.5") and sink.ticks[0].code == "TXFK6"
    assert sink.threads == {LIBRARY_THREAD}
    assert fake.escaped == [] and src.callback_errors == 0
    # the arrival time is stamped once, in the callback, for every sink in the chain
    assert len(sink.receive_ns) == 3 and sink.receive_ns == sorted(sink.receive_ns)
    assert abs(sink.receive_ns[0] - time.time_ns()) < 60e9


def test_quote_callbacks_take_exactly_one_argument():
    fake = FakeShioaji()
    src, _ = make_source(fake)
    run(src.start(RecordingSink()))
    for cb in (fake.tick_cb, fake.bidask_cb):
        assert len(inspect.signature(cb).parameters) == 1
    run(src.stop())


def test_a_failing_sink_never_raises_into_the_library_and_is_counted_and_reported():
    fake = FakeShioaji()
    now = [1_000_000_000_000]
    src, _ = make_source(fake, clock=lambda: now[0])
    sink = RecordingSink()
    sink.fail_ticks = True

    async def body():
        fake.in_library_thread(lambda: [fake.emit_tick(tick()) for _ in range(3)])
        now[0] += 2_000_000_000  # two seconds later: reported again
        fake.in_library_thread(lambda: fake.emit_tick(tick()))
        fake.in_library_thread(lambda: fake.emit_bidask(bidask()))  # the other stream still flows

    run(start_stop(src, sink, body))

    assert fake.escaped == []
    assert src.callback_errors == 4
    errors = [e for e in sink.events if isinstance(e, SourceFault)]
    assert ["(1 so far)" in errors[0].detail, "(4 so far)" in errors[1].detail] == [
        True,
        True,
    ]  # throttled: one a second
    assert len(errors) == 2
    assert "tick callback failed (1 so far): ValueError: sink exploded" in errors[0].detail
    assert len(sink.bidasks) == 1


def test_quotes_after_stop_are_dropped():
    fake = FakeShioaji()
    src, _ = make_source(fake)
    sink = RecordingSink()
    run(start_stop(src, sink))
    fake.in_library_thread(lambda: (fake.emit_tick(tick()), fake.emit_bidask(bidask())))
    assert sink.ticks == [] and sink.bidasks == [] and fake.escaped == []


# --------------------------------------------------------------------------- events


@pytest.mark.parametrize(
    "event_code, kind",
    [
        (0, Connected),
        (1, Disconnected),
        (2, SourceFault),
        (4, SourceFault),
        (12, Disconnected),
        (13, Reconnected),
        (16, None),  # "subscribe ok" is logged; the source reports Subscribed with the streams itself
    ],
)
def test_event_codes_map_to_source_events(event_code, kind):
    fake = FakeShioaji()
    src, _ = make_source(fake, clock=lambda: 42)
    sink = RecordingSink()

    async def body():
        fake.in_library_thread(lambda: fake.emit_event(0, event_code, "Session up", "info text"))

    run(start_stop(src, sink, body))

    assert fake.escaped == []
    if kind is None:
        assert sink.events == []
        return
    (ev,) = sink.events
    assert type(ev) is kind and ev.time_ns == 42
    assert EVENT_KINDS[event_code][1] in ev.detail
    assert f"event {event_code}, resp 0" in ev.detail and "Session up info text" in ev.detail


def test_unknown_event_codes_are_logged_and_only_errors_forwarded():
    fake = FakeShioaji()
    src, _ = make_source(fake)
    sink = RecordingSink()

    async def body():
        fake.in_library_thread(lambda: (fake.emit_event(0, 99, "x", "y"), fake.emit_event(500, 98, "bad", "z")))

    run(start_stop(src, sink, body))
    assert [(type(e), "event 98" in e.detail) for e in sink.events] == [(SourceFault, True)]
    assert fake.escaped == []


def test_session_down_callback_called_with_no_arguments_reports_disconnected():
    """The original service's callback had the wrong arity, so its self-healing never ran."""
    fake = FakeShioaji()
    src, _ = make_source(fake)
    sink = RecordingSink()

    async def body():
        inspect.signature(fake.session_down_cb).bind()  # callable with zero arguments
        fake.in_library_thread(fake.emit_session_down)

    run(start_stop(src, sink, body))

    assert fake.escaped == []
    assert sink.kinds() == [Disconnected]
    assert sink.events[0].detail == "session down"


def test_a_failing_on_event_never_raises_into_the_library():
    fake = FakeShioaji()
    src, _ = make_source(fake)
    sink = RecordingSink()

    def boom(event):
        raise RuntimeError("on_event broke")

    sink.on_event = boom  # type: ignore[method-assign]

    async def body():
        fake.in_library_thread(lambda: (fake.emit_session_down(), fake.emit_event(0, 13, "", "")))

    run(start_stop(src, sink, body))
    assert fake.escaped == [] and src.callback_errors == 2


# --------------------------------------------------------------------------- login policy


def echoing_error(key: str, secret: str) -> Exception:
    return RuntimeError(f"Too many connections for api_key={key} secret_key={secret}\nplease wait")


def test_login_retries_with_backoff_then_source_error():
    fake = FakeShioaji(login_failures=99, login_error=echoing_error)
    src, sleep = make_source(fake)

    with pytest.raises(SourceError) as info:
        run(src.start(RecordingSink()))

    assert fake.count("login") == 3
    assert sleep.delays == [20.0, 60.0]
    msg = str(info.value)
    assert "after 3 attempts" in msg and "Too many connections" in msg and "\n" not in msg
    assert API_KEY not in msg and SECRET_KEY not in msg
    assert fake.count("logout") == 0  # never logged in: nothing to release
    run(src.stop())
    assert fake.count("logout") == 0


def test_login_succeeds_after_a_failure():
    fake = FakeShioaji(login_failures=1)
    src, sleep = make_source(fake)
    subs = run(start_stop(src, RecordingSink()))
    assert fake.count("login") == 2 and sleep.delays == [20.0] and len(subs) == 2


def test_a_rejected_key_is_not_retried():
    fake = FakeShioaji(login_failures=1, login_error=lambda k, s: sj.AuthError(f"invalid key {k}"))
    src, sleep = make_source(fake)
    with pytest.raises(SourceError, match="login rejected: AuthError: invalid key \\*\\*\\*") as info:
        run(src.start(RecordingSink()))
    assert fake.count("login") == 1 and sleep.delays == []
    assert API_KEY not in str(info.value)


def test_a_hung_login_times_out_without_retry():
    gate = threading.Event()
    fake = FakeShioaji(login_gate=gate)
    src, sleep = make_source(fake, config(login_timeout_s=0.05))
    try:
        with pytest.raises(SourceError, match="login timed out after 0.05s"):
            run(src.start(RecordingSink()))
    finally:
        gate.set()
    assert fake.count("login") == 1 and sleep.delays == []


@pytest.mark.parametrize("key, secret", [("", SECRET_KEY), (API_KEY, ""), ("  ", "  "), (None, None)])
def test_missing_credentials_fail_before_any_connection(key, secret):
    made = []
    src = ShioajiSource(ShioajiConfig(api_key=key, secret_key=secret), api_factory=lambda c: made.append(c))
    with pytest.raises(SourceError, match="credentials missing.*SHIOAJI_API_KEY"):
        run(src.start(RecordingSink()))
    assert made == []


# --------------------------------------------------------------------------- failures after login


def test_unknown_alias_names_it_and_releases_the_session():
    fake = FakeShioaji()
    src, _ = make_source(fake, config(tick_aliases=["TXFR1", "TXFR3"]))
    with pytest.raises(SourceError) as info:
        run(src.start(RecordingSink()))
    msg = str(info.value)
    assert "'TXFR3'" in msg and "TXFR1" in msg and "aliases" in msg
    assert fake.count("subscribe") == 0
    assert fake.count("logout") == 1
    run(src.stop())
    assert fake.count("logout") == 1


def test_subscribe_failure_names_the_stream_and_releases_the_session():
    def refuse_bidask(contract, quote_type):
        return sj.SubscribeError("subscription limit reached") if quote_type == sj.QuoteType.BidAsk else None

    fake = FakeShioaji(subscribe_error=refuse_bidask)
    src, _ = make_source(fake)
    with pytest.raises(
        SourceError, match=r"subscribe TXFR1 \(TXFK6\) bidask failed: SubscribeError: subscription limit"
    ):
        run(src.start(RecordingSink()))
    # the tick stream that did subscribe is released, then the session
    assert [n for n in fake.names() if n in ("subscribe", "unsubscribe", "logout")] == [
        "subscribe",
        "subscribe",
        "unsubscribe",
        "logout",
    ]


def test_two_aliases_resolving_to_one_code_are_refused():
    contracts = [c for c in __import__("fake_shioaji").txf_contracts()]
    contracts[-1] = type(contracts[-1])("TXFR2", "TXFK6", "TXFR2")
    fake = FakeShioaji(contracts=contracts)
    src, _ = make_source(fake, config(tick_aliases=["TXFR1", "TXFR2"]))
    with pytest.raises(SourceError, match="both resolve to TXFK6"):
        run(src.start(RecordingSink()))
    assert fake.count("logout") == 1


# --------------------------------------------------------------------------- secrets


def test_secrets_never_appear_in_repr_logs_exceptions_or_events(caplog):
    caplog.set_level(logging.DEBUG)
    cfg = config()
    for text in (repr(cfg), str(cfg), repr(ShioajiSource(cfg))):
        assert API_KEY not in text and SECRET_KEY not in text
    assert cfg.api_key.get_secret_value() == API_KEY  # still usable

    fake = FakeShioaji(login_failures=99, login_error=echoing_error)
    src, _ = make_source(fake, cfg)
    with pytest.raises(SourceError) as info:
        run(src.start(RecordingSink()))
    exc = info.value
    assert exc.__cause__ is None and exc.__context__ is None  # the broker's echoing exception is not chained
    rendered = "".join(__import__("traceback").format_exception(exc))
    assert API_KEY not in rendered and SECRET_KEY not in rendered
    assert "Too many connections" in caplog.text
    assert API_KEY not in caplog.text and SECRET_KEY not in caplog.text

    # events echoing the key are scrubbed too
    fake2 = FakeShioaji()
    src2, _ = make_source(fake2, cfg)
    sink = RecordingSink()

    async def body():
        fake2.in_library_thread(lambda: fake2.emit_event(0, 2, f"connect failed for {API_KEY}", SECRET_KEY))

    run(start_stop(src2, sink, body))
    assert API_KEY not in repr(sink.events) and SECRET_KEY not in repr(sink.events)
    assert API_KEY not in caplog.text and SECRET_KEY not in caplog.text


# --------------------------------------------------------------------------- stop / resubscribe


def test_stop_unsubscribes_logs_out_once_and_is_idempotent():
    fake = FakeShioaji()
    src, _ = make_source(fake)
    run(src.start(RecordingSink()))

    async def stop_twice():
        await src.stop()
        await src.stop()

    run(stop_twice())
    assert fake.count("unsubscribe") == 2
    assert fake.count("logout") == 1
    assert fake.names()[-1] == "logout"
    run(src.stop())
    assert fake.count("logout") == 1


def test_stop_never_raises():
    run(ShioajiSource(config()).stop())  # never started: nothing to do, no client created
    fake = FakeShioaji(logout_error=RuntimeError("broker gone"))
    src, _ = make_source(fake)
    run(src.start(RecordingSink()))
    run(src.stop())
    assert fake.count("logout") == 1


def test_resubscribe_renews_the_same_contracts_off_the_loop():
    fake = FakeShioaji()
    src, _ = make_source(fake, config(tick_aliases=["TXFR1", "TXFR2"]))
    sink = RecordingSink()

    async def body():
        before = len(fake.calls)
        await src.resubscribe()
        return fake.calls[before:]

    async def scenario():
        await src.start(sink)
        try:
            return await body()
        finally:
            await src.stop()

    renewed = run(scenario())
    pairs = [(n, c.code, qt) for n, (c, qt, v) in renewed]
    assert pairs == [
        ("unsubscribe", "TXFR1", sj.QuoteType.Tick),
        ("subscribe", "TXFR1", sj.QuoteType.Tick),
        ("unsubscribe", "TXFR2", sj.QuoteType.Tick),
        ("subscribe", "TXFR2", sj.QuoteType.Tick),
        ("unsubscribe", "TXFR1", sj.QuoteType.BidAsk),
        ("subscribe", "TXFR1", sj.QuoteType.BidAsk),
    ]
    assert all(v == sj.QuoteVersion.v1 for _, (_, _, v) in renewed)
    main = threading.current_thread().name
    assert all(t != main for n, t in fake.call_threads if n in ("subscribe", "unsubscribe"))
    assert fake.count("login") == 1  # no new session


def test_resubscribe_failure_raises_source_error():
    fake = FakeShioaji()
    src, _ = make_source(fake)

    async def scenario():
        await src.start(RecordingSink())
        fake.subscribe_error = lambda c, qt: sj.SubscribeError("nope")
        try:
            with pytest.raises(SourceError, match="subscribe TXFR1 \\(TXFK6\\) tick failed"):
                await src.resubscribe()
        finally:
            await src.stop()

    run(scenario())
    run(src.resubscribe())  # after stop: ignored


# --------------------------------------------------------------------------- config and the real factory


def test_config_validation_and_types():
    cfg = config(tick_aliases=["TXFR1", "TXFR2"])
    assert cfg.tick_aliases == ("TXFR1", "TXFR2") and cfg.bidask_aliases == ("TXFR1",)
    assert isinstance(cfg.api_key, SecretStr) and cfg.product == "TXF"
    assert cfg.login_retry == LoginRetry(3, (20.0, 60.0))
    assert [cfg.login_retry.delay_after(n) for n in (1, 2, 3)] == [20.0, 60.0, 60.0]
    with pytest.raises(ValueError, match="backoff"):
        LoginRetry(3, (0.1, 0.1))  # a tight loop gets the account banned
    with pytest.raises(ValueError, match="max_attempts"):
        LoginRetry(50)
    with pytest.raises(ValueError, match="tick_aliases"):
        config(tick_aliases=[])
    with pytest.raises(ValueError, match="duplicates"):
        config(bidask_aliases=["TXFR1", "TXFR1"])
    with pytest.raises(ValueError, match="login_timeout_s"):
        config(login_timeout_s=0)
    hash(cfg)  # frozen and hashable


def test_default_factory_sets_the_log_path_and_simulation(tmp_path, monkeypatch):
    """The real factory, with sj.Shioaji replaced: no network, no ./shioaji.log."""
    made: list[dict] = []

    class NoNetworkShioaji:
        def __init__(self, **kw):
            made.append(kw)

    monkeypatch.setattr(sj, "Shioaji", NoNetworkShioaji)
    monkeypatch.setenv("SJ_LOG_PATH", str(tmp_path / "old.log"))
    log_path = tmp_path / "logs" / "sj" / "shioaji.log"
    api = default_api_factory(config(simulation=True, log_path=log_path))
    assert isinstance(api, NoNetworkShioaji) and made == [{"simulation": True}]
    assert os.environ["SJ_LOG_PATH"] == str(log_path) and log_path.parent.is_dir()


def test_prepare_shioaji_log_defaults_to_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SJ_LOG_PATH", str(tmp_path / "x" / "sj.log"))
    assert prepare_shioaji_log() == tmp_path / "x" / "sj.log"
    assert (tmp_path / "x").is_dir()


def test_the_cli_imports_shioaji_only_after_its_log_path_is_set(tmp_path):
    """`import shioaji` opens ./shioaji.log: nothing the CLI imports at start may pull it in."""
    code = (
        "import sys, txf_producer.cli, txf_producer.app, txf_producer.settings, txf_producer.wire;"
        "sys.exit('shioaji' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "SJ_LOG_PATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr or "shioaji was imported"
    assert not (tmp_path / "shioaji.log").exists()
