"""The Python library as a strategy uses it, for `make bench-live`: TxfConsumer with a handler that does nothing.

Takes txf-consume's own flags (the same ConsumerOptions, defaults and checks),
plus:

  --probe latency     the handler notes, on entry, the producer's receive_time_ns
                      and the time now (two appends): producer receive -> handler
  --probe throughput  the handler counts, and notes the time of the first and the
                      --max-messages-th call: records a second, decode included
  --probe-out FILE    where the JSON result goes

Everything else is the library unchanged: the consume loop, frame decoding, the
schema check, the tracker (its loss/duplicate summary is in the result too).
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
from txf_consumer.consumer import install_signal_handlers


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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.prog = "python_lib_probe.py"
    parser.add_argument("--probe", choices=("latency", "throughput"), required=True)
    parser.add_argument("--probe-out", required=True)
    args = parser.parse_args(argv)
    options = options_from_args(args, parser)
    handler: LatencyProbe | CountProbe
    if args.probe == "throughput":
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
    out: dict[str, Any] = {"stopReason": result.stop_reason, "messages": result.messages,
                           "loss": result.summary()["loss"], "duplicates": result.summary()["duplicates"]}
    if isinstance(handler, CountProbe):
        seconds = handler.last_s - handler.first_s
        out.update(records=handler.count, seconds=seconds,
                   records_per_s=(handler.count - 1) / seconds if seconds > 0 else None)
    else:
        out.update(receive_ns=handler.receive_ns.tolist(), handled_ns=handler.handled_ns.tolist())
    with open(args.probe_out, "w", encoding="utf-8") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
