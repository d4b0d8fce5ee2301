"""Check each writer schema id against the registry once, before trusting its records.

A record only carries a schema id; decoding it with our generated class is right
only if the writer's message at the record's message index is the type this topic
should carry AND every field the writer may set is one we read the same way. A
reader must refuse a writer schema it cannot read instead of silently producing
wrong numbers (e.g. an int64 read back as sint64). So for every new schema id:

1. `GET /schemas/ids/{id}` (default form). Apicurio answers the stored base64
   FileDescriptorProto; Confluent's registry answers .proto text, and then we ask
   again with `?format=serialized` (base64). We never ask `format=serialized`
   first: Apicurio 3.3.3 answers it with HTTP 500 (stack/README.md).
2. Walk the message-index path to the registered message; its full name must
   equal the topic's expected type.
3. Every field the writer and we both know (by number) must have the same type,
   cardinality and (for enums/messages) type name. Fields only the writer has
   are fine: a newer producer's additions arrive as unknown fields, which the
   protobuf runtime keeps and ignores (that is what BACKWARD_TRANSITIVE
   registration plus buf's FILE rules guarantee the contract evolves by).

Verdicts are cached per (schema id, index path, expected type), and the fetched
descriptor per schema id, so the registry sees one request per id per process.

Plain urllib instead of confluent_kafka's SchemaRegistryClient: the client caches
`get_schema` by id whatever `fmt` was asked, so the `format=serialized` retry
would return the cached .proto text again; everything else we need (basic auth,
a CA file, a timeout) is a few lines here.
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from txf_consumer.settings import RegistrySettings
from txf_consumer.wire import M, Resolver

_TYPE_NAMES: dict[int, str] = {
    v: k[len("TYPE_") :].lower() for k, v in descriptor_pb2.FieldDescriptorProto.Type.items()
}
_LABEL_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED


class SchemaMismatchError(RuntimeError):
    """A writer schema id this reader must not decode; the message names topic, id and why."""

    def __init__(self, topic: str, schema_id: int, reason: str) -> None:
        super().__init__(f"topic {topic!r}: schema id {schema_id} refused: {reason}")
        self.topic = topic
        self.schema_id = schema_id
        self.reason = reason


class RegistryUnavailableError(RuntimeError):
    """The registry did not answer usefully within the deadline (network, 5xx, auth)."""


class RegistryRefusedError(RegistryUnavailableError):
    """The registry refused our credentials (401/403), or its TLS certificate is not one we trust: settings
    to fix (TXF_REGISTRY_BASIC_AUTH, TXF_REGISTRY_SSL_CA_LOCATION), not something to wait out."""


@dataclass(frozen=True)
class RegisteredSchema:
    """One schema id as read from the registry: its file and the reference names it imports."""

    schema_id: int
    file: descriptor_pb2.FileDescriptorProto
    references: tuple[str, ...]


class RegistryReader:
    """Fetch schemas by id over the Confluent API (read-only), with bounded retries."""

    def __init__(self, settings: RegistrySettings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._ssl = ssl.create_default_context(cafile=settings.ca_location) if settings.ca_location else None
        self._headers = {"Accept": "application/vnd.schemaregistry.v1+json, application/json"}
        if settings.basic_auth:
            token = base64.b64encode(settings.basic_auth.encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def get_schema(self, schema_id: int) -> RegisteredSchema | None:
        """The schema registered under `schema_id`, or None when the registry does not know the id.

        Raises RegistryUnavailableError when no usable answer came within the deadline,
        ValueError when the id's schema is not a protobuf FileDescriptorProto in either form.
        """
        status, body = self._get(f"/schemas/ids/{schema_id}")
        if status == 404:
            return None
        fdp = _parse_file(body)
        if fdp is None:  # a registry that answers .proto text by default (Confluent's)
            status, body = self._get(f"/schemas/ids/{schema_id}?format=serialized")
            fdp = _parse_file(body) if status == 200 else None
        if fdp is None:
            kind = body.get("schemaType", "AVRO") if isinstance(body, dict) else type(body).__name__
            raise ValueError(f"schema id {schema_id} is not a readable protobuf descriptor (schemaType {kind})")
        references = body.get("references") if isinstance(body, dict) else None
        refs = tuple(r.get("name", "") for r in (references or []))
        return RegisteredSchema(schema_id, fdp, refs)

    def _get(self, path: str) -> tuple[int, object]:
        """GET with retries on transport errors and 5xx until the deadline; 200 and 404 are answers."""
        url = self.settings.url + path
        deadline = time.monotonic() + self.settings.deadline_s
        delay = 0.2
        while True:
            try:
                req = urllib.request.Request(url, headers=self._headers, method="GET")
                with urllib.request.urlopen(req, timeout=self.settings.timeout_s, context=self._ssl) as resp:
                    return resp.status, _json(resp.read())
            except urllib.error.HTTPError as exc:
                status, body = exc.code, _json(exc.read())
                if status == 404 or (status == 500 and "format=serialized" in path):
                    return status, body
                problem = f"HTTP {status}: {_message(body)}"
                if status in (401, 403):
                    raise RegistryRefusedError(
                        f"registry {self.settings.url} refused {path}: {problem}; fix "
                        "TXF_REGISTRY_BASIC_AUTH (user:password) or TXF_REGISTRY_BASIC_AUTH_FILE"
                    ) from None
                if status < 500:
                    raise RegistryUnavailableError(f"registry {self.settings.url} {path}: {problem}") from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLCertVerificationError):
                    raise RegistryRefusedError(
                        f"registry {self.settings.url}: TLS certificate not trusted ({reason});"
                        " fix TXF_REGISTRY_SSL_CA_LOCATION (--registry-ca)"
                    ) from None
                problem = str(reason)
            if time.monotonic() + delay > deadline:
                raise RegistryUnavailableError(
                    f"registry {self.settings.url} not answering {path} within "
                    f"{self.settings.deadline_s:g} s: {problem}"
                )
            self._sleep(delay)
            delay = min(delay * 2, 2.0)


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _message(body: object) -> str:
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)[:200]


def _parse_file(body: object) -> descriptor_pb2.FileDescriptorProto | None:
    """The FileDescriptorProto in a schema answer, if its `schema` is base64 of one."""
    if not isinstance(body, dict) or body.get("schemaType", "AVRO") != "PROTOBUF":
        return None
    text = body.get("schema")
    if not isinstance(text, str):
        return None
    try:
        fdp = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError, DecodeError):
        return None
    # base64 of .proto text can decode "successfully" into garbage: require a name or a message
    return fdp if (fdp.name or fdp.message_type) else None


def registered_message(
    fdp: descriptor_pb2.FileDescriptorProto, indexes: tuple[int, ...]
) -> tuple[str, descriptor_pb2.DescriptorProto]:
    """(full name, descriptor) of the message at a message-index path; ValueError when out of range."""
    if not indexes:
        raise ValueError("empty message-index path")
    messages = fdp.message_type
    names: list[str] = [fdp.package] if fdp.package else []
    msg = None
    for depth, idx in enumerate(indexes):
        if not 0 <= idx < len(messages):
            where = "file" if depth == 0 else f"message {'.'.join(names)}"
            raise ValueError(f"message index {list(indexes)} out of range: {where} has {len(messages)} message(s)")
        msg = messages[idx]
        names.append(msg.name)
        messages = msg.nested_type
    assert msg is not None
    return ".".join(names), msg


def compatibility_problems(registered: descriptor_pb2.DescriptorProto, ours: Descriptor) -> list[str]:
    """Why `ours` cannot read data written with `registered` (empty list: it can).

    A field both know (by number) must have the same type, the same cardinality
    and, for enum and message fields, the same type name. Names may differ (they
    are not on the wire). Fields only we have are fine: the writer leaves them at
    their defaults; fields only the writer has are fine too: a newer producer's
    additions reach us as unknown fields, kept and ignored.
    """
    problems: list[str] = []
    for f in registered.field:
        mine = ours.fields_by_number.get(f.number)
        if mine is None:  # added by a newer writer: an unknown field to us, harmless
            continue
        if mine.type != f.type:
            problems.append(
                f"field {f.number} ({f.name}) is {_TYPE_NAMES.get(f.type, f.type)} in the registry, "
                f"{_TYPE_NAMES.get(mine.type, mine.type)} here"
            )
            continue
        if (f.label == _LABEL_REPEATED) != _is_repeated(mine):
            problems.append(
                f"field {f.number} ({f.name}) is {'repeated' if f.label == _LABEL_REPEATED else 'singular'}"
                f" in the registry, {'repeated' if _is_repeated(mine) else 'singular'} here"
            )
            continue
        if f.type in (FieldDescriptor.TYPE_ENUM, FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            theirs = f.type_name.lstrip(".")
            target = mine.enum_type if f.type == FieldDescriptor.TYPE_ENUM else mine.message_type
            if target is not None and theirs != target.full_name and not target.full_name.endswith("." + theirs):
                problems.append(
                    f"field {f.number} ({f.name}) is of type {theirs} in the registry, {target.full_name} here"
                )
    return problems


def _is_repeated(f: FieldDescriptor) -> bool:
    rep = getattr(f, "is_repeated", None)
    if rep is not None:
        return bool(rep)
    return bool(f.label == FieldDescriptor.LABEL_REPEATED)  # type: ignore[attr-defined]  # older runtimes


class SchemaChecker:
    """Accept or refuse writer schema ids per topic, asking the registry once per id.

    `resolver(topic, cls)` gives the FrameDecoder hook (wire.Resolver) for a topic
    whose records must be `cls`. Thread-safe; verdicts, including refusals and
    unknown ids, are cached, so a bad id is fetched once, not once per record.
    """

    def __init__(self, reader: RegistryReader) -> None:
        self._reader = reader
        self._lock = threading.Lock()
        self._schemas: dict[int, RegisteredSchema | None] = {}
        self._verdicts: dict[tuple[int, tuple[int, ...], str, str], type[Message] | SchemaMismatchError] = {}

    @property
    def fetched_ids(self) -> list[int]:
        """Schema ids fetched from the registry so far, in order (tests assert 'once per id')."""
        return list(self._schemas)

    def resolver(self, topic: str, message_class: type[M]) -> Resolver[M]:
        """The FrameDecoder resolve hook of `topic`: returns `message_class` or raises SchemaMismatchError."""

        def resolve(schema_id: int, indexes: tuple[int, ...]) -> type[M]:
            self.check(topic, message_class, schema_id, indexes)  # raises unless readable by message_class
            return message_class

        return resolve

    def check(
        self, topic: str, message_class: type[Message], schema_id: int, indexes: tuple[int, ...] = (0,)
    ) -> type[Message]:
        """`message_class` when records of `topic` written with (schema_id, indexes) are readable by it.

        Raises SchemaMismatchError (cached), or RegistryUnavailableError (not cached:
        the next record asks again).
        """
        key = (schema_id, indexes, topic, message_class.DESCRIPTOR.full_name)
        with self._lock:
            verdict = self._verdicts.get(key)
            if verdict is None:
                verdict = self._judge(topic, message_class, schema_id, indexes)
                self._verdicts[key] = verdict
        if isinstance(verdict, SchemaMismatchError):
            raise verdict
        return verdict

    def _schema(self, schema_id: int) -> RegisteredSchema | None:
        if schema_id not in self._schemas:
            self._schemas[schema_id] = self._reader.get_schema(schema_id)
        return self._schemas[schema_id]

    def _judge(
        self, topic: str, message_class: type[Message], schema_id: int, indexes: tuple[int, ...]
    ) -> type[Message] | SchemaMismatchError:
        expected = message_class.DESCRIPTOR.full_name
        try:
            schema = self._schema(schema_id)
        except ValueError as exc:
            return SchemaMismatchError(topic, schema_id, str(exc))
        if schema is None:
            return SchemaMismatchError(
                topic,
                schema_id,
                f"the registry {self._reader.settings.url} does not know this id (written against another registry?)",
            )
        try:
            name, registered = registered_message(schema.file, indexes)
        except ValueError as exc:
            return SchemaMismatchError(topic, schema_id, f"{exc} (file {schema.file.name})")
        if name != expected:
            return SchemaMismatchError(
                topic,
                schema_id,
                f"message {list(indexes)} of {schema.file.name} is {name}, this topic carries {expected}",
            )
        problems = compatibility_problems(registered, cast(Descriptor, message_class.DESCRIPTOR))  # upb's or python's
        if problems:
            return SchemaMismatchError(
                topic,
                schema_id,
                f"{name} as registered cannot be read with this consumer's {expected}: " + "; ".join(problems),
            )
        return message_class
