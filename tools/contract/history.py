"""Every committed state of `proto/` in git history: the gate's second baseline.

Why history as well as the lock: `main` is the product. A field that reached a commit on main may
already be in Kafka (the producer on main wrote it, `make register` registered it), so removing it
later breaks readers even if no release was cut in between. History also covers releases made
before the lock existed.

A shallow clone has no history, and a gate without a baseline would pass anything: it fetches the
full history from a remote when there is one, and otherwise fails saying how to clone.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROTO = "proto"


class HistoryError(RuntimeError):
    """History cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class ProtoState:
    """One distinct committed content of proto/: its tree hash and the oldest commit that has it."""

    tree: str
    commit: str
    date: str
    subject: str

    def label(self) -> str:
        return f'commit {self.commit[:9]} ({self.date}) "{self.subject[:60]}"'


def git(root: Path, *args: str) -> str:
    """stdout of a git command in `root`; HistoryError with git's message on failure."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise HistoryError("git is not installed; the gate reads proto/'s history with it") from None
    if done.returncode != 0:
        raise HistoryError(f"git {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout


def is_git_checkout(root: Path) -> bool:
    try:
        return git(root, "rev-parse", "--is-inside-work-tree").strip() == "true"
    except HistoryError:
        return False


def ensure_full_history(root: Path, say: Callable[[str], None]) -> None:
    """Make a shallow clone whole by fetching from a remote, or raise saying how to get history."""
    if git(root, "rev-parse", "--is-shallow-repository").strip() != "true":
        return
    remotes = git(root, "remote").split()
    for remote in remotes:
        say(f"shallow clone: fetching the full history from remote '{remote}'")
        try:
            git(root, "fetch", "--unshallow", "--no-tags", "--quiet", remote)
            return
        except HistoryError as exc:
            say(f"fetch from '{remote}' failed: {exc}")
    raise HistoryError(
        "this clone is shallow and its history cannot be fetched"
        + (f" (remotes tried: {', '.join(remotes)})" if remotes else " (no remote configured)")
        + ": the gate must see every committed state of proto/. Clone without --depth, run "
        "`git fetch --unshallow`, or set `fetch-depth: 0` on actions/checkout"
    )


def proto_states(root: Path) -> list[ProtoState]:
    """Distinct trees of proto/ in HEAD's history, newest first (commits without proto/ skipped)."""
    try:
        git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    except HistoryError:
        return []  # a repository without commits has no history to keep
    out = git(root, "log", "--format=%H%x09%cs%x09%s", "HEAD", "--", PROTO)
    seen: dict[str, ProtoState] = {}
    for line in out.splitlines():
        commit, date, subject = line.split("\t", 2)
        listing = git(root, "ls-tree", "-d", commit, PROTO).split()
        if len(listing) < 3:
            continue  # proto/ absent at this commit (before the contract, or deleted)
        tree = listing[2]
        # newest first: overwrite so each tree is labelled by the oldest commit that has it
        seen[tree] = ProtoState(tree, commit, date, subject)
    ordered = list(dict.fromkeys(seen))
    return [seen[t] for t in ordered]


def head_proto_tree(root: Path) -> str | None:
    """The tree hash of proto/ at HEAD (None if HEAD has no proto/)."""
    listing = git(root, "ls-tree", "-d", "HEAD", PROTO).split()
    return listing[2] if len(listing) >= 3 else None


def export(root: Path, commit: str, dest: Path) -> Path:
    """Write proto/ as committed at `commit` under dest; returns dest/proto."""
    data = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", commit, PROTO], capture_output=True, check=False
    )
    if data.returncode != 0:
        raise HistoryError(f"git archive {commit[:9]} {PROTO}: {data.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(data.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest / PROTO
