"""A quote's identity: everything the exchange sent, nothing a leg or the arbiter added.

Shioaji has no exchange sequence number, and two legs receive the same quote from the same feed,
so a quote is identified by its content: the record with the fields of its capture run cleared
(receive time, sequence, producer run id, and the arbiter's own annotations, txf_kit.records.RUN_KINDS),
hashed to 16 bytes. Distinct ticks can share a timestamp (shioaji #222), but not a timestamp,
total volume, price and size together; a book snapshot is its whole five levels a side at its
microsecond. `bench/bench_identity.py` measures the collisions on a simulated day.

Exact repeats (the same content at the same microsecond, e.g. a book snapshot sent again unchanged)
are the one case content cannot tell apart: on a simulated day about 1 in 350,000 BidAsk. They are
numbered: the k-th consecutive repeat in one leg's stream gets the key with k appended
(`RepeatCounter`), so each copy a leg received is written once, and a leg that missed one copy only
contributes the copies it had. On the canonical side (rebuild) the copies take the next free number.
"""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message

from txf_kit.records import KINDS, RUN_KINDS

#: Per message type, the fields a capture run sets (cleared before hashing).
RUN_FIELDS: dict[type[Message], tuple[str, ...]] = {
    message: tuple(name for name, kind in kinds.items() if kind in RUN_KINDS) for message, kinds in KINDS.items()
}


def quote_key(msg: Message) -> bytes:
    """The 16-byte identity of `msg` (left as it was found)."""
    fields = RUN_FIELDS[type(msg)]
    saved = [(name, getattr(msg, name)) for name in fields]
    for name in fields:
        msg.ClearField(name)
    try:
        return hashlib.blake2b(msg.SerializeToString(deterministic=True), digest_size=16).digest()
    finally:
        for name, value in saved:
            setattr(msg, name, value)


def numbered(base: bytes, occurrence: int) -> bytes:
    """The key of the `occurrence`-th exact repeat of a quote (0: the quote itself)."""
    return base if occurrence == 0 else base + occurrence.to_bytes(4, "big")


class RepeatCounter:
    """Numbers exact repeats in one leg's stream: consecutive identical quotes get keys 0, 1, 2, ..."""

    __slots__ = ("_last", "_count")

    def __init__(self) -> None:
        self._last = b""
        self._count = 0

    def key(self, base: bytes) -> bytes:
        if base == self._last:
            self._count += 1
        else:
            self._last, self._count = base, 0
        return numbered(base, self._count)

    def state(self) -> tuple[str, int]:
        """(the last identity's hex, its repeat count): stored with the leg offset a run commits, so the
        next run numbers a repeat split by the commit as the copy it is (not as the first again)."""
        return self._last.hex(), self._count

    def restore(self, last: bytes, count: int) -> None:
        self._last, self._count = last, count
