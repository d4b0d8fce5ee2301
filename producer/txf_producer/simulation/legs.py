"""One capture leg's view of a shared simulated market: which quotes it misses, how late it gets them.

Several producer legs run the same seeded market (same quotes, same times) and differ only here.
Every decision is a pure function of (leg seed, quote index), so a test can recompute exactly which
quotes each leg delivered (the ground truth of the arbiter's tests) without running anything.
"""

from __future__ import annotations

import hashlib

_SCALE = float(2**64)


def _unit(leg_seed: int, index: int, what: bytes) -> float:
    digest = hashlib.blake2b(f"{leg_seed}:{index}".encode(), digest_size=8, person=what).digest()
    return int.from_bytes(digest, "big") / _SCALE


def dropped(leg_seed: int, drop: float, index: int) -> bool:
    """Whether the leg never receives quote `index` (0-based, in the market's order)."""
    return drop > 0 and _unit(leg_seed, index, b"drop") < drop


def jitter_s(leg_seed: int, jitter_ms: float, index: int) -> float:
    """How much later than due quote `index` reaches the leg (before keeping the leg's order)."""
    return 0.0 if jitter_ms <= 0 else _unit(leg_seed, index, b"jitter") * jitter_ms / 1000.0
