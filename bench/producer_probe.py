"""The shipped producer (`txf-producer run ...`) noting when the broker acknowledged each record.

For `make bench-live`'s consumer phases: the producer runs as users run it (the
same CLI, settings from the environment), in its own process; the only addition
is bench/ack_clock.py's timestamp in the delivery callback. At exit it writes
[[receive_time_ns, ack_ns], ...] to --ack-out, the baseline the consumers'
hand-over latency is set against: producer receive -> broker ack of the same records.

    python bench/producer_probe.py --ack-out FILE -- run --source sim --rate 353 ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ack_clock import AckClock

from txf_producer.cli import main as producer_main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ack-out", required=True)
    ap.add_argument("producer_args", nargs=argparse.REMAINDER, help="after --: txf-producer's arguments")
    args = ap.parse_args()
    producer_args = args.producer_args[1:] if args.producer_args[:1] == ["--"] else args.producer_args
    clock = AckClock()
    code = producer_main(producer_args)
    with open(args.ack_out, "w", encoding="utf-8") as f:
        json.dump(clock.pairs(os.environ["TXF_TICK_TOPIC"]), f)
    return code


if __name__ == "__main__":
    sys.exit(main())
