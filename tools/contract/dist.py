"""Build the installable artifacts of the released contract into dist/.

    dist/python/   wheel + sdist of txf-contracts (gen/python), txf-contracts-betterproto
                   (gen/betterproto), and txf-consumer (consumers/python) with the kit's light part it
                   stands on, txf-kit (kit), each versioned on its own
    dist/npm/      txfstream-txf-contracts-X.Y.Z.tgz (gen/ts: ESM + .d.ts + sources)
    dist/maven/    a Maven repository: io/github/txfstream/txf-contracts/X.Y.Z/ (jar, sources jar, pom)
    dist/goproxy/  a GOPROXY directory: github.com/txfstream/txfstream/gen/go/@v/vX.Y.Z.{info,mod,zip}
    dist/SHA256SUMS

Only a released contract is built (proto/ equal to the newest release in the lock, every manifest
at its version), so an artifact's version always names exactly one contract. Timestamps inside the
archives come from the commit (SOURCE_DATE_EPOCH), not from the build machine's clock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tools.contract import history, lock, versions

PYTHON_PACKAGES = ("gen/python", "gen/betterproto", "kit", "consumers/python")
GO_MODULE_DIR = "gen/go"


class DistError(RuntimeError):
    """An artifact could not be built; the message names the step and the tool's output."""


def _run(step: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        raise DistError(f"{step}: `{' '.join(cmd)}` exited {done.returncode}:\n{tail}")


def go_module_path(root: Path) -> str:
    for line in (root / GO_MODULE_DIR / "go.mod").read_text("utf-8").splitlines():
        if line.startswith("module "):
            return line.split()[1]
    raise DistError(f"{GO_MODULE_DIR}/go.mod has no module line")


def check_released(root: Path) -> lock.Release:
    """The newest release, if proto/ and every manifest are exactly it; DistError otherwise."""
    releases = lock.load(root)
    if not releases:
        raise DistError("no release in contracts/releases.toml: record one with `make release-contract VERSION=...`")
    latest = releases[-1]
    if (
        history.git(root, "status", "--porcelain", "--", "proto").strip()
        or history.head_proto_tree(root) != latest.proto_tree
    ):
        raise DistError(
            f"proto/ differs from release v{latest.version}: artifacts are built only from a released "
            "contract; record it first with `make release-contract VERSION=x.y.z`"
        )
    bad = versions.mismatches(root, latest.version)
    if bad:
        raise DistError(f"manifests disagree with release v{latest.version}: {'; '.join(bad)}")
    return latest


def build(root: Path, out: Path, say: Callable[[str], None] = print) -> list[Path]:
    """Every artifact of the newest release, into a fresh `out`; returns the files written."""
    try:
        release = check_released(root)
    except (lock.LockError, history.HistoryError) as exc:
        raise DistError(str(exc)) from None
    version = release.version
    epoch = history.git(root, "log", "-1", "--format=%ct", "HEAD").strip()
    commit_time = history.git(root, "log", "-1", "--format=%cI", "HEAD").strip()
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch}
    if out.exists():
        shutil.rmtree(out)
    for sub in ("python", "npm", "maven", "goproxy"):
        (out / sub).mkdir(parents=True)

    for pkg in PYTHON_PACKAGES:
        say(f"dist: python {pkg}")
        _run(
            f"python package {pkg}",
            [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out / "python"), str(root / pkg)],
            root,
            env,
        )
    say("dist: npm gen/ts")
    _run(
        "npm package gen/ts",
        ["npm", "pack", "--ignore-scripts", "--silent", "--pack-destination", str(out / "npm")],
        root / "gen/ts",
        env,
    )
    say("dist: maven gen/java (jar, sources, pom; golden vectors tested)")
    _run(
        "maven artifact gen/java",
        [
            "mvn",
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(root / "gen/java/pom.xml"),
            "deploy",
            f"-DaltDeploymentRepository=txf-dist::{(out / 'maven').as_uri()}",
        ],
        root,
        env,
    )
    say("dist: go module gen/go")
    gomodzip = root / ".tools/bin/gomodzip"
    if not gomodzip.is_file():
        raise DistError(f"{gomodzip} is missing: run `make bootstrap`")
    _run(
        "go module gen/go",
        [
            str(gomodzip),
            "-dir",
            str(root / GO_MODULE_DIR),
            "-module",
            go_module_path(root),
            "-version",
            f"v{version}",
            "-time",
            commit_time,
            "-out",
            str(out / "goproxy"),
        ],
        root,
        env,
    )

    files = sorted(p for p in out.rglob("*") if p.is_file() and not p.name.startswith("maven-metadata"))
    sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out)}\n" for p in files)
    (out / "SHA256SUMS").write_text(sums, "utf-8")
    say(f"dist: v{version}: {len(files)} files in {out}")
    return files
