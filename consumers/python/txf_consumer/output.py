"""What `txf-consume` prints: JSON lines, the end-of-run summary, price text.

The JSON line is the cross-language format every txfstream consumer (Go, TS,
Java, Python) prints, so their outputs can be diffed line by line:
`{"topic":..,"partition":..,"offset":..,"schemaId":..,"type":"txf.v1.Tick","message":{..}}`
with compact separators, non-ASCII kept as UTF-8, and `message` the canonical
proto3 JSON of the message (google.protobuf.json_format.MessageToDict defaults:
lowerCamelCase names, 64-bit integers as strings, enums by name, defaults omitted).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, BinaryIO

from google.protobuf import json_format
from google.protobuf.message import Message

from txf_consumer.handler import BaseHandler, RecordMeta
from txf_consumer.tracker import SeqEvent, StreamState

PRICE_SCALE_EXP = -4  # prices are points x10000 (common.proto)


def format_price(scaled: int) -> str:
    """Exact decimal text of a x10000 price: 234565000 -> '23456.5', 0 -> '0', -1 -> '-0.0001'."""
    text = format(Decimal(scaled).scaleb(PRICE_SCALE_EXP), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def taipei_clock_text(exchange_time_us: int) -> str:
    """HH:MM:SS.mmm in Taipei time (UTC+8, no DST) of an exchange timestamp; '-' when unset."""
    if not exchange_time_us:
        return "-"
    ms = (exchange_time_us // 1000 + 8 * 3600 * 1000) % 86_400_000
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def json_line(msg: Message, meta: RecordMeta) -> str:
    """The cross-language JSON line of one message (no newline)."""
    return json.dumps(
        {
            "topic": meta.topic,
            "partition": meta.partition,
            "offset": meta.offset,
            "schemaId": meta.schema_id,
            "type": meta.type_name,
            "message": json_format.MessageToDict(msg),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


class JsonlWriter(BaseHandler):
    """Handler printing one JSON line per message, whatever its type (on_message), to a binary stream.

    A closed pipe (`txf-consume ... | head`) calls `on_closed` once (the CLI stops
    the consumer) and drops further lines instead of failing the handler.
    """

    def __init__(self, out: BinaryIO, on_closed: Callable[[], None] | None = None) -> None:
        self._out = out
        self._on_closed = on_closed
        self.closed = False
        self.lines = 0

    def on_message(self, msg: Message, meta: RecordMeta) -> None:
        """Every message type (Tick, BidAsk, the ledger's Gap, ...) as one line."""
        if self.closed:
            return
        try:
            self._out.write(json_line(msg, meta).encode() + b"\n")
            self.lines += 1
        except BrokenPipeError:
            self._closed()

    def flush(self) -> None:
        """Push buffered lines out (called after every poll batch)."""
        if self.closed:
            return
        try:
            self._out.flush()
        except BrokenPipeError:
            self._closed()

    def _closed(self) -> None:
        self.closed = True
        if self._on_closed is not None:
            self._on_closed()


def summary_json(summary: dict[str, Any]) -> str:
    """The summary as one compact JSON line."""
    return json.dumps(summary, separators=(",", ":"), ensure_ascii=False)


def summary_text(summary: dict[str, Any]) -> str:
    """The summary as a short human-readable table (live mode's last screen)."""
    lines = [
        f"txf-consume: stopped ({summary.get('stopReason', '?')}): {summary.get('records', 0)} records, "
        f"{summary['messages']} messages, {summary.get('malformed', 0)} malformed; "
        f"loss {summary['loss']} in {summary['gaps']} gap(s), duplicates {summary['duplicates']}, "
        f"reordered {summary['reordered']}, producer restarts {summary['producerRestarts']}",
    ]
    by_type = ", ".join(f"{t} {n}" for t, n in summary["byType"].items())
    if by_type:
        lines.append(f"  by type: {by_type}")
    for s in summary["streams"]:
        lines.append(
            f"  {s['type']:<14} {s['code']:<8} run {s['producerRunId']:<20} seq {s['firstSequence']}.."
            f"{s['lastSequence']}  count {s['count']}  lost {s['lost']}  dup {s['duplicates']}"
        )
    for t, pair in summary["latencyMs"].items():
        for label, key in (("exchange->consumer", "exchangeToConsumer"), ("producer->consumer", "producerToConsumer")):
            h = pair[key]
            if h["count"]:
                lines.append(f"  {t:<14} {label:<19} ms  " + latency_cells(h))
    return "\n".join(lines)


def latency_cells(h: dict[str, Any]) -> str:
    """'p50 1.2  p90 ...  max 9.9' of one latency summary (ms)."""
    return "  ".join(f"{k} {_ms(h[k])}" for k in ("p50", "p90", "p99", "p99.9", "max"))


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def describe_event(event: SeqEvent, state: StreamState, meta: RecordMeta, seq: int) -> str | None:
    """One line for a loss/duplicate/reorder/restart event, None for the quiet ones."""
    k = state.key
    where = f"{meta.topic}[{meta.partition}]@{meta.offset}"
    stream = f"{k.type_name} {k.code} run {k.producer_run_id}"
    if event is SeqEvent.GAP:
        first, size = (
            state.gap_events[-1]
            if state.gap_events and state.gap_events[-1][0] + state.gap_events[-1][1] == seq
            else (None, None)
        )
        span = f" (sequence {first}..{seq - 1})" if first is not None else ""
        return f"gap in {stream}: {size if size is not None else '?'} missing{span} before {seq} at {where}"
    if event is SeqEvent.DUPLICATE:
        return f"duplicate in {stream}: sequence {seq} again at {where}"
    if event is SeqEvent.LATE:
        return f"late message in {stream}: sequence {seq} after {state.last_sequence} at {where}"
    if event is SeqEvent.FIRST and state.restart_of is not None:
        return (
            f"producer restart: {k.type_name} {k.code} run {state.restart_of} -> {k.producer_run_id} "
            f"(starts at sequence {seq}) at {where}"
        )
    return None
