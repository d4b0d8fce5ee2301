"""A quote's identity: everything the exchange sent, nothing a leg or the arbiter added.

Shioaji has no exchange sequence number, and two legs receive the same quote from the same feed,
so a quote is identified by its content: the record with the fields of its capture run cleared
(receive time, sequence, producer run id, and the arbiter's own annotations, record.RUN_KINDS),
hashed to 16 bytes. Distinct ticks can share a timestamp (shioaji #222), but not a timestamp,
total volume, price and size together; a book snapshot is its whole five levels a side at its
microsecond. `bench/bench_identity.py` measures the collisions on a simulated day.
"""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message

from txf_producer.record import RUN_KINDS, SHAPES

#: Per message type, the fields a capture run sets (cleared before hashing).
RUN_FIELDS: dict[type[Message], tuple[str, ...]] = {
    message: tuple(f.name for f in shape.fields if f.kind in RUN_KINDS) for message, shape in SHAPES.items()
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
