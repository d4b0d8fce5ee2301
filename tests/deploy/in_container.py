"""Probes run INSIDE the test container's network namespace (Kafka, /metrics live only there).

    python in_container.py offsets TOPIC...            {"topic": end offset, ...}
    python in_container.py readback TOPIC [TOPIC...]    per topic and producer run: count, sequences
    python in_container.py http URL                     {"status": 200, "body": "..."}

The harness runs it through `nsenter` with the checkout's venv (containerkit.ProducerContainer.probe);
it prints one JSON document on stdout. Kafka is the container's own (TXF_KAFKA_BOOTSTRAP, default
127.0.0.1:19092, the local stack's default port).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from txf.v1 import BidAsk, Tick

BOOTSTRAP = os.environ.get("TXF_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def _consumer() -> Consumer:
    return Consumer(
        {"bootstrap.servers": BOOTSTRAP, "group.id": f"probe-{uuid.uuid4().hex}", "enable.auto.commit": False}
    )


def offsets(topics: list[str]) -> dict[str, int]:
    c = _consumer()
    try:
        return {t: c.get_watermark_offsets(TopicPartition(t, 0), timeout=10, cached=False)[1] for t in topics}
    finally:
        c.close()


def readback(topics: list[str]) -> dict[str, Any]:
    """Every record of each topic (partition 0), grouped by producer run: are sequences 1..n complete?"""
    out: dict[str, Any] = {}
    ends = offsets(topics)
    for topic in topics:
        cls = BidAsk if "bidask" in topic else Tick
        c = _consumer()
        c.assign([TopicPartition(topic, 0, 0)])
        runs: dict[str, list[int]] = {}
        seen = 0
        while seen < ends[topic]:
            batch = c.consume(5000, timeout=10)
            if not batch:
                break
            for m in batch:
                if m.error() is not None:
                    continue
                seen += 1
                msg = cls.FromString(m.value()[6:])  # magic byte, schema id, message index [0]
                runs.setdefault(f"{msg.producer_run_id:016x}", []).append(msg.sequence)
        c.close()
        out[topic] = {
            "end": ends[topic],
            "read": seen,
            "runs": {
                run: {
                    "count": len(seqs),
                    "distinct": len(set(seqs)),
                    "max": max(seqs),
                    "complete": set(seqs) == set(range(1, max(seqs) + 1)),
                }
                for run, seqs in runs.items()
            },
        }
    return out


def http(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback test probe
            return {"status": resp.status, "body": resp.read().decode()}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "body": exc.read().decode()}
    except OSError as exc:
        return {"status": 0, "body": str(exc)}


def main(argv: list[str]) -> int:
    command, args = argv[0], argv[1:]
    result: Any
    if command == "offsets":
        result = offsets(args)
    elif command == "readback":
        result = readback(args)
    elif command == "http":
        result = http(args[0])
    else:
        print(f"in_container.py: unknown command {command}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
