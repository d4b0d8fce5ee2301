"""Loss, duplicates and latency of txf.v1 streams, from the messages themselves.

Loss/duplicates. The contract (proto/txf/v1/common.proto) makes each message of
a stream -- one (message type, contract code) of one producer run, the run being
`producer_run_id` -- carry `sequence` = 1, 2, 3, ... So a jump is an exact loss
count and a number seen twice an exact duplicate. We keep, per stream, the
highest sequence and the still-missing ranges; a late message that fills a hole
is a reorder (the loss shrinks), a number neither missing nor new is a
duplicate. Memory per stream is bounded by MAX_MISSING_RANGES (the oldest hole
is then given up: it stays counted as lost, and a very late fill of it would be
counted as a duplicate; `missing_ranges_dropped` says when this happened). A
new `producer_run_id` for a (type, code) is a new stream and a producer restart;
what the old run published after the last message we saw is invisible here.
A stream's first message need not be sequence 1 (we may join mid-stream):
only holes after the first seen message count as loss.

Latency. Two clocks per message: exchange time (`exchange_time_us`) -> consumer
receive, and producer receive (`receive_time_ns`, the producer host's clock)
-> consumer receive. Each goes into a log-linear histogram (HDR-style): exact
below 256 ns, above that 128 sub-buckets per power of two, so any percentile is
within 1/256 of the true value (mid-bucket), in fixed memory (7,424 counters
whatever the message count) at O(1) per record. A fixed-size reservoir would
also bound memory, but its p99.9 and max over a long session are sampled, not
exact-to-a-bound, and it needs a random generator on the hot path.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NamedTuple

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9)
MAX_MISSING_RANGES = 4096
MAX_GAP_EVENTS = 1000


class LogHistogram:
    """Counts of non-negative integers (e.g. nanoseconds) in log-linear buckets.

    Values below 2**(SUB_BITS+1) are exact; larger ones fall into buckets of
    relative width 2**-SUB_BITS. Negative values (clock skew between hosts) are
    counted apart in `negative` and recorded as 0, and `min` keeps the true
    minimum. `max` and `min` are exact.
    """

    SUB_BITS = 7
    _SUB = 1 << SUB_BITS  # 128 sub-buckets per power of two
    _EXACT = 2 * _SUB  # values below 256 have their own bucket
    _BUCKETS = _EXACT + (64 - SUB_BITS - 1) * _SUB  # up to 2**64

    __slots__ = ("counts", "count", "min", "max", "negative", "total")

    def __init__(self) -> None:
        self.counts = [0] * self._BUCKETS
        self.count = 0
        self.min: int | None = None
        self.max: int | None = None
        self.negative = 0
        self.total = 0

    @classmethod
    def bucket_of(cls, v: int) -> int:
        """Bucket index of a value >= 0."""
        if v < cls._EXACT:
            return v
        shift = v.bit_length() - cls.SUB_BITS - 1
        return cls._EXACT + (shift - 1) * cls._SUB + (v >> shift) - cls._SUB

    @classmethod
    def bucket_bounds(cls, idx: int) -> tuple[int, int]:
        """[low, high] values of a bucket."""
        if idx < cls._EXACT:
            return idx, idx
        shift, sub = divmod(idx - cls._EXACT, cls._SUB)
        shift += 1
        low = (sub + cls._SUB) << shift
        return low, low + (1 << shift) - 1

    def record(self, v: int) -> None:
        """Add one value (negative values count as 0, see the class doc).

        Runs twice per consumed record, so it is written out: for v >= 256 the bucket
        is `bucket_of(v)` simplified, (shift << SUB_BITS) + (v >> shift).
        """
        lo = self.min
        if lo is None or v < lo:
            self.min = v
            if lo is None:
                self.max = v
        hi = self.max
        if v > hi:  # type: ignore[operator]
            self.max = v
        if v < self._EXACT:
            if v < 0:
                self.negative += 1
                v = 0
            self.counts[v] += 1
        else:
            if v >= 1 << 64:
                v = (1 << 64) - 1
            shift = v.bit_length() - self.SUB_BITS - 1
            self.counts[(shift << self.SUB_BITS) + (v >> shift)] += 1
        self.count += 1
        self.total += v

    def percentile(self, p: float) -> int | None:
        """The nearest-rank p-th percentile (value at rank ceil(p/100 * count)), None when empty.

        Exact when the bucket is exact, else the bucket's middle (clamped to min/max).
        """
        return self.percentiles([p])[p]

    def percentiles(self, ps: Iterable[float]) -> dict[float, int | None]:
        """Several percentiles in one pass over the buckets (a C-speed running sum, then a search per rank)."""
        ps = sorted(ps)
        if not self.count:
            return {p: None for p in ps}
        running = list(itertools.accumulate(self.counts))
        lo = max(self.min or 0, 0)
        hi = max(self.max if self.max is not None else 0, 0)
        out: dict[float, int | None] = {}
        for p in ps:
            rank = max(1, math.ceil(p / 100.0 * self.count))
            low, high = self.bucket_bounds(bisect.bisect_left(running, rank))
            out[p] = min(max((low + high) // 2, lo), hi)
        return out

    def merge(self, other: LogHistogram) -> None:
        """Add another histogram's counts to this one."""
        for idx, c in enumerate(other.counts):
            if c:
                self.counts[idx] += c
        self.count += other.count
        self.negative += other.negative
        self.total += other.total
        for v in (other.min, other.max):
            if v is not None:
                self.min = v if self.min is None else min(self.min, v)
                self.max = v if self.max is None else max(self.max, v)

    def summary_ms(self) -> dict[str, Any]:
        """count, p50..p99.9 and max in milliseconds (3 decimals), plus the negative count."""
        out: dict[str, Any] = {"count": self.count}
        for p, v in self.percentiles(PERCENTILES).items():
            out[f"p{p:g}"] = None if v is None else round(v / 1e6, 3)
        out["max"] = None if self.max is None else round(self.max / 1e6, 3)
        out["min"] = None if self.min is None else round(self.min / 1e6, 3)
        out["negative"] = self.negative
        return out


class SeqEvent(Enum):
    """What one message meant for its stream."""

    FIRST = "first"  # first message of a stream we saw
    IN_ORDER = "in_order"  # sequence = previous highest + 1
    GAP = "gap"  # jumped ahead: the numbers between are missing (lost so far)
    LATE = "late"  # filled a hole left by an earlier gap (reordered)
    DUPLICATE = "duplicate"  # a number already seen
    UNSEQUENCED = "unsequenced"  # sequence 0: the writer set no sequence, not tracked


class StreamKey(NamedTuple):
    """One stream: message type + contract code + producer run."""

    type_name: str
    code: str
    producer_run_id: int


@dataclass
class StreamState:
    """Counters of one stream (see the module doc for the rules)."""

    key: StreamKey
    first_sequence: int
    last_sequence: int  # highest sequence seen
    count: int = 1
    lost: int = 0  # numbers currently missing (holes not filled)
    gaps: int = 0  # gap events (jumps ahead)
    duplicates: int = 0
    reordered: int = 0  # late messages that filled a hole, or came before the first seen
    missing: list[list[int]] = field(default_factory=list)  # sorted [low, high] holes
    missing_ranges_dropped: int = 0
    gap_events: list[tuple[int, int]] = field(default_factory=list)  # (first missing, size), first 1000
    restart_of: int | None = None  # producer_run_id this run followed, when it is a restart

    def observe(self, seq: int) -> SeqEvent:
        """Account for one more message with sequence `seq`."""
        self.count += 1
        last = self.last_sequence
        if seq == last + 1:
            self.last_sequence = seq
            return SeqEvent.IN_ORDER
        if seq > last:
            size = seq - last - 1
            self.gaps += 1
            self.lost += size
            if len(self.gap_events) < MAX_GAP_EVENTS:
                self.gap_events.append((last + 1, size))
            self.missing.append([last + 1, seq - 1])
            if len(self.missing) > MAX_MISSING_RANGES:
                self.missing.pop(0)
                self.missing_ranges_dropped += 1
            self.last_sequence = seq
            return SeqEvent.GAP
        if seq < self.first_sequence:  # older than where we joined: cannot tell, call it late
            self.reordered += 1
            return SeqEvent.LATE
        if self._fill(seq):
            self.lost -= 1
            self.reordered += 1
            return SeqEvent.LATE
        self.duplicates += 1
        return SeqEvent.DUPLICATE

    def _fill(self, seq: int) -> bool:
        """Remove `seq` from the missing ranges; False when it was not missing."""
        ranges = self.missing
        lo_i, hi_i = 0, len(ranges)
        while lo_i < hi_i:  # binary search: ranges are sorted and disjoint
            mid = (lo_i + hi_i) // 2
            if ranges[mid][1] < seq:
                lo_i = mid + 1
            else:
                hi_i = mid
        if lo_i == len(ranges) or ranges[lo_i][0] > seq:
            return False
        low, high = ranges[lo_i]
        if low == high:
            ranges.pop(lo_i)
        elif seq == low:
            ranges[lo_i][0] = seq + 1
        elif seq == high:
            ranges[lo_i][1] = seq - 1
        else:
            ranges[lo_i][1] = seq - 1
            ranges.insert(lo_i + 1, [seq + 1, high])
        return True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counters (64-bit run id as a string, as proto3 JSON does)."""
        return {
            "type": self.key.type_name,
            "code": self.key.code,
            "producerRunId": str(self.key.producer_run_id),
            "firstSequence": self.first_sequence,
            "lastSequence": self.last_sequence,
            "count": self.count,
            "lost": self.lost,
            "gaps": self.gaps,
            "gapSizes": [size for _, size in self.gap_events],
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "missingRangesDropped": self.missing_ranges_dropped,
            "restartOf": None if self.restart_of is None else str(self.restart_of),
        }


class LatencyPair:
    """The two latency histograms of one message type (nanoseconds)."""

    __slots__ = ("exchange", "producer")

    def __init__(self) -> None:
        self.exchange = LogHistogram()  # exchange_time_us -> consumer receive
        self.producer = LogHistogram()  # receive_time_ns (producer) -> consumer receive


class Tracker:
    """Per-stream sequence accounting and per-type latency of every decoded message."""

    def __init__(self) -> None:
        self.streams: dict[StreamKey, StreamState] = {}
        self._current_run: dict[tuple[str, str], int] = {}
        self.latency: dict[str, LatencyPair] = {}
        self.messages = 0
        self.by_type: dict[str, int] = {}
        self.unsequenced = 0
        self.producer_restarts = 0
        self.newest_exchange_us = 0  # the newest exchange time of any quote seen (the feed's clock)
        self._observers: dict[str, TypeObserver] = {}

    def observe(self, type_name: str, msg: Any, receive_time_ns: int) -> tuple[SeqEvent, StreamState | None]:
        """Account for a decoded Tick/BidAsk received at `receive_time_ns` (consumer clock, epoch ns)."""
        observer = self._observers.get(type_name)
        if observer is None:
            observer = self.observer(type_name)
        return observer(msg, receive_time_ns)

    def observer(self, type_name: str, fields: Collection[str] | None = None) -> TypeObserver:
        """`observe` for one message type, its lookups done once: what the consumer loop calls per record.

        `fields` are the type's field names (None: a quote's); latency is measured only from the quote
        times a type has (a Bar carries a sequence but no exchange_time_us / receive_time_ns)."""
        observer = self._observers.get(type_name)
        if observer is None:
            observer = self._observers[type_name] = TypeObserver(self, type_name, fields)
        return observer

    def _new_stream(self, key: StreamKey, seq: int) -> StreamState:
        """First message of a stream: create its state, note a producer restart."""
        state = self.streams[key] = StreamState(key, seq, seq)
        previous = self._current_run.get(key[:2])
        if previous is not None and previous != key.producer_run_id:
            state.restart_of = previous
            self.producer_restarts += 1
        self._current_run[key[:2]] = key.producer_run_id
        return state

    def totals(self) -> dict[str, int]:
        """Sums over all streams: lost, gaps, duplicates, reordered."""
        out = {"lost": 0, "gaps": 0, "duplicates": 0, "reordered": 0}
        for s in self.streams.values():
            out["lost"] += s.lost
            out["gaps"] += s.gaps
            out["duplicates"] += s.duplicates
            out["reordered"] += s.reordered
        return out

    def summary(self) -> dict[str, Any]:
        """Everything, JSON-ready: counts, loss, duplicates, restarts, latency percentiles (ms)."""
        totals = self.totals()
        return {
            "messages": self.messages,
            "byType": dict(self.by_type),
            "loss": totals["lost"],
            "gaps": totals["gaps"],
            "duplicates": totals["duplicates"],
            "reordered": totals["reordered"],
            "producerRestarts": self.producer_restarts,
            "unsequenced": self.unsequenced,
            "streams": [s.to_dict() for s in self.streams.values()],
            "latencyMs": {
                t: {"exchangeToConsumer": p.exchange.summary_ms(), "producerToConsumer": p.producer.summary_ms()}
                for t, p in self.latency.items()
            },
        }


class TypeObserver:
    """Tracker.observe for one message type (see Tracker.observer).

    Keeps the type's latency histograms and its last stream at hand: consecutive
    messages of a type almost always belong to one stream (one contract, one
    producer run), so the common case is two histogram records, two comparisons
    and one increment, without building a StreamKey or looking it up.
    """

    __slots__ = (
        "_tracker", "type_name", "_exchange", "_producer", "_last_code", "_last_run", "_last_state",
        "_has_exchange_time", "_has_receive_time",
    )  # fmt: skip

    def __init__(self, tracker: Tracker, type_name: str, fields: Collection[str] | None = None) -> None:
        self._tracker = tracker
        self.type_name = type_name
        self._has_exchange_time = fields is None or "exchange_time_us" in fields
        self._has_receive_time = fields is None or "receive_time_ns" in fields
        pair = tracker.latency.get(type_name)
        if pair is None:
            pair = tracker.latency[type_name] = LatencyPair()
        self._exchange = pair.exchange
        self._producer = pair.producer
        self._last_code: str | None = None
        self._last_run: int | None = None
        self._last_state: StreamState | None = None

    def __call__(self, msg: Any, receive_time_ns: int) -> tuple[SeqEvent, StreamState | None]:
        """Account for one message of this type (same rules as Tracker.observe)."""
        tracker = self._tracker
        tracker.messages += 1
        by_type = tracker.by_type
        by_type[self.type_name] = by_type.get(self.type_name, 0) + 1
        if self._has_exchange_time:
            ex_us = msg.exchange_time_us
            if ex_us:
                self._exchange.record(receive_time_ns - ex_us * 1000)
                if ex_us > tracker.newest_exchange_us:
                    tracker.newest_exchange_us = ex_us
        if self._has_receive_time:
            rx_ns = msg.receive_time_ns
            if rx_ns:
                self._producer.record(receive_time_ns - rx_ns)

        seq = msg.sequence
        if not seq:
            tracker.unsequenced += 1
            return SeqEvent.UNSEQUENCED, None
        code = msg.code
        run = msg.producer_run_id
        state = self._last_state
        if state is None or code != self._last_code or run != self._last_run:
            key = StreamKey(self.type_name, code, run)
            state = tracker.streams.get(key)
            self._last_code, self._last_run = code, run
            if state is None:
                self._last_state = tracker._new_stream(key, seq)
                return SeqEvent.FIRST, self._last_state
            self._last_state = state
        if seq == state.last_sequence + 1:  # StreamState.observe's first case, inline
            state.count += 1
            state.last_sequence = seq
            return SeqEvent.IN_ORDER, state
        return state.observe(seq), state
