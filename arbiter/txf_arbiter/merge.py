"""The legs' records in exchange-time order while they have backlogs; at once while they are live.

An arbiter back from an outage (or a new one taking over) finds minutes of records on every leg
topic. Read as Kafka hands them over, one leg's backlog comes in large chunks before the other's:
leg a's quotes run minutes of exchange time ahead, and leg b's, when they come, are older than the
identity window and cannot be judged. So records are held per leg and released by exchange time
across the legs, the way a k-way merge does: the oldest head first, and only while every other leg
either holds a record too or is read to its end (nothing more to read now). A live feed, where every
leg is read to its end, is never held back. A leg known to have records not read yet (behind its high
watermark) is waited for as long as `behind_ns` (its partition may have lost its leader); one whose
end is not known yet (never fetched) at most `hold_ns` of wall time.

Within a leg the order is its offsets' (a record that is not a quote keeps its place), so the leg
offsets the service commits still only grow.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class LegMerger(Generic[T]):
    """Per leg a FIFO of (exchange ns, item); `release` hands items over in merged order."""

    def __init__(
        self,
        legs: Iterable[str],
        hold_ns: int = 5_000_000_000,
        behind_ns: int = 30_000_000_000,
        wall_ns: Callable[[], int] = time.monotonic_ns,
    ):
        self._queues: dict[str, deque[tuple[int, T]]] = {leg: deque() for leg in legs}
        self._last: dict[str, int] = dict.fromkeys(self._queues, 0)
        self._waiting_since: dict[str, int] = {}
        self.hold_ns = hold_ns
        self.behind_ns = behind_ns
        self._wall_ns = wall_ns

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def push(self, leg: str, item: T, exchange_ns: int | None) -> None:
        """A record read from `leg`; without an exchange time (not a quote) it keeps its leg's last one."""
        t = self._last[leg] if exchange_ns is None else exchange_ns
        self._last[leg] = max(self._last[leg], t)
        self._queues[leg].append((t, item))
        self._waiting_since.pop(leg, None)

    def held(self) -> Iterator[tuple[str, T]]:
        """Every item not released yet, per leg in order."""
        for leg, q in self._queues.items():
            for _t, item in q:
                yield leg, item

    def clear(self) -> None:
        for q in self._queues.values():
            q.clear()
        self._waiting_since.clear()

    def release(self, read_to_end: Callable[[str], bool | None]) -> list[tuple[str, T]]:
        """The items that can go now, oldest exchange time first (see the module doc). `read_to_end(leg)`:
        True read to its end, False known to have more, None not known yet."""
        out: list[tuple[str, T]] = []
        queues = self._queues
        now = self._wall_ns()
        while True:
            heads = [(q[0][0], leg) for leg, q in queues.items() if q]
            if not heads:
                return out
            t, leg = min(heads)
            for other, q in queues.items():
                state = True if other == leg or q else read_to_end(other)
                if state is True:
                    self._waiting_since.pop(other, None)
                    continue
                since = self._waiting_since.setdefault(other, now)
                if now - since < (self.behind_ns if state is False else self.hold_ns):
                    return out  # `other` may still bring an older record
            out.append((leg, queues[leg].popleft()[1]))
