"""The contract as the checker reads it: proto/ compiled by buf into its own pool, frames parsed by hand.

The generated bindings (gen/python) are the project's; a checker that decoded with them would share
their mistakes. So the messages are built from `buf build proto` (a FileDescriptorSet) into a pool
of the checker's own, and the Confluent frame (magic byte 0, a 4-byte schema id, the message-index
varints, the message) is parsed here, byte by byte.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ROOT = Path(__file__).resolve().parents[2]
#: the fields a capture run or the arbiter sets, not the exchange (cleared to compare quotes)
RUN_FIELDS = ("receive_time_ns", "sequence", "producer_run_id", "flags", "gap_start_ns")


class FrameError(ValueError):
    """Not a Confluent protobuf frame."""


def unframe(value: bytes) -> bytes:
    """The message bytes of a Confluent wire-format frame."""
    if len(value) < 6 or value[0] != 0:
        raise FrameError(f"not a Confluent frame: {value[:8]!r}")
    pos = 5
    count, pos = _varint(value, pos)  # the message-index array: zig-zag count, then the indexes
    count = (count >> 1) ^ -(count & 1)
    for _ in range(count):
        _, pos = _varint(value, pos)
    return value[pos:]


def _varint(b: bytes, pos: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        if pos >= len(b):
            raise FrameError("truncated varint in the frame header")
        byte = b[pos]
        pos += 1
        out |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return out, pos
        shift += 7


@dataclass
class Contract:
    """The txf.v1 message classes of proto/ as compiled by buf, in a pool of the checker's own."""

    classes: dict[str, Any]

    @classmethod
    def from_proto(cls, buf: str | None = None) -> Contract:
        buf = buf or str(ROOT / ".venv" / "bin" / "buf")
        image = subprocess.run(
            [buf, "build", str(ROOT / "proto"), "--exclude-source-info", "-o", "-"],
            capture_output=True,
            check=True,
        ).stdout
        fds = descriptor_pb2.FileDescriptorSet.FromString(image)
        pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            pool.Add(f)
        classes = {}
        for f in fds.file:
            for m in f.message_type:
                full = f"{f.package}.{m.name}"
                classes[full] = message_factory.GetMessageClass(pool.FindMessageTypeByName(full))
        return cls(classes)

    def decode(self, full_name: str, value: bytes) -> Any:
        return self.classes[full_name].FromString(unframe(value))

    def identity(self, msg: Any) -> bytes:
        """What the exchange said: the message without the run's fields, serialized deterministically."""
        copy = type(msg)()
        copy.CopyFrom(msg)
        for name in RUN_FIELDS:
            if name in copy.DESCRIPTOR.fields_by_name:
                copy.ClearField(name)
        return bytes(copy.SerializeToString(deterministic=True))
