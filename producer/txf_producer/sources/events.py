"""What a source reports besides quotes: one typed vocabulary for every source and sink.

Every source (live, simulator, replay) emits these and nothing else, so a sink never has to guess
what an untyped payload holds: a `Subscribed` always carries the resolved subscriptions (alias,
real contract code, quote type), whether the live session, the simulator or a recording produced
it. That is what lets a recording made from the live session replay onto the same topics.
Model: tardis-node's `src/types.ts` (one typed vocabulary at the boundaries).

`kind` names each event in logs and in recordings (kind-3 records).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from txf_producer.sources.base import Subscription


@dataclass(frozen=True, slots=True)
class Connected:
    """The session is up (logged in, or the simulator/replay started)."""

    time_ns: int
    detail: str = ""
    kind: ClassVar[str] = "connected"


@dataclass(frozen=True, slots=True)
class Subscribed:
    """Streams are subscribed: `subscriptions` resolved to real codes; `roll` for a month-code roll."""

    time_ns: int
    subscriptions: tuple[Subscription, ...]
    roll: bool = False
    detail: str = ""
    kind: ClassVar[str] = "subscribed"


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The session went down; quotes stop until `Reconnected` (the app allows a grace period)."""

    time_ns: int
    detail: str = ""
    kind: ClassVar[str] = "disconnected"


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The session came back by itself."""

    time_ns: int
    detail: str = ""
    kind: ClassVar[str] = "reconnected"


@dataclass(frozen=True, slots=True)
class SourceFault:
    """A source-side error that did not end the feed (a failed callback, a subscription error)."""

    time_ns: int
    detail: str = ""
    kind: ClassVar[str] = "error"


@dataclass(frozen=True, slots=True)
class EndOfFeed:
    """A finite source has no more quotes: `count` delivered; `complete` False if it ended early."""

    time_ns: int
    count: int
    complete: bool = True
    detail: str = ""
    kind: ClassVar[str] = "end_of_feed"


SourceEvent = Connected | Subscribed | Disconnected | Reconnected | SourceFault | EndOfFeed
EVENT_TYPES: dict[str, type[SourceEvent]] = {
    cls.kind: cls for cls in (Connected, Subscribed, Disconnected, Reconnected, SourceFault, EndOfFeed)
}


def describe(event: SourceEvent) -> str:
    """One log line's worth: the kind, the detail, and what a Subscribed resolved."""
    text = f"{event.kind}"
    if isinstance(event, Subscribed):
        subs = ", ".join(f"{s.alias} {s.quote_type.value} -> {s.code}" for s in event.subscriptions)
        text += f"{' (roll)' if event.roll else ''}: {subs}"
    if event.detail:
        text += f" ({event.detail})"
    return text
