"""The arbitration of one leg record: write it to its canonical topic, drop it as a second copy, or
dead-letter it. Pure (no Kafka), so every rule is tested record by record.

For each record of a leg topic:
  1. It must be a Confluent frame (magic 0) with a schema id the leg topic's subject holds and
     message index 0, whose payload parses as the topic's message: else a dead letter naming why
     (the arbiter never stops on data).
  2. Its identity (identity.py) is looked up in its stream's window (window.py): seen before, it is
     a duplicate (counted for the leg that was slower); older than the window, it cannot be judged:
     it is dead-lettered as too late and, since a quote a leg captured is then not written, the
     stretch it covers goes on the ledger as a txf.v1.Gap (whatever is not written is a Gap);
     otherwise it is new.
  3. A new quote goes out at once, as the first leg delivered it, with the canonical stream's own
     run id and sequence (so readers' exact loss detection keeps working), its leg's receive time,
     RECORD_FLAG_LATE when its stream already carries a later quote, and after a capture hole
     (gaps.py) RECORD_FLAG_GAP_BEFORE with gap_start_ns, plus a txf.v1.Gap on the ledger topic. A hole
     that runs into its session's close is ledgered at the close (check_gaps, by the market's clock),
     not with the next session's first quote.
Everything a restarted arbiter needs to go on exactly where this one stopped is exported per leg
(repeat_state) for the service to store with the leg offsets it commits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from txf.v1 import BidAsk, Gap, RecordFlag, Tick
from txf_arbiter.gaps import GapDetector, Hole
from txf_arbiter.identity import RepeatCounter, numbered, quote_key
from txf_arbiter.window import SeenWindow

FRAME_LEN = 6  # magic byte, 4-byte schema id, message index 0: every txf.v1 record's header
Quote = Tick | BidAsk  # what a leg carries


@dataclass(frozen=True)
class LegRoute:
    """Where a leg topic's records go: their leg, message type and canonical topic."""

    leg: str
    message: type[Tick] | type[BidAsk]
    canonical: str


@dataclass(frozen=True)
class Output:
    """A record to produce."""

    topic: str
    key: bytes
    value: bytes
    receive_ns: int = 0  # a canonical quote's leg receive time (arbitration latency is measured from it)
    exchange_ns: int = 0  # a canonical quote's exchange time (where the read-back after a restart starts)


@dataclass
class LegStats:
    """What one leg contributed; read by the metrics."""

    records: int = 0
    first_seen: int = 0  # quotes this leg delivered first (emitted from it)
    duplicates: int = 0  # quotes another leg had delivered before
    dead_letters: int = 0
    too_late: int = 0
    last_receive_ns: int = 0  # the leg's receive stamp of its newest record
    run_id: int = 0  # the leg producer's run, as its records say


@dataclass
class StreamState:
    """One canonical stream (message type, contract code) of this arbiter run."""

    window: SeenWindow
    sequence: int = 0
    newest_exchange_ns: int = 0
    pending_gap: tuple[Hole, str, bool] | None = None  # a hole before the next record, its cause, ledgered yet


@dataclass
class Stats:
    emitted: int = 0
    late: int = 0
    holes: int = 0
    legs: dict[str, LegStats] = field(default_factory=dict)


def _exchange_ns(msg: Quote) -> int:
    return int(msg.exchange_time_us) * 1000


class ArbiterCore:
    """Arbitrates leg records into canonical records; see the module doc."""

    def __init__(
        self,
        routes: dict[str, LegRoute],
        headers: dict[str, bytes],
        leg_schema_ids: dict[str, set[int]],
        *,
        run_id: int,
        window_s: float,
        gaps: GapDetector,
        ledger_topic: str,
        dead_letter_topic: str,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.routes = routes
        self.headers = headers  # canonical topic (and ledger) -> frame header
        self.leg_schema_ids = leg_schema_ids  # leg topic -> schema ids its subject holds
        self.run_id = run_id
        self.window_ns = int(window_s * 1e9)
        self.gaps = gaps
        self.ledger_topic = ledger_topic
        self.dead_letter_topic = dead_letter_topic
        self.clock = clock
        self.streams: dict[tuple[str, str], StreamState] = {}
        self._repeats: dict[tuple[str, str], RepeatCounter] = {}  # (leg topic, code) -> its exact repeats
        # (leg topic, code) -> [first, last exchange ns, count, message]: quotes beyond the window, to ledger
        self._late: dict[tuple[str, str], list[Any]] = {}
        self.stats = Stats(legs={route.leg: LegStats() for route in routes.values()})

    def _stream(self, msg: Quote) -> StreamState:
        key = (msg.DESCRIPTOR.full_name, msg.code)
        state = self.streams.get(key)
        if state is None:
            state = self.streams[key] = StreamState(SeenWindow(self.window_ns))
        return state

    # --- state from the canonical topics (a new active arbiter) -------------------------------------

    def remember(self, msg: Quote) -> None:
        """A record already on a canonical topic (rebuild): its quote is not new any more."""
        exchange_ns = _exchange_ns(msg)
        state = self._stream(msg)
        base = quote_key(msg)
        key, occurrence = base, 0
        while key in state.window:  # an exact repeat: the copies on the topic take the next free number
            occurrence += 1
            key = numbered(base, occurrence)
        state.window.add(key, exchange_ns)
        state.newest_exchange_ns = max(state.newest_exchange_ns, exchange_ns)
        self.gaps.last_ns = max(self.gaps.last_ns, exchange_ns)

    # --- one leg record ------------------------------------------------------------------------------

    def take(self, leg_topic: str, value: bytes | None, where: str = "") -> list[Output]:
        """Outputs for one record of `leg_topic` (`where`: topic[partition]@offset, for dead letters)."""
        return self.take_parsed(leg_topic, self.parse(leg_topic, value), value, where)

    def parse(self, leg_topic: str, value: bytes | None) -> Quote | str:
        """The leg record's message, or why it is not one."""
        return self._parse(leg_topic, self.routes[leg_topic], value)

    def take_parsed(
        self, leg_topic: str, msg_or_reason: Quote | str, value: bytes | None, where: str = ""
    ) -> list[Output]:
        """`take` of a record already parsed (`parse`): the service orders leg records by exchange time first."""
        route = self.routes[leg_topic]
        leg = self.stats.legs[route.leg]
        leg.records += 1
        if isinstance(msg_or_reason, str):
            leg.dead_letters += 1
            return [self._dead_letter(route, where, msg_or_reason, value)]
        msg = msg_or_reason
        run_id = int(msg.producer_run_id)
        restarted = leg.run_id not in (0, run_id)
        leg.last_receive_ns = int(msg.receive_time_ns)
        leg.run_id = run_id
        state = self._stream(msg)
        exchange_ns = _exchange_ns(msg)
        if state.window.too_late(exchange_ns):
            leg.too_late += 1
            leg.dead_letters += 1
            late_s = (state.window.newest_ns - exchange_ns) / 1e9
            reason = (
                f"arrived {late_s:.1f} s of exchange time after newer quotes of its stream, beyond the "
                "arbiter's window: cannot tell whether another leg delivered it (TXF_ARBITER_WINDOW_S)"
            )
            span = self._late.setdefault((leg_topic, msg.code), [exchange_ns, exchange_ns, 0, msg.DESCRIPTOR.full_name])
            span[0], span[1], span[2] = min(span[0], exchange_ns), max(span[1], exchange_ns), span[2] + 1
            return [self._dead_letter(route, where, reason, value)]
        repeats = self._repeats.get((leg_topic, msg.code))
        if repeats is None:
            repeats = self._repeats[(leg_topic, msg.code)] = RepeatCounter()
        key = repeats.key(quote_key(msg))
        if key in state.window:
            leg.duplicates += 1
            return []
        state.window.add(key, exchange_ns)
        leg.first_seen += 1
        outputs = self._late_gap(leg_topic, msg.code)
        hole = self.gaps.observe(exchange_ns)
        if hole is not None:
            cause = f"leg {route.leg}'s producer restarted during it (run {run_id:016x})" if restarted else ""
            self._mark(hole, cause)
        return outputs + self._emit(route, msg, state)

    def check_gaps(self, now_exchange_ns: int) -> list[Output]:
        """The market's clock (`now_exchange_ns`: exchange time, never the wall's) passed a session's close
        with a hole running into it: its Gap records go to the ledger now, one per stream, and every
        stream's next record carries GAP_BEFORE. Also ledgers the too-late stretches held so far."""
        outputs = [o for leg_topic, code in list(self._late) for o in self._late_gap(leg_topic, code)]
        hole = self.gaps.check(now_exchange_ns)
        if hole is not None:
            cause = "nothing was captured again before the session closed"
            self._mark(hole, cause, ledgered=True)
            for name, code in self.streams:
                outputs.append(self._ledger_record(hole, cause, name, code, 0))
        return outputs

    def _mark(self, hole: Hole, cause: str, ledgered: bool = False) -> None:
        self.stats.holes += 1
        for state in self.streams.values():
            state.pending_gap = (hole, cause, ledgered)

    def _late_gap(self, leg_topic: str, code: str) -> list[Output]:
        """The Gap of quotes a leg captured but delivered beyond the window (not written), once they end."""
        span = self._late.pop((leg_topic, code), None)
        if span is None:
            return []
        start, end, count, name = span
        self.stats.holes += 1
        leg = self.routes[leg_topic].leg
        cause = (
            f"{count} quote(s) of leg {leg} arrived beyond the window (TXF_ARBITER_WINDOW_S): dead-lettered, "
            "not written; whichever of them no other leg delivered are missing from the canonical topics"
        )
        return [self._ledger_record(Hole(start, end, False), cause, name, code, 0)]

    # --- what a restarted arbiter needs -------------------------------------------------------------

    def repeat_state(self, leg_topic: str) -> dict[str, list[Any]]:
        """Per contract code, the leg's exact-repeat counter (the last identity's hex, its count)."""
        return {
            code: list(counter.state())
            for (topic, code), counter in self._repeats.items()
            if topic == leg_topic and counter.state()[0]
        }

    def restore_repeats(self, leg_topic: str, state: dict[str, list[Any]]) -> None:
        """Go on numbering a leg's exact repeats where the run that committed its offset left off."""
        for code, (last_hex, count) in state.items():
            counter = self._repeats[(leg_topic, code)] = RepeatCounter()
            counter.restore(bytes.fromhex(last_hex), int(count))

    def remember_gap(self, gap: Gap) -> None:
        """A Gap already on the ledger (rebuild): the hole it records is not reported again."""
        self.gaps.already_reported(int(gap.start_ns))

    # --- internals -----------------------------------------------------------------------------------

    def _parse(self, leg_topic: str, route: LegRoute, value: bytes | None) -> Quote | str:
        """The leg record's message, or why it is not one."""
        if value is None:
            return "null value (tombstone): not a txf.v1 record"
        if len(value) < FRAME_LEN or value[0] != 0:
            return f"not a Confluent frame (magic byte {value[:1].hex() or 'none'}, {len(value)} bytes)"
        schema_id = int.from_bytes(value[1:5], "big")
        known = self.leg_schema_ids.get(leg_topic, set())
        if schema_id not in known:
            return (
                f"schema id {schema_id} is not one the subject {leg_topic}-value holds ({sorted(known)}): "
                "a foreign writer on a leg topic"
            )
        if value[5] != 0:
            return f"message index byte {value[5]} is not 0: not {route.message.DESCRIPTOR.full_name}"
        try:
            return route.message.FromString(value[FRAME_LEN:])
        except DecodeError as exc:
            return f"payload is not a {route.message.DESCRIPTOR.full_name}: {exc}"

    def _emit(self, route: LegRoute, msg: Quote, state: StreamState) -> list[Output]:
        exchange_ns = _exchange_ns(msg)
        flags = 0
        if exchange_ns < state.newest_exchange_ns:
            flags |= RecordFlag.RECORD_FLAG_LATE
            self.stats.late += 1
        state.newest_exchange_ns = max(state.newest_exchange_ns, exchange_ns)
        pending, state.pending_gap = state.pending_gap, None
        if pending is not None:
            flags |= RecordFlag.RECORD_FLAG_GAP_BEFORE
            msg.gap_start_ns = pending[0].start_ns
        state.sequence += 1
        msg.sequence = state.sequence
        msg.producer_run_id = self.run_id
        msg.flags = flags
        code = str(msg.code)
        value = self.headers[route.canonical] + msg.SerializeToString()
        outputs = [Output(route.canonical, code.encode(), value, int(msg.receive_time_ns), exchange_ns)]
        self.stats.emitted += 1
        if pending is not None and not pending[2]:  # not ledgered yet (a hole at a close was, at the close)
            outputs.append(self._ledger_record(pending[0], pending[1], msg.DESCRIPTOR.full_name, code, state.sequence))
        return outputs

    def _ledger_record(self, hole: Hole, cause: str, name: str, code: str, sequence: int) -> Output:
        gap = Gap(
            message_type=name,
            code=code,
            start_ns=hole.start_ns,
            end_ns=hole.end_ns,
            legs_down=sorted(self.stats.legs),
            cause=cause,
            backfillable=name == "txf.v1.Tick",
            first_sequence_after=sequence,
            arbiter_run_id=self.run_id,
            detected_ns=self.clock(),
        )
        return Output(self.ledger_topic, code.encode(), self.headers[self.ledger_topic] + gap.SerializeToString())

    def _dead_letter(self, route: LegRoute, where: str, reason: str, value: bytes | None) -> Output:
        record = {
            "source": "txf-arbiter",
            "leg": route.leg,
            "record": where,
            "reason": reason,
            "message_type": route.message.DESCRIPTOR.full_name,
            "arbiter_run_id": self.run_id,
            "value_hex": (value or b"")[:512].hex(),
        }
        return Output(self.dead_letter_topic, route.leg.encode(), json.dumps(record).encode())
