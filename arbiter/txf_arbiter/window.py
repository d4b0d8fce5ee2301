"""One stream's quote identities of the last `span` of exchange time: is this a second copy?

A quote is a duplicate when another leg delivered it before; legs lag each other by milliseconds,
or by the minutes a leg's producer queued while its broker was away. The window keeps every
identity for `span` of exchange time after the stream's newest quote (memory: 16 bytes and a
deque slot per quote; ~25 MB for 5 minutes of the real peak). A quote older than that cannot be
judged and is refused as too late (the caller dead-letters it: kept, never silently dropped).
"""

from __future__ import annotations

from collections import deque


class SeenWindow:
    """Identities of one stream, evicted once `span_ns` older than the newest exchange time."""

    def __init__(self, span_ns: int) -> None:
        self.span_ns = span_ns
        self.newest_ns = 0
        self._keys: set[bytes] = set()
        self._order: deque[tuple[int, bytes]] = deque()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: bytes) -> bool:
        return key in self._keys

    def too_late(self, exchange_ns: int) -> bool:
        """Older than the window: its copies may already be forgotten, so it cannot be judged."""
        return self.newest_ns != 0 and exchange_ns < self.newest_ns - self.span_ns

    def add(self, key: bytes, exchange_ns: int) -> None:
        self._keys.add(key)
        self._order.append((exchange_ns, key))
        if exchange_ns > self.newest_ns:
            self.newest_ns = exchange_ns
            horizon = exchange_ns - self.span_ns
            order, keys = self._order, self._keys
            while order and order[0][0] < horizon:
                keys.discard(order.popleft()[1])
