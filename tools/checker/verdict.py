"""The invariants of redundant capture, judged on identities (what the exchange said, txf_kit-free).

- every quote some leg captured is in the canonical topics, exactly as many times as the leg that had
  the most copies of it had (an exact repeat the exchange sent twice is two quotes);
- nothing is in the canonical topics that no leg captured, and nothing twice;
- every quote of the market that no leg captured lies inside a `Gap` of the ledger (a hole is never
  silent), and nothing the legs did capture is missing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools.checker.truth import Quote


@dataclass
class Verdict:
    """Counts and every violation, by invariant."""

    truth: int = 0
    captured: int = 0
    canonical: int = 0
    missing_captured: list[str] = field(default_factory=list)  # a leg had it, the canonical topics do not
    duplicated: list[str] = field(default_factory=list)  # in the canonical topics more often than captured
    not_captured: list[str] = field(default_factory=list)  # in the canonical topics, no leg had it
    silent_holes: list[str] = field(default_factory=list)  # no leg had it and no Gap covers it
    in_gaps: int = 0  # quotes no leg had, each inside a Gap

    @property
    def violations(self) -> int:
        return len(self.missing_captured) + len(self.duplicated) + len(self.not_captured) + len(self.silent_holes)

    def summary(self) -> dict[str, Any]:
        return {
            "market_quotes": self.truth,
            "captured_by_some_leg": self.captured,
            "canonical_records": self.canonical,
            "missing_though_captured": len(self.missing_captured),
            "duplicates": len(self.duplicated),
            "not_captured_but_written": len(self.not_captured),
            "holes_inside_a_gap": self.in_gaps,
            "holes_without_a_gap": len(self.silent_holes),
            "violations": self.violations,
            "examples": (self.missing_captured + self.duplicated + self.not_captured + self.silent_holes)[:10],
        }


def judge(
    truth: Sequence[Quote],
    legs: dict[str, Iterable[bytes]],
    canonical: Iterable[bytes],
    gaps: Sequence[tuple[int, int]],
) -> Verdict:
    """`legs`: each leg topic's identities; `canonical`: the canonical identities; `gaps`: (start, end) ns."""
    v = Verdict(truth=len(truth))
    leg_counts = {name: Counter(ids) for name, ids in legs.items()}
    best: Counter[bytes] = Counter()
    for counts in leg_counts.values():
        best |= counts  # per identity, the most copies one leg had
    got = Counter(canonical)
    v.captured = sum(best.values())
    v.canonical = sum(got.values())
    times = {q.identity: q.exchange_ns for q in truth}
    for ident, n in best.items():
        if got[ident] < n:
            v.missing_captured.append(f"{_when(times.get(ident))}: {n - got[ident]} of {n} captured copies missing")
    for ident, n in got.items():
        if n > best[ident]:
            if best[ident]:
                v.duplicated.append(f"{_when(times.get(ident))}: written {n} times, captured {best[ident]}")
            else:
                v.not_captured.append(f"{_when(times.get(ident))}: written {n} times, no leg captured it")
    market = Counter(q.identity for q in truth)
    for ident, n in market.items():
        lacking = n - max(best[ident], got[ident])
        if lacking <= 0:
            continue
        t = times[ident]
        if any(a <= t <= b for a, b in gaps):
            v.in_gaps += lacking
        else:
            v.silent_holes.append(f"{_when(t)}: no leg captured it and no Gap covers it")
    return v


def _when(t_ns: int | None) -> str:
    if t_ns is None:
        return "(not a quote of the market)"
    from txf_kit.calendar import taipei

    return taipei(t_ns).strftime("%Y-%m-%d %H:%M:%S.%f Taipei")
