"""The one interface every quote source implements.

A source delivers real Shioaji quote objects to a `QuoteSink` from its own
thread, exactly as Shioaji's library thread calls its callbacks, so the
simulator and replay drive the same code path as a live session. It reports
connection changes as explicit typed events (sources/events.py) rather than by silence.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from txf_producer.sources.events import SourceEvent


class QuoteType(enum.StrEnum):
    """Quote stream kinds, named as Shioaji's QuoteType."""

    TICK = "tick"
    BIDASK = "bidask"


#: The txf.v1 message each quote stream becomes (by name: the classes are record.MESSAGE_OF).
MESSAGE_NAME_OF: dict[QuoteType, str] = {QuoteType.TICK: "txf.v1.Tick", QuoteType.BIDASK: "txf.v1.BidAsk"}


@dataclass(frozen=True)
class Subscription:
    """One subscribed stream: `alias` as configured (TXFR1), `code` as quotes carry it (TXFK6)."""

    alias: str
    code: str
    quote_type: QuoteType


class QuoteSink(Protocol):
    """Receives quotes and events. Called from the source's thread: keep it short, never block.

    `receive_ns` is when the quote reached the producer (UTC epoch ns), stamped once by the source
    (a live callback's arrival; a recording's recorded arrival), so every sink in a chain (the
    recorder, the publisher) agrees on it and a replay reproduces it.
    """

    def on_tick(self, quote: Any, receive_ns: int) -> None:
        """A TickFOPv1 (or an object with the same attributes)."""

    def on_bidask(self, quote: Any, receive_ns: int) -> None:
        """A BidAskFOPv1 (or an object with the same attributes)."""

    def on_event(self, event: SourceEvent) -> None:
        """A connection or feed event (sources/events.py)."""


@runtime_checkable
class SubscriptionSink(QuoteSink, Protocol):
    """A sink that must know the resolved subscriptions (the recorder's header); the app tells it."""

    def set_subscriptions(self, subscriptions: Sequence[Subscription]) -> None:
        """What `Source.start` returned."""


class Source(ABC):
    """A feed of TXF quotes. `start` connects and subscribes, `stop` ends it (idempotent)."""

    name: str = "source"

    @abstractmethod
    async def start(self, sink: QuoteSink) -> list[Subscription]:
        """Connect, subscribe and begin delivering to `sink` from a background thread.

        Returns the resolved subscriptions (alias -> real contract code), which
        the producer uses to route quotes to topics. Raises `SourceError` with a
        one-line reason when the feed cannot start.
        """

    @abstractmethod
    async def stop(self) -> None:
        """Stop delivering, release the connection (log out), join the thread."""

    async def resubscribe(self) -> None:  # noqa: B027 - a default, not abstract: most sources have no session
        """Renew the subscriptions after a silent stall; sources without a session ignore it."""


class SourceError(RuntimeError):
    """The source cannot start or went down for good; the message says why and what to do."""


class SourceConfigError(SourceError):
    """The source's settings are wrong (missing or rejected credentials): restarting cannot help."""
