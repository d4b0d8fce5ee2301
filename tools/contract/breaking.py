"""The breaking-change gate: `proto/` as it is now against every earlier contract, transitively.

Baselines (each judged with `buf breaking`, FILE rules from buf.yaml):
  1. every release in the lock (`contracts/releases.toml`): its committed buf image;
  2. every distinct committed state of `proto/` in HEAD's history (history.py), except those
     equal to a release already judged.
So a change must be compatible with every version ever released or committed, like the registry's
BACKWARD_TRANSITIVE, not only with the previous one. It needs no network, no remote and no tag: a
fresh CI clone has everything. Exit: 0 no breaking change, 100 breaking (buf's violations listed
under each baseline that the change breaks), 1 the gate could not judge (never a silent pass).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.contract import history, lock

EXIT_OK, EXIT_TOOL, EXIT_BREAKING = 0, 1, 100
FIX = (
    "Keep every released and committed field readable: revert the edit, add a new field or message "
    "instead, or put the new shape in a new package (txf.v2) beside txf.v1."
)


@dataclass(frozen=True)
class Baseline:
    """A contract to stay compatible with: a buf input (image file or proto root) and what it is."""

    label: str
    against: Path


@dataclass(frozen=True)
class Verdict:
    baseline: Baseline
    rc: int
    output: str


def collect(root: Path, workdir: Path, *, use_history: bool, say: Callable[[str], None]) -> list[Baseline]:
    """The baselines to judge against (releases first, then the other committed states)."""
    releases = lock.load(root)
    baselines = [Baseline(f"release v{r.version}", r.image_path(root)) for r in releases]
    if not use_history:
        say("history NOT judged (--lock-only): only the releases in the lock are baselines")
        return baselines
    if not history.is_git_checkout(root):
        raise history.HistoryError(
            f"{root} is not a git checkout: the gate judges every committed state of "
            "proto/; run it in a clone (or pass --lock-only to judge the releases alone)"
        )
    history.ensure_full_history(root, say)
    released_trees = {r.proto_tree for r in releases}
    for state in history.proto_states(root):
        if state.tree in released_trees:
            continue
        proto_root = history.export(root, state.commit, workdir / state.tree)
        baselines.append(Baseline(state.label(), proto_root))
    return baselines


def judge_one(root: Path, buf: str, baseline: Baseline) -> Verdict:
    done = subprocess.run(
        [buf, "breaking", "proto", "--against", str(baseline.against)], cwd=root, capture_output=True, text=True
    )
    return Verdict(baseline, done.returncode, (done.stdout + done.stderr).strip())


def run(
    root: Path,
    buf: str,
    *,
    use_history: bool = True,
    out: Callable[[str], None] = print,
    err: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> int:
    """Judge proto/ against every baseline; print the verdicts; return the exit code."""
    say = lambda m: out(f"breaking: {m}")  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="txf-breaking-") as tmp:
        try:
            baselines = collect(root, Path(tmp), use_history=use_history, say=say)
        except (lock.LockError, history.HistoryError) as exc:
            err(f"breaking: cannot judge: {exc}")
            return EXIT_TOOL
        if not baselines:
            err(
                "breaking: cannot judge: no release in contracts/releases.toml and no committed proto/; "
                "record the first release with `make release-contract VERSION=1.0.0`"
            )
            return EXIT_TOOL
        say(f"judging proto/ against {len(baselines)} earlier contract(s) (FILE rules, transitive)")
        verdicts = [judge_one(root, buf, b) for b in baselines]
    broken = [v for v in verdicts if v.rc == EXIT_BREAKING]
    failed = [v for v in verdicts if v.rc not in (EXIT_OK, EXIT_BREAKING)]
    for v in verdicts:
        state = {EXIT_OK: "compatible", EXIT_BREAKING: "BREAKING"}.get(v.rc, f"buf failed (exit {v.rc})")
        out(f"breaking: {v.baseline.label}: {state}")
        if v.rc != EXIT_OK and v.output:
            out("\n".join("    " + line for line in v.output.splitlines()))
    if failed:
        err(f"breaking: buf could not judge against {', '.join(v.baseline.label for v in failed)} (see above)")
        return EXIT_TOOL
    if broken:
        err(f"breaking: BREAKING CHANGE against {', '.join(v.baseline.label for v in broken)}. {FIX}")
        return EXIT_BREAKING
    out(f"breaking: no breaking change against {len(verdicts)} earlier contract(s)")
    return EXIT_OK
