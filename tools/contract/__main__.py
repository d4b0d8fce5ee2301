"""Command line of the contract tooling (see tools/contract/__init__.py); the Makefile calls it."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from tools.contract import breaking, dist, lock, release, versions

ROOT = Path(__file__).resolve().parents[2]


def _buf() -> str:
    """The pinned buf (BUF, else the checkout's .venv), never a random one on PATH unless asked."""
    for candidate in (os.environ.get("BUF"), str(ROOT / ".venv/bin/buf")):
        if candidate and Path(candidate).is_file():
            return candidate
    found = shutil.which("buf")
    if found is None:
        sys.exit("contract: buf not found; run `make bootstrap`")
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.contract", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("breaking", help="judge proto/ against every release and committed state (exit 100: breaking)")
    b.add_argument(
        "--lock-only",
        action="store_true",
        help="judge against the releases in the lock only (outside a git checkout); says so",
    )
    r = sub.add_parser("release", help="record a release and build its artifacts (run the gates first: make)")
    r.add_argument("version", help="MAJOR.MINOR.PATCH, greater than the last release")
    r.add_argument("--out", type=Path, default=ROOT / "dist")
    d = sub.add_parser("dist", help="build the newest release's artifacts into dist/")
    d.add_argument("--out", type=Path, default=ROOT / "dist")
    v = sub.add_parser("versions", help="print the released version; --check: fail if a manifest differs")
    v.add_argument("--check", action="store_true")
    args = p.parse_args(argv)

    if args.command == "breaking":
        return breaking.run(ROOT, _buf(), use_history=not args.lock_only)
    if args.command == "release":
        return release.run(ROOT, _buf(), args.version, args.out.resolve())
    if args.command == "dist":
        try:
            dist.build(ROOT, args.out.resolve())
        except dist.DistError as exc:
            print(f"dist: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        releases = lock.load(ROOT)
    except lock.LockError as exc:
        print(f"versions: {exc}", file=sys.stderr)
        return 1
    latest = releases[-1].version if releases else None
    if not args.check:
        print(latest or "unreleased")
        return 0
    bad = versions.mismatches(ROOT, latest) if latest else []
    if bad:
        print(
            f"versions: manifests disagree with the released contract v{latest} (contracts/releases.toml): "
            f"{'; '.join(bad)}. The release stamps them: never edit a version by hand.",
            file=sys.stderr,
        )
        return 1
    print(f"versions: every manifest carries the released contract version {latest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
