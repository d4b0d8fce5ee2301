"""subjects.toml (the topic map, in this package), loaded and checked against the generated contract.

The declaration is the one place that says which topics exist, which txf.v1
message each carries, which subjects the registry must hold and at which
compatibility level. This module turns it into typed objects and refuses a
declaration that disagrees with the contract (a wrong message name, a
reference list that is not the .proto's real imports).
"""

from __future__ import annotations

import base64
import importlib
import pkgutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pool
from google.protobuf.descriptor_pb2 import FileDescriptorProto, FileDescriptorSet

import txf.v1  # noqa: F401  (loads every txf.v1 file into the default descriptor pool)
from txf_kit.topicmap import (
    DEFAULT_PATH,
    Capture,
    Durability,
    TopicMapError,
    load_capture,
    load_durability,
    parse_topic,
    read,
)

LEVELS = {"BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"}
BUILTIN_PREFIX = "google/protobuf/"


class DeclarationError(TopicMapError):
    """subjects.toml is malformed or disagrees with the contract."""


@dataclass(frozen=True)
class SchemaFile:
    """One .proto file as the registry stores it: base64 FileDescriptorProto + its imports."""

    name: str  # import path, e.g. "txf/v1/common.proto" (also its subject)
    schema_b64: str  # exactly what ProtobufSerializer sends
    imports: tuple[str, ...]  # non-builtin imports, in declaration order

    @staticmethod
    def of(serialized: bytes) -> SchemaFile:
        """From a serialized FileDescriptorProto (a pb2 module's `serialized_pb`, or buf's build)."""
        fdp = FileDescriptorProto.FromString(serialized)
        return SchemaFile(
            fdp.name,
            base64.standard_b64encode(serialized).decode("ascii"),
            tuple(d for d in fdp.dependency if not d.startswith(BUILTIN_PREFIX)),
        )


@dataclass(frozen=True)
class Subject:
    """A registry subject to hold `schema` at `compatibility`."""

    name: str
    schema: SchemaFile
    compatibility: str
    reason: str
    topic: str | None = None  # None for a reference subject
    message: str | None = None


@dataclass(frozen=True)
class Topic:
    """A Kafka topic the project writes, with its config."""

    name: str
    message: str | None
    partitions: int
    config: dict[str, str]
    contract: str | None = None
    role: str = "data"


@dataclass
class Declaration:
    """Everything subjects.toml declares, references first (registration order)."""

    subjects: list[Subject] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)
    durability: dict[str, Durability] = field(default_factory=dict)  # by profile: single, cluster

    def subject(self, name: str) -> Subject:
        for s in self.subjects:
            if s.name == name:
                return s
        raise KeyError(name)


def generated_files() -> dict[str, bytes]:
    """The contract as the generated pb2 modules carry it (what the serializer registers)."""
    pool = descriptor_pool.Default()
    out: dict[str, bytes] = {}

    def add(name: str) -> None:
        fd = pool.FindFileByName(name)
        for dep in fd.dependencies:
            add(dep.name)
        out[name] = fd.serialized_pb

    for module in pkgutil.iter_modules(txf.v1.__path__):  # every generated file of the contract
        if module.name.endswith("_pb2"):
            add(importlib.import_module(f"txf.v1.{module.name}").DESCRIPTOR.name)
    return out


def files_from_image(image: bytes) -> dict[str, bytes]:
    """The contract as `buf build` of a proto tree produced it (a FileDescriptorSet)."""
    return {f.name: f.SerializeToString() for f in FileDescriptorSet.FromString(image).file}


def _file_of(message: str, files: dict[str, bytes], where: str) -> str:
    package, _, name = message.rpartition(".")
    for fname, raw in files.items():
        fdp = FileDescriptorProto.FromString(raw)
        if fdp.package == package and any(m.name == name for m in fdp.message_type):
            return fname
    raise DeclarationError(f"{where}: message {message!r} is not in the contract")


def _level(value: Any, where: str) -> str:
    if value not in LEVELS:
        raise DeclarationError(f"{where}: compatibility {value!r} is not one of {sorted(LEVELS)}")
    return str(value)


def load(
    path: Path = DEFAULT_PATH,
    files: dict[str, bytes] | None = None,
    topic_prefix: str = "",
    legs: bool | Sequence[str] = False,
) -> Declaration:
    """Parse the declaration and bind it to the contract's files.

    `files` maps import path -> serialized FileDescriptorProto; by default the
    generated pb2 modules (byte for byte what producers register and look up).
    `topic_prefix` is put before every topic name (and so every topic subject),
    for several environments on one cluster ("staging-"); reference subjects are
    import paths and stay shared. With `legs` (True: the topic map's [capture] legs; or the
    deployment's own list, TXF_CAPTURE_LEGS), every capture leg's copy of the data and
    dead-letter topics is declared too (its prefix after `topic_prefix`, its own retention),
    with subjects of its own as a leg producer looks them up.
    """
    files = generated_files() if files is None else files
    raw = read(path)
    defaults = raw.get("defaults", {})
    default_level = _level(defaults.get("compatibility", "FULL_TRANSITIVE"), "defaults")
    ref_decl: dict[str, Any] = raw.get("references", {})
    decl = Declaration(durability=load_durability(path))
    seen_refs: dict[str, Subject] = {}

    def add_reference(schema: SchemaFile) -> None:
        for dep in schema.imports:
            if dep in seen_refs:
                continue
            if dep not in files:
                raise DeclarationError(f"{schema.name} imports {dep}, which is not in the contract")
            dep_schema = SchemaFile.of(files[dep])
            add_reference(dep_schema)  # deepest first: a reference's own imports register before it
            spec = ref_decl.get(dep)
            if spec is None:
                raise DeclarationError(f'{dep} is imported but has no [references."{dep}"] entry')
            subject = Subject(
                dep, dep_schema, _level(spec.get("compatibility", default_level), dep), spec.get("reason", "")
            )
            seen_refs[dep] = subject
            decl.subjects.append(subject)

    capture = load_capture(path)
    leg_names = capture.legs if legs is True else tuple(legs or ())
    copies: list[tuple[dict[str, Any], str, dict[str, str] | None]] = [(t, topic_prefix, None) for t in raw["topics"]]
    if leg_names:
        leg_config = {"retention.ms": str(capture.leg_retention_ms)} if capture.leg_retention_ms else {}
        copies += [
            (t, topic_prefix + capture.prefix_of(leg), leg_config)
            for leg in leg_names
            for t in raw["topics"]
            if Capture.carries(parse_topic(t))
        ]
    for t, prefix, config_override in copies:
        entry = parse_topic(t, prefix)
        name, message = entry.name, entry.message
        config = {"retention.ms": str(t["retention_ms"])} if "retention_ms" in t else {}
        if "retention_bytes" in t:
            config["retention.bytes"] = str(t["retention_bytes"])
        if config_override is not None:
            config = config_override
        decl.topics.append(Topic(name, message, int(t.get("partitions", 1)), config, entry.contract, entry.role))
        if message is None:
            continue
        schema = SchemaFile.of(files[_file_of(message, files, f"topic {name} (subject {name}-value)")])
        declared_refs = tuple(t.get("references", []))
        if set(declared_refs) != set(schema.imports):
            raise DeclarationError(
                f"topic {name}: references {list(declared_refs)} differ from the imports "
                f"of {schema.name}: {list(schema.imports)}"
            )
        add_reference(schema)
        decl.subjects.append(
            Subject(
                f"{name}-value",
                schema,
                _level(t.get("compatibility", default_level), name),
                t.get("reason", ""),
                topic=name,
                message=message,
            )
        )
    if not decl.subjects:
        raise DeclarationError(f"{path} declares no topic with a message")
    unused = set(ref_decl) - set(seen_refs)
    if unused:
        raise DeclarationError(f"references {sorted(unused)} are declared but imported by no topic's message")
    return decl
