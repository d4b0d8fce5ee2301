"""Which handler method gets a message: its own on_<name>, else on_message, else nothing (no Kafka)."""

from __future__ import annotations

from typing import Any

import consumerkit  # noqa: F401 - puts consumers/python on sys.path

from txf.v1 import BidAsk, Gap, Tick
from txf_consumer.consumer import MESSAGE_TYPES, _handler_method
from txf_consumer.handler import BaseHandler, QuoteHandler


class Strategy(BaseHandler):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_tick(self, tick: Tick, meta: Any) -> None:
        self.seen.append("tick")


class Everything(BaseHandler):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_bidask(self, bidask: BidAsk, meta: Any) -> None:
        self.seen.append("own bidask")

    def on_message(self, msg: Any, meta: Any) -> None:
        self.seen.append(type(msg).__name__)


class Bare:
    """A QuoteHandler by shape only (no BaseHandler): no on_gap, no on_message."""

    def on_tick(self, tick: Tick, meta: Any) -> None: ...

    def on_bidask(self, bidask: BidAsk, meta: Any) -> None: ...


def test_every_message_of_the_contract_is_known_to_the_consumer() -> None:
    assert {"txf.v1.Tick", "txf.v1.BidAsk", "txf.v1.Gap"} <= set(MESSAGE_TYPES)


def test_own_methods_first_then_on_message_then_the_base_handlers_no_op() -> None:
    s = Strategy()
    for cls in (Tick, BidAsk, Gap):
        _handler_method(s, cls)(cls(), None)
    assert s.seen == ["tick"]  # BidAsk and Gap: BaseHandler's ignore-methods
    e = Everything()
    for cls in (Tick, BidAsk, Gap):
        _handler_method(e, cls)(cls(), None)
    assert e.seen == ["Tick", "own bidask", "Gap"]


def test_a_handler_without_on_gap_skips_the_ledger() -> None:
    bare = Bare()
    assert isinstance(bare, QuoteHandler)
    _handler_method(bare, Gap)(Gap(), None)  # no AttributeError: skipped
