"""The contract version every package manifest carries, derived from the release lock.

The version is defined once, by the newest entry of `contracts/releases.toml`; the manifests below
are stamped from it by `make release-contract` and checked against it by `make gen-check`, so an
installed binding always says which release it is. (The Go module has no version in a file: its
version is the tag `gen/go/vX.Y.Z` the release creates.)
"""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@dataclass(frozen=True)
class Manifest:
    """A file that carries the contract version, with how to read and write it."""

    path: str
    read: Callable[[Path], str]
    write: Callable[[Path, str], None]


def _read_pyproject(path: Path) -> str:
    return str(tomllib.loads(path.read_text("utf-8"))["project"]["version"])


def _write_pyproject(path: Path, version: str) -> None:
    text, n = re.subn(r'(?m)^version = "[^"]*"$', f'version = "{version}"', path.read_text("utf-8"), count=1)
    if n != 1:
        raise ValueError(f'{path}: no `version = "..."` line in [project]')
    path.write_text(text, "utf-8")


def _read_package_json(path: Path) -> str:
    return str(json.loads(path.read_text("utf-8"))["version"])


def _write_npm(path: Path, version: str) -> None:
    """package.json and its package-lock.json (the lock repeats the root package's version twice)."""
    for file in (path, path.with_name("package-lock.json")):
        data = json.loads(file.read_text("utf-8"))
        data["version"] = version
        if "packages" in data:
            data["packages"][""]["version"] = version
        file.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def _pom_read(xpath: str) -> Callable[[Path], str]:
    def read(path: Path) -> str:
        node = ET.parse(path).getroot().find(xpath, POM_NS)
        if node is None or not node.text:
            raise ValueError(f"{path}: no {xpath}")
        return node.text.strip()

    return read


def _pom_write(pattern: str) -> Callable[[Path, str], None]:
    """Replace the one element `pattern` matches (group 1 = up to the value, group 2 = after it)."""

    def write(path: Path, version: str) -> None:
        text, n = re.subn(pattern, lambda m: f"{m[1]}{version}{m[2]}", path.read_text("utf-8"), count=1)
        if n != 1:
            raise ValueError(f"{path}: version element not found")
        path.write_text(text, "utf-8")

    return write


MANIFESTS: tuple[Manifest, ...] = (
    Manifest("gen/python/pyproject.toml", _read_pyproject, _write_pyproject),
    Manifest("gen/betterproto/pyproject.toml", _read_pyproject, _write_pyproject),
    Manifest("gen/ts/package.json", _read_package_json, _write_npm),
    Manifest(
        "gen/java/pom.xml",
        _pom_read("m:version"),
        _pom_write(r"(<artifactId>txf-contracts</artifactId>\s*<version>)[^<]*(</version>)"),
    ),
    # the Java consumer builds against the release it names
    Manifest(
        "consumers/java/pom.xml",
        _pom_read("m:properties/m:txf-contracts.version"),
        _pom_write(r"(<txf-contracts\.version>)[^<]*(</txf-contracts\.version>)"),
    ),
)


def read_all(root: Path) -> dict[str, str]:
    """Manifest path -> the version it carries."""
    return {m.path: m.read(root / m.path) for m in MANIFESTS}


def stamp(root: Path, version: str) -> list[str]:
    """Write `version` into every manifest; returns the files written (package-lock.json included)."""
    written = []
    for m in MANIFESTS:
        m.write(root / m.path, version)
        written.append(m.path)
        if m.path.endswith("package.json"):
            written.append(m.path.replace("package.json", "package-lock.json"))
    return written


def mismatches(root: Path, version: str) -> list[str]:
    """Manifests whose version is not `version` ("path: has X")."""
    return [f"{path}: has {have}" for path, have in read_all(root).items() if have != version]
