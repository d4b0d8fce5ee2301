"""The Python consumer as users run it, with a time stamp where a record reaches the handler (`make bench-live`).

  --probe latency     the library (TxfConsumer) with a handler that only notes each
                      message's producer receive_time_ns and the time now: the
                      Python library with a no-op handler, producer receive -> handler
  --probe throughput  the same library, the handler counts and notes the time of the
                      first and the --max-messages-th call: records a second, decode
                      included
  --probe live-view   `txf-consume --output live` itself (its CLI, its view drawing in
                      the terminal), the view's handler methods noting the same two
                      times before they run
  --probe-out FILE    where the JSON result goes

Every other argument is txf-consume's (the same parser, defaults and checks).
Nothing else changes: the consume loop, frame decoding, the schema check and the
tracker run as shipped (the tracker's loss/duplicate counts are in the result).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from array import array
from typing import Any

from txf.v1 import BidAsk, Tick
from txf_consumer import BaseHandler, RecordMeta, TxfConsumer
from txf_consumer.cli import build_parser, options_from_args
from txf_consumer.cli import main as cli_main
from txf_consumer.consumer import install_signal_handlers
from txf_consumer.live import LiveView


class LatencyProbe(BaseHandler):
    """Producer receive and handler entry (epoch ns) of every message."""

    def __init__(self) -> None:
        self.receive_ns = array("q")
        self.handled_ns = array("q")

    def on_tick(self, tick: Tick, meta: RecordMeta) -> None:
        self.handled_ns.append(time.time_ns())
        self.receive_ns.append(tick.receive_time_ns)

    def on_bidask(self, bidask: BidAsk, meta: RecordMeta) -> None:
        self.handled_ns.append(time.time_ns())
        self.receive_ns.append(bidask.receive_time_ns)

    def result(self) -> dict[str, Any]:
        return {"receive_ns": self.receive_ns.tolist(), "handled_ns": self.handled_ns.tolist()}


class CountProbe(BaseHandler):
    """Counts calls; notes when the first and the `last`-th arrived."""

    def __init__(self, last: int) -> None:
        self.count = 0
        self.last = last
        self.first_s = 0.0
        self.last_s = 0.0

    def on_tick(self, tick: Tick, meta: RecordMeta) -> None:
        self._seen()

    def on_bidask(self, bidask: BidAsk, meta: RecordMeta) -> None:
        self._seen()

    def _seen(self) -> None:
        self.count += 1
        if self.count == 1:
            self.first_s = time.perf_counter()
        if self.count == self.last:
            self.last_s = time.perf_counter()


def library(mode: str, consumer_args: list[str]) -> dict[str, Any]:
    """TxfConsumer with a probe handler, options from txf-consume's own flags."""
    parser = build_parser()
    args = parser.parse_args(consumer_args)
    options = options_from_args(args, parser)
    handler: LatencyProbe | CountProbe
    if mode == "throughput":
        if not options.max_messages:
            parser.error("--probe throughput needs --max-messages")
        handler = CountProbe(options.max_messages)
    else:
        handler = LatencyProbe()
    consumer = TxfConsumer(options, handler)
    restore = install_signal_handlers(consumer)
    try:
        result = consumer.run()
    finally:
        restore()
    summary = result.summary()
    out: dict[str, Any] = {
        "stopReason": result.stop_reason,
        "messages": result.messages,
        "loss": summary["loss"],
        "duplicates": summary["duplicates"],
    }
    if isinstance(handler, CountProbe):
        seconds = handler.last_s - handler.first_s
        out.update(
            records=handler.count, seconds=seconds, records_per_s=(handler.count - 1) / seconds if seconds > 0 else None
        )
    else:
        out.update(handler.result())
    return out


def live_view(consumer_args: list[str]) -> dict[str, Any]:
    """`txf-consume` (give --output live), the live view's handler methods wrapped with the probe's."""
    probe = LatencyProbe()
    on_tick, on_bidask = LiveView.on_tick, LiveView.on_bidask

    def tick_then_view(self: LiveView, tick: Tick, meta: RecordMeta) -> None:
        probe.on_tick(tick, meta)
        on_tick(self, tick, meta)

    def bidask_then_view(self: LiveView, bidask: BidAsk, meta: RecordMeta) -> None:
        probe.on_bidask(bidask, meta)
        on_bidask(self, bidask, meta)

    LiveView.on_tick, LiveView.on_bidask = tick_then_view, bidask_then_view  # type: ignore[method-assign]
    code = cli_main(consumer_args)
    return {"exit": code, **probe.result()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=False)
    ap.add_argument("--probe", choices=("latency", "throughput", "live-view"), required=True)
    ap.add_argument("--probe-out", required=True)
    args, consumer_args = ap.parse_known_args()
    out = live_view(consumer_args) if args.probe == "live-view" else library(args.probe, consumer_args)
    with open(args.probe_out, "w", encoding="utf-8") as f:
        json.dump(out, f)
    return int(out.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
