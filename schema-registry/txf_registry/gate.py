"""The registry-side compatibility gate: the local contract against what the registry holds.

Two judges, both reported:
- the registry's own check (`POST /compatibility/subjects/{s}/versions`), where
  it can judge (Apicurio 3.3.3 cannot for schemas with references: HTTP 422);
- this tool's check, always: every registered version the subject's level
  covers (all of them for *_TRANSITIVE, else the latest) is read back, with its
  references, as a descriptor set, and `buf breaking` (the repo's FILE rules)
  compares the local proto/ against it.
A subject is incompatible when either judge says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.descriptor_pb2 import FileDescriptorSet

from txf_registry.declaration import Declaration, Subject, files_from_image, load
from txf_registry.registry import Registry, RegistryError

REPO_ROOT = Path(__file__).resolve().parents[2]


def find_buf() -> str:
    """buf from this environment's bin dir, else PATH."""
    here = Path(sys.prefix) / "bin" / "buf"
    found = str(here) if here.exists() else shutil.which("buf")
    if not found:
        raise RegistryError("buf not found: install it (`pip install buf-bin==1.75.0`, or `make bootstrap`)")
    return found


@dataclass
class Verdict:
    """The gate's findings for one subject."""

    subject: str
    compatibility: str
    versions_checked: list[int] = field(default_factory=list)
    registry: bool | None = None
    registry_detail: str = ""
    tool: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return self.registry is not False and self.tool is not False


# The repo's breaking rules (buf.yaml: breaking FILE), inline so any proto tree can be judged.
BUF_CONFIG = '{"version":"v2","breaking":{"use":["FILE"]}}'


def build_local(proto_root: Path, buf: str) -> dict[str, bytes]:
    """`buf build` a proto tree into serialized FileDescriptorProtos by import path."""
    result = subprocess.run(
        [buf, "build", str(proto_root), "--config", BUF_CONFIG, "--exclude-source-info", "-o", "-#format=binpb"],
        capture_output=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RegistryError(
            f"the local contract in {proto_root} does not build: {result.stderr.decode(errors='replace').strip()}"
        )
    return files_from_image(result.stdout)


def buf_breaking(image: FileDescriptorSet, proto_root: Path, buf: str) -> tuple[bool, list[str]]:
    """Run `buf breaking` of `proto_root` against a descriptor set; (ok, violation lines)."""
    with tempfile.TemporaryDirectory(prefix="txf-gate-") as tmp:
        against = Path(tmp) / "registered.binpb"
        against.write_bytes(image.SerializeToString())
        result = subprocess.run(
            [buf, "breaking", str(proto_root), "--config", BUF_CONFIG, "--against", str(against)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if result.returncode == 0:
        return True, []
    if result.returncode == 100:
        return False, [line for line in result.stdout.splitlines() if line.strip()]
    raise RegistryError(f"buf breaking failed (exit {result.returncode}): {result.stderr.strip() or result.stdout}")


def check_subject(registry: Registry, decl: Declaration, subject: Subject, proto_root: Path, buf: str) -> Verdict:
    """Judge one subject (registry + buf against the covered versions)."""
    verdict = Verdict(subject.name, subject.compatibility)
    versions = registry.versions(subject.name)
    if not versions:
        verdict.registry_detail = "not registered yet: nothing to be compatible with"
        verdict.registry = verdict.tool = True
        return verdict
    covered = versions if subject.compatibility.endswith("_TRANSITIVE") else versions[-1:]
    if subject.compatibility == "NONE":
        covered = []
    verdict.versions_checked = covered
    verdict.registry, verdict.registry_detail = registry.registry_verdict(decl, subject)
    verdict.tool = True
    for version in covered:
        image = FileDescriptorSet(file=registry.descriptor_set(subject.name, version))
        ok, lines = buf_breaking(image, proto_root, buf)
        if not ok:
            verdict.tool = False
            verdict.problems += [f"v{version}: {line}" for line in lines]
    return verdict


def check(
    registry: Registry, declaration_path: Path, proto_root: Path = REPO_ROOT / "proto", topic_prefix: str = ""
) -> list[Verdict]:
    """Judge the proto tree at `proto_root` for every declared subject, references first."""
    buf = find_buf()
    decl = load(declaration_path, files=build_local(proto_root, buf), topic_prefix=topic_prefix)
    return [check_subject(registry, decl, s, proto_root, buf) for s in decl.subjects]
