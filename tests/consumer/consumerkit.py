"""Helpers shared by tests/consumer (plain functions; the `stack`/`new_topic` fixtures come from tests/conftest.py).

Importing this module puts consumers/python on sys.path, so tests can import
`txf_consumer` before it is installed as part of the project.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CONSUMER_SRC = REPO / "consumers" / "python"
if str(CONSUMER_SRC) not in sys.path:
    sys.path.insert(0, str(CONSUMER_SRC))

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402
from google.protobuf.message import Message  # noqa: E402

from txf.v1 import BidAsk, Tick  # noqa: E402

RUN_ID = 0xC0FFEE0123456789
BASE_US = 1_763_947_800_000_000


def unique(prefix: str) -> str:
    return f"ct-{prefix}-{uuid.uuid4().hex[:10]}"


def serializer_conf() -> dict[str, Any]:
    """The project's serializer settings with auto-registration on (TOPIC subjects)."""
    return {
        "auto.register.schemas": True,
        "use.latest.version": False,
        "normalize.schemas": False,
        "subject.name.strategy.type": "TOPIC",
    }


def tick(seq: int, run_id: int = RUN_ID, code: str = "TXFK6", **extra: Any) -> Tick:
    """A realistic Tick of stream (code, run_id) with sequence `seq` (values vary with seq)."""
    t_us = BASE_US + seq * 1000
    fields: dict[str, Any] = dict(
        code=code,
        timestamp_ms=t_us // 1000,
        close=234_560_000 + seq * 10_000,
        volume=1 + seq % 5,
        tick_type=1,
        total_volume=40_000 + seq,
        underlying_price=233_871_234,
        exchange_time_us=t_us,
        receive_time_ns=t_us * 1000 + 50_000_000,
        sequence=seq,
        producer_run_id=run_id,
        chg_type=2,
        price_chg=-1_250_000 if seq % 2 else 1_250_000,
        pct_chg=5356,
    )
    fields.update(extra)
    return Tick(**fields)


def bidask(seq: int, run_id: int = RUN_ID, code: str = "TXFK6", **extra: Any) -> BidAsk:
    """A realistic five-level BidAsk of stream (code, run_id) with sequence `seq`."""
    t_us = BASE_US + seq * 700
    p = 234_550_000 + (seq % 7) * 10_000
    fields: dict[str, Any] = dict(
        code=code,
        timestamp_ms=t_us // 1000,
        bid_total_vol=61,
        ask_total_vol=57,
        bid_price=[p - i * 10_000 for i in range(5)],
        bid_volume=[9, 14, 11, 13, seq % 20],
        diff_bid_vol=[-2, 0, 3, -1, 1],
        ask_price=[p + (i + 1) * 10_000 for i in range(5)],
        ask_volume=[4, 12, 15, 10, 16],
        diff_ask_vol=[1, -3, 0, 0, -16],
        exchange_time_us=t_us,
        receive_time_ns=t_us * 1000 + 30_000_000,
        sequence=seq,
        producer_run_id=run_id,
        underlying_price=233_871_234,
        first_derived_bid_price=p - 10_000,
        first_derived_ask_price=p + 20_000,
    )
    fields.update(extra)
    return BidAsk(**fields)


class SerializingSender:
    """ProtobufSerializer (auto.register, TOPIC strategy) + an idempotent Producer, as the project produces."""

    def __init__(self, stack: Any) -> None:
        self.registry = SchemaRegistryClient({"url": stack.registry_url, "timeout": 10})
        self.producer = Producer(
            {"bootstrap.servers": stack.bootstrap_servers, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
        )
        self._serializers: dict[type[Message], ProtobufSerializer] = {}
        self.schema_ids: dict[str, int] = {}
        self.errors: list[Any] = []

    def frame(self, topic: str, msg: Message) -> bytes:
        cls = type(msg)
        ser = self._serializers.get(cls)
        if ser is None:
            ser = self._serializers[cls] = ProtobufSerializer(cls, self.registry, serializer_conf())
        value = ser(msg, SerializationContext(topic, MessageField.VALUE))
        assert value is not None
        self.schema_ids[topic] = int.from_bytes(value[1:5], "big")
        return value

    def send(self, topic: str, msgs: Iterable[Message]) -> None:
        for m in msgs:
            self.send_raw(topic, self.frame(topic, m), key=getattr(m, "code", "").encode())

    def send_raw(self, topic: str, value: bytes | None, key: bytes | None = b"TXFK6") -> None:
        self.producer.produce(topic, value=value, key=key, on_delivery=self._delivered)

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self.errors.append(err)

    def flush(self) -> None:
        assert self.producer.flush(30) == 0, "records still queued after 30 s"
        assert self.errors == [], self.errors


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(CONSUMER_SRC), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("TXF_REGISTRY_BASIC_AUTH", None)
    return env


def run_cli(args: Sequence[str], timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    """`python -m txf_consumer ARGS` (= txf-consume), bounded by `timeout`."""
    return subprocess.run(
        [sys.executable, "-m", "txf_consumer", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=cli_env(),
        cwd=str(REPO),
    )
