"""The recording file format, version 1: what is in a file, and its conversions to and from msgpack.

Optionally the whole file is gzip-compressed (readers detect gzip by its magic bytes):

    b"TXFQREC\\n"                      8 bytes magic
    header                            one msgpack map:
        format: 1, shioaji: "1.7.9", start_time_ns: int (recorder creation, UTC),
        source: str, subscriptions: [[alias, code, quote_type], ...],
        tick_fields: [...], bidask_fields: [...]  (array field order, checked on read)
    records                           msgpack arrays [kind, time_ns, payload]:
        kind 0 tick    payload = tick_array(quote)    time_ns = receive time (UTC ns)
        kind 1 bidask  payload = bidask_array(quote)
        kind 2 subscriptions changed, payload = [[alias, code, quote_type], ...]
        kind 3 source event, payload = [event kind, detail, data map]

A Subscribed event's data holds its subscriptions and roll flag; other events' data is empty.
Files written before the typed events (same version) may carry other data maps and a header
without subscriptions (the live source did not report them): readers accept both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from txf_producer.quotes import BIDASK, TICK
from txf_producer.sources.base import QuoteType, SourceError, Subscription
from txf_producer.sources.events import (
    EVENT_TYPES,
    Connected,
    Disconnected,
    EndOfFeed,
    Reconnected,
    SourceEvent,
    SourceFault,
    Subscribed,
)

MAGIC = b"TXFQREC\n"
FORMAT_VERSION = 1
KIND_TICK, KIND_BIDASK, KIND_SUBSCRIPTIONS, KIND_EVENT = TICK, BIDASK, 2, 3
GZIP_MAGIC = b"\x1f\x8b"


class RecordingError(SourceError):
    """A recording cannot be read: missing, not a recording, unsupported, truncated or corrupt.

    The message names the file and, for record errors, the record number.
    """


@dataclass(frozen=True)
class RecordingHeader:
    format: int
    shioaji_version: str
    start_time_ns: int
    source: str
    subscriptions: tuple[Subscription, ...]


def shioaji_version() -> str:
    try:
        return metadata.version("shioaji")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def subs_to_wire(subs: Iterable[Subscription]) -> list[list[str]]:
    return [[s.alias, s.code, QuoteType(s.quote_type).value] for s in subs]


def subs_from_wire(rows: Any) -> tuple[Subscription, ...]:
    """[[alias, code, quote_type], ...] -> subscriptions; ValueError on anything else."""
    if not isinstance(rows, list):
        raise ValueError(f"subscriptions must be a list, got {type(rows).__name__}")
    out = []
    for r in rows:
        if not (isinstance(r, list) and len(r) == 3 and all(isinstance(x, str) for x in r)):
            raise ValueError(f"bad subscription entry {r!r}")
        out.append(Subscription(r[0], r[1], QuoteType(r[2])))
    return tuple(out)


def event_to_wire(event: SourceEvent) -> list[Any]:
    """A typed event as a kind-3 payload: [kind, detail, data]."""
    data: dict[str, Any] = {}
    if isinstance(event, Subscribed):
        data = {"subscriptions": subs_to_wire(event.subscriptions), "roll": event.roll}
    elif isinstance(event, EndOfFeed):
        data = {"count": event.count, "complete": event.complete}
    return [event.kind, event.detail, data]


def event_from_wire(payload: list[Any], time_ns: int) -> SourceEvent | None:
    """A kind-3 payload as a typed event (None for a kind this reader does not know).

    Events of older files keep their kind and detail; a Subscribed without readable
    subscriptions (the live source wrote none) comes back with none.
    """
    kind, detail, data = payload
    detail, data = str(detail), data if isinstance(data, dict) else {}
    cls = EVENT_TYPES.get(str(kind))
    if cls is Subscribed:
        try:
            subs = subs_from_wire(data.get("subscriptions", []))
        except ValueError:
            subs = ()
        return Subscribed(time_ns, subs, roll=bool(data.get("roll")), detail=detail)
    if cls is EndOfFeed:
        return EndOfFeed(time_ns, int(data.get("count", 0)), complete=bool(data.get("complete", True)), detail=detail)
    if cls in (Connected, Disconnected, Reconnected, SourceFault):
        return cls(time_ns, detail)
    return None
