"""One member of a consumer group, in its own process: the shipped txf_consumer library and a strategy.

    python group_member.py BOOTSTRAP REGISTRY_URL GROUP TOPIC OUT_FILE

The strategy writes one line per book it is given, `partition offset sequence producer_run_id
monotonic_ns` (CLOCK_MONOTONIC is one clock for every process of the machine),
with a plain write(2) before it returns: a line in OUT_FILE is a record the library handed over,
and the library stores the record's offset only after that (at-least-once, consumers/python/README.md).
So a SIGKILL loses no line of a record whose offset was committed. SIGTERM stops it cleanly (commit,
leave the group) and it prints the library's JSON summary on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time

from txf.v1 import BidAsk
from txf_consumer import BaseHandler, ConsumerOptions, RecordMeta, RegistrySettings, TxfConsumer
from txf_consumer.consumer import install_signal_handlers

#: None: the library's defaults, as `txf-consume` runs (a 10 s session timeout, cooperative rebalancing)
GROUP_PROPERTIES: dict[str, int] = {}


class RecordPlaces(BaseHandler):
    """Writes where each book came from and its sequence, one line each, unbuffered."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def on_bidask(self, bidask: BidAsk, meta: RecordMeta) -> None:
        line = f"{meta.partition} {meta.offset} {bidask.sequence} {bidask.producer_run_id} {time.monotonic_ns()}\n"
        os.write(self.fd, line.encode())


def main(argv: list[str]) -> int:
    bootstrap, registry_url, group, topic, out = argv
    options = ConsumerOptions(
        topics=[topic],
        types={topic: BidAsk},
        bootstrap=bootstrap,
        group=group,
        from_beginning=True,
        registry=RegistrySettings(url=registry_url),
        kafka_properties=dict(GROUP_PROPERTIES),
    )
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    consumer = TxfConsumer(options, RecordPlaces(fd))
    restore = install_signal_handlers(consumer)
    try:
        result = consumer.run()
    finally:
        restore()
        os.close(fd)
    print(json.dumps(result.summary()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
