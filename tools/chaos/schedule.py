"""The nemesis's plan: which faults, on what, when and for how long, all drawn from the seed.

Every fault kind of the campaign appears in every run, in an order and at times the seed draws (one
slot each across the market's run, a random start and length inside it), so two runs of one seed
make the same faults at the same moments of the market, and other seeds other orders. Durations are
in wall seconds; the market runs `speed` times faster (README "The nemesis").
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

#: every fault kind the nemesis makes (README "The nemesis" says what each does)
KINDS = (
    "leg_sigkill",  # a capture leg's producer SIGKILLed, restarted after a while
    "leg_sigstop",  # a capture leg frozen (SIGSTOP), thawed later (its backlog arrives late)
    "arbiter_sigkill",  # the active arbiter SIGKILLed: the standby takes over (shorter than the window)
    "arbiter_outage",  # both arbiters SIGKILLed, back after longer than the window (a backlog to merge)
    "leader_sigkill",  # the canonical book topic's partition leader SIGKILLed, restarted later
    "controller_sigkill",  # the active KRaft controller SIGKILLed, restarted later
    "two_brokers_down",  # 2 of 3 brokers down; a leg SIGTERMed meanwhile (it spools), respooled after
    "archiver_sigkill",  # the archiver SIGKILLed, restarted later
    "compaction_sigkill",  # a compaction of the day being written, SIGKILLed midway
    "bars_sigkill",  # the bar builder SIGKILLed, restarted later
)


@dataclass(frozen=True)
class Fault:
    kind: str
    at_s: float  # wall seconds after the market's start
    duration_s: float
    target: str = ""  # the leg ("a", "b") where the kind has one

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def draw(seed: int, market_s: float, window_wall_s: float) -> list[Fault]:
    """One fault of each kind, in a seeded order, inside [5 %, 85 %] of the market's run."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    rng.shuffle(kinds)
    begin, end = 0.05 * market_s, 0.85 * market_s
    slot = (end - begin) / len(kinds)
    faults = []
    for i, kind in enumerate(kinds):
        lo = begin + i * slot
        if kind == "arbiter_outage":
            duration = window_wall_s * rng.uniform(1.3, 1.8)  # longer than the window, always
        elif kind in ("leg_sigstop",):
            duration = min(slot * 0.6, rng.uniform(1.0, 3.0))
        elif kind in ("compaction_sigkill",):
            duration = rng.uniform(0.3, 1.5)  # when the compaction is killed after its start
        else:
            duration = min(slot * 0.7, rng.uniform(3.0, 8.0))
        at = lo + rng.uniform(0, max(0.0, slot - duration) * 0.5)
        # a leg stopped during the brokers' outage is respooled only once they are back in sync (tens of
        # seconds here: hours of this compressed market, beyond the window); leg a's quotes are all leg
        # b's too (b drops none), so that outage stops leg a: b's spool could hold a's drops, which the
        # arbiter would judge too late and a real feed (at 1x, minutes inside the window) would not
        target = (
            "a" if kind == "two_brokers_down" else (rng.choice("ab") if kind in ("leg_sigkill", "leg_sigstop") else "")
        )
        faults.append(Fault(kind, round(at, 2), round(duration, 2), target))
    return faults
