"""`contracts/releases.toml`: the release lock, one entry per released version of the contract.

Why a committed lock and not only tags: the gate must work in a fresh clone with no remote and no
tags (CI), and a tag is easy to forget to push. Each release keeps a `buf build` image of `proto/`
(no source info: only what readers compile against), its sha256, and the git tree hash of `proto/`
it was built from. The lock is append-only: a release is never edited or removed, and the gate
refuses an image whose bytes no longer match their recorded sha256.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

LOCK_DIR = "contracts"
LOCK_FILE = "releases.toml"
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")

HEADER = """\
# Released versions of the txf contract (proto/), oldest first.
# Written by `make release-contract VERSION=x.y.z`; never edit by hand.
# Each image is `buf build proto --exclude-source-info` of the release; `make breaking` judges the
# working proto/ against every one of them (and against every committed state of proto/), so a
# change must stay compatible with all released versions, not only the latest.
"""


class LockError(RuntimeError):
    """The release lock is malformed or was altered; the message names the file and the fix."""


def parse_version(text: str) -> tuple[int, int, int]:
    """`1.2.3` -> (1, 2, 3); anything else (a `v` prefix, a pre-release) is refused."""
    m = SEMVER.match(text)
    if not m:
        raise LockError(f"version {text!r} is not MAJOR.MINOR.PATCH (e.g. 1.1.0, no 'v')")
    return int(m[1]), int(m[2]), int(m[3])


@dataclass(frozen=True)
class Release:
    """One released version of the contract."""

    version: str
    date: str  # YYYY-MM-DD (UTC) the release was recorded
    proto_tree: str  # git tree hash of proto/ the image was built from
    image: str  # file name under contracts/
    sha256: str

    def image_path(self, root: Path) -> Path:
        return root / LOCK_DIR / self.image

    def to_toml(self) -> str:
        return (
            f'[[release]]\nversion = "{self.version}"\ndate = "{self.date}"\n'
            f'proto_tree = "{self.proto_tree}"\nimage = "{self.image}"\nsha256 = "{self.sha256}"\n'
        )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def image_name(version: str) -> str:
    return f"txf-{version}.binpb"


def load(root: Path) -> list[Release]:
    """The releases, oldest first, each image present and intact; LockError otherwise."""
    path = root / LOCK_DIR / LOCK_FILE
    if not path.is_file():
        raise LockError(f"{path} is missing: the release lock is part of the repository; restore it from git")
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise LockError(f"{path}: {exc}; restore it from git") from None
    releases: list[Release] = []
    for n, entry in enumerate(data.get("release", []), 1):
        try:
            rel = Release(**{k: str(entry[k]) for k in ("version", "date", "proto_tree", "image", "sha256")})
        except KeyError as exc:
            raise LockError(f"{path}: release #{n} lacks {exc.args[0]!r}; restore the file from git") from None
        if releases and parse_version(rel.version) <= parse_version(releases[-1].version):
            raise LockError(f"{path}: release {rel.version} does not follow {releases[-1].version}")
        image = rel.image_path(root)
        if not image.is_file():
            raise LockError(f"{image} (release {rel.version}) is missing; restore it from git")
        actual = sha256_of(image)
        if actual != rel.sha256:
            raise LockError(
                f"{image} does not match the sha256 recorded for release {rel.version} "
                f"({actual[:12]}... != {rel.sha256[:12]}...): a released image was altered; "
                "restore it from git (releases are append-only)"
            )
        releases.append(rel)
    return releases


def append(root: Path, release: Release) -> None:
    """Add `release` (its image already written) at the end of the lock."""
    path = root / LOCK_DIR / LOCK_FILE
    existing = load(root) if path.is_file() else []
    if existing and parse_version(release.version) <= parse_version(existing[-1].version):
        raise LockError(f"version {release.version} must be greater than the last release {existing[-1].version}")
    text = HEADER + "".join("\n" + r.to_toml() for r in [*existing, release])
    path.write_text(text, "utf-8")
