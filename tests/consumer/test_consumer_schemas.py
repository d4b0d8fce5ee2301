"""txf_consumer.schemas: writer schema ids are accepted or refused once per id.

Against the real registry of the local stack: the project's own registrations are
accepted; an id whose message is another type, a schema with a changed field
type and one with a field we do not know are refused (test schemas registered
under unique subjects with confluent's client). A tiny local HTTP server stands
in for a registry that answers .proto text by default (as Confluent's does), for
basic auth, and for one that keeps failing.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from consumerkit import SerializingSender, bidask, tick, unique
from google.protobuf import descriptor_pb2

from txf.v1 import BidAsk, Tick
from txf_consumer.schemas import (
    RegistryReader,
    RegistryUnavailableError,
    SchemaChecker,
    SchemaMismatchError,
    compatibility_problems,
    registered_message,
)
from txf_consumer.settings import RegistrySettings

FDP = descriptor_pb2.FieldDescriptorProto


def file_proto(cls) -> descriptor_pb2.FileDescriptorProto:
    fdp = descriptor_pb2.FileDescriptorProto()
    cls.DESCRIPTOR.file.CopyToProto(fdp)
    return fdp


def checker_for(url: str, **kw) -> SchemaChecker:
    return SchemaChecker(RegistryReader(RegistrySettings(url=url, **kw)))


# --- pure descriptor checks ------------------------------------------------------------------


def test_compatibility_rules_on_descriptors():
    reg = file_proto(Tick).message_type[0]
    assert compatibility_problems(reg, Tick.DESCRIPTOR) == []
    reg.field[0].name = "contract"  # a rename is not on the wire: fine
    del reg.field[-1]  # a field only we know: fine (writer leaves it unset)
    assert compatibility_problems(reg, Tick.DESCRIPTOR) == []
    reg.field[2].type = FDP.TYPE_SINT64  # close: int64 -> sint64 changes the bytes
    reg.field[3].label = FDP.LABEL_REPEATED  # volume: singular -> repeated
    reg.field[4].type_name = ".txf.v1.ChgType"  # tick_type: another enum
    reg.field.add(name="extra", number=99, type=FDP.TYPE_STRING, label=FDP.LABEL_OPTIONAL)
    problems = compatibility_problems(reg, Tick.DESCRIPTOR)
    assert problems == [
        "field 3 (close) is sint64 in the registry, int64 here",
        "field 4 (volume) is repeated in the registry, singular here",
        "field 5 (tick_type) is of type txf.v1.ChgType in the registry, txf.v1.TickType here",
    ]  # field 99, added by a newer writer, is an unknown field to this reader: not a problem


def test_message_index_path_walks_nested_messages():
    fdp = file_proto(BidAsk)
    fdp.message_type[0].nested_type.add(name="Level")
    assert registered_message(fdp, (0,))[0] == "txf.v1.BidAsk"
    assert registered_message(fdp, (0, 0))[0] == "txf.v1.BidAsk.Level"
    with pytest.raises(ValueError, match=r"message index \[1\] out of range: file has 1 message"):
        registered_message(fdp, (1,))
    with pytest.raises(ValueError, match="message txf.v1.BidAsk.Level has 0"):
        registered_message(fdp, (0, 0, 0))


# --- the real registry ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registered(stack):
    """Schema ids of Tick and BidAsk as the project's serializer registers them (TOPIC subjects)."""
    sender = SerializingSender(stack)
    tick_topic, book_topic = unique("sc-tick"), unique("sc-book")
    sender.frame(tick_topic, tick(1))
    sender.frame(book_topic, bidask(1))
    return {
        "tick": (tick_topic, sender.schema_ids[tick_topic]),
        "book": (book_topic, sender.schema_ids[book_topic]),
        "client": sender.registry,
    }


def register_variant(client: SchemaRegistryClient, fdp: descriptor_pb2.FileDescriptorProto) -> int:
    """Register a changed txf/v1/tick.proto under a new subject, with the same reference as the real one."""
    schema = Schema(
        base64.b64encode(fdp.SerializeToString()).decode(),
        "PROTOBUF",
        [SchemaReference("txf/v1/common.proto", "txf/v1/common.proto", 1)],
    )
    return client.register_schema(unique("sc-variant") + "-value", schema)


@pytest.mark.integration
def test_project_schemas_are_accepted_and_fetched_once(stack, registered):
    checker = checker_for(stack.registry_url)
    tick_topic, tick_id = registered["tick"]
    book_topic, book_id = registered["book"]
    for _ in range(3):
        assert checker.check(tick_topic, Tick, tick_id) is Tick
        assert checker.check(book_topic, BidAsk, book_id) is BidAsk
        assert checker.check("another-tick-topic", Tick, tick_id) is Tick
    assert checker.fetched_ids == [tick_id, book_id]


@pytest.mark.integration
def test_id_of_another_type_is_refused(stack, registered):
    checker = checker_for(stack.registry_url)
    _book_topic, book_id = registered["book"]
    with pytest.raises(SchemaMismatchError) as exc:
        checker.check("prices-tick", Tick, book_id)
    assert str(exc.value) == (
        f"topic 'prices-tick': schema id {book_id} refused: message [0] of txf/v1/bidask.proto "
        f"is txf.v1.BidAsk, this topic carries txf.v1.Tick"
    )
    with pytest.raises(SchemaMismatchError):  # cached: same verdict, no second fetch
        checker.check("prices-tick", Tick, book_id)
    assert checker.fetched_ids == [book_id]


@pytest.mark.integration
def test_incompatible_field_type_is_refused(stack, registered):
    fdp = file_proto(Tick)
    fdp.message_type[0].field[2].type = FDP.TYPE_DOUBLE  # close: int64 -> double
    bad_id = register_variant(registered["client"], fdp)
    assert bad_id not in (registered["tick"][1], registered["book"][1])
    checker = checker_for(stack.registry_url)
    with pytest.raises(SchemaMismatchError) as exc:
        checker.check("t1", Tick, bad_id)
    assert exc.value.topic == "t1" and exc.value.schema_id == bad_id
    assert "field 3 (close) is double in the registry, int64 here" in str(exc.value)


@pytest.mark.integration
def test_writer_with_an_added_field_and_a_renamed_one_are_accepted(stack, registered):
    extra = file_proto(Tick)
    extra.message_type[0].field.add(
        name="venue", number=40, type=FDP.TYPE_STRING, label=FDP.LABEL_OPTIONAL, json_name="venue"
    )
    renamed = file_proto(Tick)
    renamed.message_type[0].field[1].name = "ts_ms"
    renamed.message_type[0].field[1].json_name = "tsMs"
    extra_id = register_variant(registered["client"], extra)
    renamed_id = register_variant(registered["client"], renamed)
    checker = checker_for(stack.registry_url)
    assert checker.check("t", Tick, extra_id) is Tick  # a newer producer's addition: readable
    assert checker.check("t", Tick, renamed_id) is Tick


@pytest.mark.integration
def test_unknown_id_and_index_out_of_range_are_refused(stack, registered):
    checker = checker_for(stack.registry_url)
    with pytest.raises(SchemaMismatchError, match="does not know this id"):
        checker.check("t", Tick, 2**31 - 7)
    with pytest.raises(SchemaMismatchError, match=r"message index \[1\] out of range"):
        checker.check("t", Tick, registered["tick"][1], (1,))


# --- a registry speaking .proto text (Confluent's default form), auth, failures ----------------


class FakeRegistry(ThreadingHTTPServer):
    """127.0.0.1 HTTP server: /schemas/ids/1 as .proto text by default, base64 with ?format=serialized."""

    def __init__(self, fail_with: int | None = None, require_auth: str | None = None) -> None:
        self.fail_with = fail_with
        self.require_auth = require_auth
        self.requests: list[tuple[str, str | None]] = []
        super().__init__(("127.0.0.1", 0), _FakeHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/apis/ccompat/v7"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


class _FakeHandler(BaseHTTPRequestHandler):
    server: FakeRegistry

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Authorization")))
        if srv.require_auth and self.headers.get("Authorization") != srv.require_auth:
            return self._send(401, {"error_code": 401, "message": "Unauthorized"})
        if srv.fail_with:
            return self._send(srv.fail_with, {"error_code": srv.fail_with, "message": "boom"})
        if not self.path.startswith("/apis/ccompat/v7/schemas/ids/1"):
            return self._send(404, {"error_code": 40403, "message": "Schema not found"})
        refs = [{"name": "txf/v1/common.proto", "subject": "txf/v1/common.proto", "version": 1}]
        if self.path.endswith("?format=serialized"):
            text = base64.b64encode(file_proto(Tick).SerializeToString()).decode()
        else:
            text = (
                'syntax = "proto3";\npackage txf.v1;\nimport "txf/v1/common.proto";\n'
                "message Tick { string code = 1; }\n"
            )
        self._send(200, {"schema": text, "schemaType": "PROTOBUF", "references": refs})

    def _send(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def fake_registry():
    servers: list[FakeRegistry] = []

    def make(**kw) -> FakeRegistry:
        servers.append(FakeRegistry(**kw))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def test_proto_text_answer_is_retried_with_format_serialized(fake_registry):
    reg = fake_registry()
    checker = checker_for(reg.url)
    assert checker.check("t", Tick, 1) is Tick
    assert checker.check("t", Tick, 1) is Tick
    assert [p for p, _ in reg.requests] == [
        "/apis/ccompat/v7/schemas/ids/1",
        "/apis/ccompat/v7/schemas/ids/1?format=serialized",
    ]


def test_basic_auth_is_sent(fake_registry):
    token = "Basic " + base64.b64encode(b"reader:s3cret").decode()
    reg = fake_registry(require_auth=token)
    assert checker_for(reg.url, basic_auth="reader:s3cret").check("t", Tick, 1) is Tick
    with pytest.raises(RegistryUnavailableError, match="HTTP 401"):
        checker_for(reg.url, basic_auth="reader:wrong").check("t", Tick, 1)


def test_registry_errors_are_retried_until_the_deadline(fake_registry):
    reg = fake_registry(fail_with=503)
    checker = checker_for(reg.url, deadline_s=1.0, timeout_s=1.0)
    with pytest.raises(RegistryUnavailableError, match="not answering /schemas/ids/1 within 1 s: HTTP 503: boom"):
        checker.check("t", Tick, 1)
    assert len(reg.requests) >= 2  # retried


def test_unreachable_registry_is_unavailable_not_a_mismatch():
    checker = checker_for("http://127.0.0.1:9/apis/ccompat/v7", deadline_s=0.5, timeout_s=0.5)
    with pytest.raises(RegistryUnavailableError, match="not answering"):
        checker.check("t", Tick, 1)
