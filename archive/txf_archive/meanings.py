"""Which columns are prices x10000: the producer's record meanings (record.py) and the bar builder's.

Service side only (it imports txf_producer): the archiver writes these facts into each file's
Arrow field metadata, so that readers derive Decimal/float columns from the files themselves.
"""

from __future__ import annotations

from txf.v1 import Bar, BidAsk, Tick
from txf_archive.bars import BAR_SCALED
from txf_producer.record import BIDASK_MEANINGS, TICK_MEANINGS, Kind

_PRICE_KINDS = {Kind.PRICE, Kind.TRADE_PRICE, Kind.BOOK_PRICES}


def scaled_fields() -> dict[str, frozenset[str]]:
    """txf.v1 full name -> the fields that hold a value x10000."""
    out = {
        Tick.DESCRIPTOR.full_name: frozenset(n for n, m in TICK_MEANINGS.items() if m.kind in _PRICE_KINDS),
        BidAsk.DESCRIPTOR.full_name: frozenset(n for n, m in BIDASK_MEANINGS.items() if m.kind in _PRICE_KINDS),
        Bar.DESCRIPTOR.full_name: BAR_SCALED,
    }
    return out
