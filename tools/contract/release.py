"""Record a release of the contract: image + lock entry, versions stamped, one commit, tags, artifacts.

`make release-contract VERSION=x.y.z` runs the gates first (lint, format, breaking, gen-check) and
then this. A release is cut from a clean, committed tree whose proto/ differs from the last
release; the version must be greater than every released one and its major must equal the newest
contract package (txf.v1 -> 1.x.y; a txf.v2 beside it -> 2.0.0). The release commit holds only the
lock entry, the image and the stamped manifests, and is tagged `contracts/vX.Y.Z` (the release)
and `gen/go/vX.Y.Z` (how Go resolves a module in a subdirectory). Nothing is pushed: push the
commit and both tags when the artifacts in dist/ have been checked.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from tools.contract import breaking, dist, history, lock, versions


class ReleaseError(RuntimeError):
    """The release cannot be recorded; the message names the problem and the fix."""


def contract_major(root: Path) -> int:
    """The newest contract package under proto/txf/ (txf.v1 -> 1)."""
    majors = [int(m[1]) for p in (root / "proto" / "txf").iterdir() if (m := re.fullmatch(r"v(\d+)", p.name))]
    if not majors:
        raise ReleaseError("proto/txf has no vN package directory")
    return max(majors)


def check_can_release(root: Path, version: str) -> list[lock.Release]:
    """Every precondition, before anything is written; returns the current releases."""
    parsed = lock.parse_version(version)
    releases = lock.load(root)
    if releases and parsed <= lock.parse_version(releases[-1].version):
        raise ReleaseError(f"VERSION={version} must be greater than the last release {releases[-1].version}")
    major = contract_major(root)
    if parsed[0] != major:
        raise ReleaseError(
            f"VERSION={version}: the major must be {major}, the newest contract package "
            f"(txf.v{major}); a breaking shape goes into a new package txf.v{major + 1}"
        )
    dirty = history.git(root, "status", "--porcelain").strip()
    if dirty:
        raise ReleaseError("the working tree has uncommitted changes; a release is cut from a commit:\n" + dirty)
    tree = history.head_proto_tree(root)
    if tree is None:
        raise ReleaseError("HEAD has no proto/")
    if releases and tree == releases[-1].proto_tree:
        raise ReleaseError(f"nothing to release: proto/ is unchanged since v{releases[-1].version}")
    for tag in (f"contracts/v{version}", f"gen/go/v{version}"):
        if history.git(root, "tag", "--list", tag).strip():
            raise ReleaseError(f"tag {tag} already exists")
    return releases


def record(root: Path, buf: str, version: str, say: Callable[[str], None]) -> lock.Release:
    """Write the image and the lock entry, stamp the versions, commit and tag."""
    tree = history.head_proto_tree(root)
    assert tree is not None
    image = root / lock.LOCK_DIR / lock.image_name(version)
    subprocess.run([buf, "build", "proto", "--exclude-source-info", "-o", str(image)], cwd=root, check=True)
    release = lock.Release(
        version=version,
        date=dt.datetime.now(dt.UTC).date().isoformat(),
        proto_tree=tree,
        image=image.name,
        sha256=lock.sha256_of(image),
    )
    lock.append(root, release)
    written = versions.stamp(root, version)
    history.git(root, "add", "--", f"{lock.LOCK_DIR}/{lock.LOCK_FILE}", f"{lock.LOCK_DIR}/{image.name}", *written)
    history.git(
        root,
        "commit",
        "--quiet",
        "-m",
        f"contracts: release txf contract v{version}",
        "-m",
        f"proto/ tree {tree}; image {image.name} sha256 {release.sha256}",
    )
    history.git(root, "tag", "-a", f"contracts/v{version}", "-m", f"txf contract v{version}")
    history.git(root, "tag", f"gen/go/v{version}")
    say(
        f"recorded v{version}: {lock.LOCK_DIR}/{image.name}, lock entry, {len(written)} manifests, "
        f"commit {history.git(root, 'rev-parse', '--short', 'HEAD').strip()}, "
        f"tags contracts/v{version} gen/go/v{version}"
    )
    return release


def run(root: Path, buf: str, version: str, out_dir: Path, say: Callable[[str], None] = print) -> int:
    """The whole release; 0 done, 1 refused (nothing written) or failed (the message says where)."""
    try:
        check_can_release(root, version)
    except (ReleaseError, lock.LockError, history.HistoryError) as exc:
        say(f"release: refused: {exc}")
        return 1
    # the gate again, in-process: the release must never rest on a gate run against another tree
    if breaking.run(root, buf) != breaking.EXIT_OK:
        say("release: refused: the breaking-change gate failed (see above)")
        return 1
    record(root, buf, version, lambda m: say(f"release: {m}"))
    try:
        artifacts = dist.build(root, out_dir, say=lambda m: say(f"release: {m}"))
    except dist.DistError as exc:
        say(
            f"release: recorded, but building the artifacts failed: {exc}\n"
            "release: fix it and run `make dist` (the release commit and tags stay)"
        )
        return 1
    say(
        f"release: v{version} done: {len(artifacts)} artifacts in {out_dir} (see SHA256SUMS); "
        f"publish by pushing the commit and the tags contracts/v{version} gen/go/v{version}"
    )
    return 0
