"""The golden vectors decode and re-encode identically in both Python bindings."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import betterproto
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

import txf.v1
import txf_betterproto.v1

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "txf_v1.json").read_text("utf-8"))["vectors"]
# Every message of the contract, from the generated package (a new message needs vectors: see below).
PB2: dict[str, type[Message]] = {
    cls.DESCRIPTOR.full_name: cls
    for cls in (getattr(txf.v1, name) for name in txf.v1.__all__)
    if isinstance(cls, type) and issubclass(cls, Message)
}
BETTER = {full_name: getattr(txf_betterproto.v1, full_name.rsplit(".", 1)[1]) for full_name in PB2}
ids = [v["name"] for v in VECTORS]


def test_vectors_cover_what_the_contract_promises() -> None:
    """Every message, every enum value, every record flag, int64 extremes and a non-ASCII code are in the set;
    records of contract 1.0.0 (no flags) beside 1.1.0's."""
    seen = {v["type"] for v in VECTORS}
    assert seen == set(PB2) and {"txf.v1.Tick", "txf.v1.BidAsk", "txf.v1.Gap"} <= seen
    flags = {v["json"].get("flags", 0) for v in VECTORS if "flags" in v["json"]}
    for bit in txf.v1.RecordFlag.values():
        assert bit == 0 or any(f & bit for f in flags), f"no vector carries RecordFlag {bit}"
    assert any(f & ~sum(txf.v1.RecordFlag.values()) for f in flags), "a flag bit from a later contract"
    assert any(v["type"] != "txf.v1.Gap" and "flags" not in v["json"] for v in VECTORS), "1.0.0 records"
    tick_types = {v["json"].get("tickType", "TICK_TYPE_UNSPECIFIED") for v in VECTORS if v["type"] == "txf.v1.Tick"}
    chg_types = {v["json"].get("chgType", "CHG_TYPE_UNSPECIFIED") for v in VECTORS if v["type"] == "txf.v1.Tick"}
    assert set(txf.v1.TickType.keys()) <= tick_types
    assert set(txf.v1.ChgType.keys()) <= chg_types
    blob = json.dumps(VECTORS)
    assert str(2**63 - 1) in blob and str(-(2**63)) in blob and str(2**64 - 1) in blob
    assert any(not v["json"].get("code", "").isascii() for v in VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=ids)
def test_pb2_decodes_to_expected_json_and_reencodes(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    msg = PB2[vector["type"]].FromString(raw)
    assert json_format.MessageToDict(msg) == vector["json"]
    assert msg.SerializeToString() == raw
    assert json_format.ParseDict(vector["json"], PB2[vector["type"]]()).SerializeToString() == raw


ENUMS = {"tick_type": txf.v1.TickType, "chg_type": txf.v1.ChgType}


def _betterproto_canonical(msg: betterproto.Message) -> dict[str, Any]:
    """Canonical proto3 JSON built from a betterproto message's fields.

    betterproto's own to_dict() is not canonical (enum names lose their prefix)
    and raises on enum numbers it does not know, so the fields are walked here.
    """
    out: dict[str, Any] = {}
    for field in dataclasses.fields(msg):
        value = getattr(msg, field.name)
        if value in (0, "", False, []):
            continue
        proto_type = field.metadata["betterproto"].proto_type
        if proto_type == "enum":
            number = int(value)
            enum = ENUMS[field.name]
            value = enum.Name(number) if number in enum.values() else number
        elif proto_type in ("int64", "sint64", "uint64", "fixed64"):
            value = [str(v) for v in value] if isinstance(value, list) else str(value)
        out[betterproto.casing.camel_case(field.name)] = value
    return out


@pytest.mark.parametrize("vector", VECTORS, ids=ids)
def test_betterproto_decodes_to_expected_json_and_reencodes(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    msg = BETTER[vector["type"]]().parse(raw)
    assert _betterproto_canonical(msg) == vector["json"]
    assert bytes(msg) == raw
