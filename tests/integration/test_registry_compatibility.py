"""What the registry's Confluent API enforces for protobuf schemas (measured facts behind stack/README.md).

Schemas go in as the serializer sends them: a base64 FileDescriptorProto plus references.
"""

from __future__ import annotations

import base64
import importlib

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor_pb2 import FieldDescriptorProto
from itkit import expected_references, file_descriptor_proto, http, subject_path, unique

Tick = importlib.import_module("txf.v1.tick_pb2").Tick


def _b64(fdp: descriptor_pb2.FileDescriptorProto) -> str:
    return base64.b64encode(fdp.SerializeToString()).decode()


def _refs(cls) -> list[dict]:
    return [{"name": r, "subject": r, "version": 1} for r in expected_references(cls)]


def _body(fdp, refs) -> dict:
    return {"schemaType": "PROTOBUF", "schema": _b64(fdp), **({"references": refs} if refs else {})}


def _int64_field(fdp) -> FieldDescriptorProto:
    return next(
        f
        for f in fdp.message_type[0].field
        if f.type == FieldDescriptorProto.TYPE_INT64 and f.label != FieldDescriptorProto.LABEL_REPEATED
    )


def _change_type(fdp):
    _int64_field(fdp).type = FieldDescriptorProto.TYPE_STRING


def _remove_field(fdp):
    gone = _int64_field(fdp).name
    keep = [f for f in fdp.message_type[0].field if f.name != gone]
    del fdp.message_type[0].field[:]
    fdp.message_type[0].field.extend(keep)


def _rename_message(fdp):
    fdp.message_type[0].name += "Renamed"


def _renumber_field(fdp):
    _int64_field(fdp).number = 999


def _rename_field(fdp):  # wire compatible, but Apicurio's protobuf rule reports it
    f = _int64_field(fdp)
    f.name, f.json_name = f.name + "_renamed", f.json_name + "Renamed"


def _add_field(fdp):
    fdp.message_type[0].field.add(
        name="added_by_test",
        number=998,
        type=FieldDescriptorProto.TYPE_INT64,
        label=FieldDescriptorProto.LABEL_OPTIONAL,
        json_name="addedByTest",
    )


@pytest.fixture
def backward_subject(stack):
    """A subject holding the contract's Tick (with its common.proto reference), compatibility BACKWARD."""
    url = stack.registry_url
    for ref in expected_references(Tick):  # reference subjects first, as the serializer does
        dep = next(d for d in Tick.DESCRIPTOR.file.dependencies if d.name == ref)
        status, _ = http(
            "POST",
            f"{url}/subjects/{subject_path(ref)}/versions",
            {"schemaType": "PROTOBUF", "schema": _b64(file_descriptor_proto(dep))},
        )
        assert status == 200
    subject = unique("compat") + "-value"
    status, body = http("POST", f"{url}/subjects/{subject}/versions", _body(file_descriptor_proto(Tick), _refs(Tick)))
    assert status == 200, body
    status, body = http("PUT", f"{url}/config/{subject}", {"compatibility": "BACKWARD"})
    assert status == 200 and body["compatibility"] == "BACKWARD"
    status, body = http("GET", f"{url}/config/{subject}")
    assert status == 200 and body["compatibilityLevel"] == "BACKWARD"
    return subject


@pytest.mark.parametrize(
    "change",
    [_change_type, _remove_field, _rename_message, _renumber_field, _rename_field],
    ids=lambda f: f.__name__.strip("_"),
)
def test_backward_subject_rejects_breaking_registration(stack, backward_subject, change):
    fdp = file_descriptor_proto(Tick)
    change(fdp)
    status, body = http("POST", f"{stack.registry_url}/subjects/{backward_subject}/versions", _body(fdp, _refs(Tick)))
    assert status == 409, body
    assert "Incompatible" in body["message"]
    status, versions = http("GET", f"{stack.registry_url}/subjects/{backward_subject}/versions")
    assert (status, versions) == (200, [1])


def test_backward_subject_accepts_added_field_and_same_schema(stack, backward_subject):
    url = stack.registry_url
    status, first = http("GET", f"{url}/subjects/{backward_subject}/versions/latest")
    assert status == 200
    status, again = http(
        "POST", f"{url}/subjects/{backward_subject}/versions", _body(file_descriptor_proto(Tick), _refs(Tick))
    )
    assert (status, again["id"]) == (200, first["id"])  # re-registering the same schema is idempotent
    fdp = file_descriptor_proto(Tick)
    _add_field(fdp)
    status, added = http("POST", f"{url}/subjects/{backward_subject}/versions", _body(fdp, _refs(Tick)))
    assert status == 200 and added["id"] != first["id"]
    assert http("GET", f"{url}/subjects/{backward_subject}/versions") == (200, [1, 2])


def _standalone(package: str) -> descriptor_pb2.FileDescriptorProto:
    """A reference-free schema, so the compatibility endpoint can be measured without the reference gap."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name=f"{package.replace('.', '/')}/probe.proto", package=package, syntax="proto3"
    )
    msg = fdp.message_type.add(name="Probe")
    msg.field.add(
        name="code",
        number=1,
        type=FieldDescriptorProto.TYPE_STRING,
        label=FieldDescriptorProto.LABEL_OPTIONAL,
        json_name="code",
    )
    msg.field.add(
        name="close",
        number=2,
        type=FieldDescriptorProto.TYPE_INT64,
        label=FieldDescriptorProto.LABEL_OPTIONAL,
        json_name="close",
    )
    return fdp


@pytest.mark.parametrize(
    "change,compatible",
    [(None, True), (_add_field, True), (_change_type, False), (_remove_field, False), (_rename_message, False)],
    ids=["same", "add_field", "change_type", "remove_field", "rename_message"],
)
def test_compatibility_endpoint_without_references(stack, change, compatible):
    url = stack.registry_url
    subject = unique("check") + "-value"
    fdp = _standalone("it.check")
    assert http("POST", f"{url}/subjects/{subject}/versions", _body(fdp, []))[0] == 200
    assert http("PUT", f"{url}/config/{subject}", {"compatibility": "BACKWARD"})[0] == 200
    if change:
        change(fdp)
    status, body = http("POST", f"{url}/compatibility/subjects/{subject}/versions/latest", _body(fdp, []))
    assert (status, body.get("is_compatible")) == (200, compatible), body


def test_deletes_soft_then_permanent(stack):
    url = stack.registry_url
    subject = unique("del") + "-value"
    status, reg = http("POST", f"{url}/subjects/{subject}/versions", _body(_standalone("it.del"), []))
    assert status == 200
    assert http("DELETE", f"{url}/subjects/{subject}?permanent=true")[0] == 409  # must be soft-deleted first
    assert http("DELETE", f"{url}/subjects/{subject}") == (200, [1])
    # asked per subject, not from the subject list: a long-lived registry lists at most 1,000 subjects
    assert http("GET", f"{url}/subjects/{subject}/versions")[0] == 404
    assert http("GET", f"{url}/subjects/{subject}/versions?deleted=true") == (200, [1])
    assert http("GET", f"{url}/subjects/{subject}/versions/latest")[0] == 404
    assert http("DELETE", f"{url}/subjects/{subject}?permanent=true") == (200, [1])
    assert http("GET", f"{url}/subjects/{subject}/versions?deleted=true")[0] == 404


def test_referenced_subject_cannot_be_deleted(stack, backward_subject):
    ref = expected_references(Tick)[0]
    status, body = http("DELETE", f"{stack.registry_url}/subjects/{subject_path(ref)}")
    assert status == 422 and body["error_code"] == 42206, body
