"""Settings of the simulated market and of its feed: the same config (seed included) gives the same quotes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from txf_producer.sources.base import QuoteType

ALIASES = ("TXFR1", "TXFR2")
DEFAULT_STREAMS: tuple[tuple[str, QuoteType], ...] = (
    ("TXFR1", QuoteType.TICK),
    ("TXFR1", QuoteType.BIDASK),
    ("TXFR2", QuoteType.TICK),
)


@dataclass(frozen=True)
class SimConfig:
    """Settings of the simulated market; the same config (seed included) gives the same quotes."""

    seed: int = 1
    """Random seed: the whole quote sequence is a function of the config."""
    start: datetime | int | None = None
    """Simulated start: aware datetime or UTC epoch ns. None: the open of the next day session
    after the wall clock at construction. Outside a session the clock jumps to the next one
    (or its pre-open); inside one, statistics start fresh at that point."""
    start_price: int = 28_000
    """TXFR1 best bid at the start, in index points (2026 levels: ~28,000-42,000)."""
    streams: tuple[tuple[str, QuoteType], ...] = DEFAULT_STREAMS
    """Subscribed (alias, quote type) pairs; aliases TXFR1 / TXFR2. Order = order of `start()`'s result."""
    speed: float | None = None
    """Real-time multiplier: 1.0 real time, 60 = a simulated minute per second; None or 0 = as fast as possible."""
    rate: float | None = None
    """Fixed-rate mode: this many messages per wall-clock second, simulated clock advancing 1/rate s per
    message; ignores the intraday shape and `speed`."""
    max_messages: int | None = None
    """Stop after this many quotes and report END_OF_FEED; None = endless."""
    end: datetime | int | None = None
    """Stop when the simulated market reaches this time (aware datetime or UTC epoch ns), END_OF_FEED:
    every leg of a shared market ends with the same quote, whatever its drops. None = endless."""
    simulate_preopen: bool = True
    """Emit simtrade=True quotes in the pre-open auctions (08:30-08:45, 14:50-15:00)."""
    skip_closed: bool = True
    """Paced runs jump over closed periods instead of waiting through them in wall time."""
    intensity: float = 1.0
    """Multiplier of the intraday message rate (1.0 ~ 410,000 messages/day; ~1.9 = busiest day seen)."""
    preopen_rate: float = 1.5
    """Messages per simulated second during the pre-open auctions (before `intensity`)."""
    bidask_share: float = 0.86
    """Fraction of messages that are BidAsk when both types are subscribed."""
    txfr2_share: float = 0.03
    """Weight of TXFR2 relative to TXFR1 (1.0) when both are subscribed to the same quote type."""
    txfr2_spread: int = 40
    """TXFR2 minus TXFR1, points (calendar spread)."""
    basis: float = 25.0
    """Mean of TXFR1 minus the underlying index, points."""
    holidays: frozenset[date] = field(default_factory=frozenset)
    """Exchange holidays (Taipei dates) for the session calendar."""
    generator_process: bool = False
    """Unpaced runs only (no `rate`, no `speed`): generate the market in a child process and hand this
    process the packed quotes, so the model's own cost (~5 us a quote) does not compete with the
    producer for this interpreter's lock. Same quotes; a load-test feed. Paced runs ignore it."""
    anchor_ns: int | None = None
    """A capture leg of a shared market: the wall time (UTC epoch ns) of the simulated `start`. Quotes
    are due at anchor + (simulated time - start) / speed, so legs started at different times deliver
    the same quote at the same moment, and a leg delivers nothing that was due before it started
    (missed while it was down). Needs `speed` (not `rate`)."""
    leg_seed: int = 0
    """This leg's own randomness (drops, jitter): other legs of the same market use other seeds."""
    leg_drop: float = 0.0
    """The share of quotes this leg never receives (decided per quote: simulation/legs.py)."""
    leg_jitter_ms: float = 0.0
    """Each quote reaches this leg up to this much late (uniform), in order: a connection is FIFO."""

    def __post_init__(self) -> None:
        if not self.streams:
            raise ValueError("SimConfig.streams is empty")
        for alias, qt in self.streams:
            if alias not in ALIASES:
                raise ValueError(f"SimConfig.streams: alias {alias!r} not one of {ALIASES}")
            if not isinstance(qt, QuoteType):
                raise ValueError(f"SimConfig.streams: {qt!r} is not a QuoteType")
        if len(set(self.streams)) != len(self.streams):
            raise ValueError("SimConfig.streams has duplicates")
        if self.speed is not None and self.speed < 0:
            raise ValueError("SimConfig.speed must be >= 0 (0/None = full speed)")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("SimConfig.rate must be > 0")
        if self.max_messages is not None and self.max_messages < 0:
            raise ValueError("SimConfig.max_messages must be >= 0")
        if not 1_000 <= self.start_price <= 1_000_000:
            raise ValueError("SimConfig.start_price out of range")
        if self.intensity <= 0 or self.preopen_rate <= 0:
            raise ValueError("SimConfig.intensity and preopen_rate must be > 0")
        if self.anchor_ns is not None and not self.speed:
            raise ValueError("SimConfig.anchor_ns needs speed (the anchor maps simulated time onto the wall clock)")
        if not 0.0 <= self.leg_drop < 1.0 or self.leg_jitter_ms < 0:
            raise ValueError("SimConfig.leg_drop must be in [0, 1) and leg_jitter_ms >= 0")
        if not 0.0 <= self.bidask_share <= 1.0 or self.txfr2_share < 0:
            raise ValueError("SimConfig.bidask_share must be in [0, 1], txfr2_share >= 0")
