"""A throwaway clone of this repository as CI meets it: the committed HEAD, no remote, no tags.

The contract gates are tested on commits, in clones, because that is where they must hold: a gate
that only judges uncommitted edits, or needs a tag the real repository lacks, passes in CI no
matter what. The clone borrows the checkout's installed tools (.venv, .tools, gen/ts/node_modules)
through symlinks, as if `tools/bootstrap.sh` had run in it, and runs the Makefile's targets with
the bootstrap stamp taken as done (`make -o .venv/.bootstrapped`).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BORROWED = (".venv", ".tools", "gen/ts/node_modules")
IDENTITY = ("-c", "user.name=txf-test", "-c", "user.email=txf-test@example.invalid")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *IDENTITY, *args], capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


@dataclass
class Clone:
    """A CI-like clone with helpers to edit, commit and run the project's commands in it."""

    path: Path

    def edit(self, rel: str, old: str, new: str) -> None:
        file = self.path / rel
        text = file.read_text("utf-8")
        assert old in text, f"{old!r} not in {rel}: the test's edit no longer applies"
        file.write_text(text.replace(old, new, 1), "utf-8")

    def commit(self, message: str) -> str:
        git(self.path, "add", "-A", "--", ".")
        git(self.path, "commit", "-q", "-m", message)
        return git(self.path, "rev-parse", "HEAD").strip()

    def run(self, *cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        full_env.pop("BUF", None)
        return subprocess.run(list(cmd), cwd=self.path, capture_output=True, text=True, env=full_env)

    def gate(self) -> subprocess.CompletedProcess[str]:
        """The breaking gate, exactly the command `make breaking` runs (make itself turns 100 into 2)."""
        return self.run(".venv/bin/python", "-m", "tools.contract", "breaking")

    def make(self, *targets: str) -> subprocess.CompletedProcess[str]:
        return self.run("make", "--no-print-directory", "-o", ".venv/.bootstrapped", *targets)


def ci_clone(dest: Path, *, depth: int | None = None, keep_remote: bool = False) -> Clone:
    """Clone ROOT's HEAD into dest as CI does (no tags; no remote unless `keep_remote`)."""
    source = ROOT.as_uri() if depth else str(ROOT)  # --depth is ignored for a plain local path
    cmd = ["git", "clone", "-q", "--no-tags", *(["--depth", str(depth)] if depth else []), source, str(dest)]
    subprocess.run(cmd, check=True, capture_output=True)
    if not keep_remote:
        git(dest, "remote", "remove", "origin")
    git(dest, "config", "user.name", "txf-test")
    git(dest, "config", "user.email", "txf-test@example.invalid")
    for rel in BORROWED:
        link = dest / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT / rel, target_is_directory=True)
    # the borrowed links are not part of the repository (nor is anything a test builds in it)
    (dest / ".git" / "info" / "exclude").write_text("\n".join(["/.venv", "/.tools", "node_modules"]) + "\n")
    return Clone(dest)
