"""`tools/breaking.sh` fails on breaking contract edits and passes additive ones.

Each case runs the real gate (buf, FILE rules from buf.yaml) in a throwaway git
repository holding a copy of the contract released as tag contracts/v1.0.0.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / ".venv" / "bin" / "buf"
TICK = "proto/txf/v1/tick.proto"
BIDASK = "proto/txf/v1/bidask.proto"
COMMON = "proto/txf/v1/common.proto"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _gate(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "BUF": str(BUF), "HOME": str(repo)}
    return subprocess.run(["bash", "tools/breaking.sh"], cwd=repo, env=env, capture_output=True, text=True)


def _edit(repo: Path, rel: str, old: str, new: str) -> None:
    path = repo / rel
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {rel}: the test's edit no longer applies"
    path.write_text(text.replace(old, new, 1), "utf-8")


def _new_repo(path: Path) -> Path:
    path.mkdir()
    shutil.copytree(ROOT / "proto", path / "proto")
    shutil.copy(ROOT / "buf.yaml", path / "buf.yaml")
    (path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "breaking.sh", path / "tools" / "breaking.sh")
    _git(path, "init", "-q", "-b", "main")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty")
    _git(path, "add", ".")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "contract v1")
    return path


@pytest.fixture
def released(tmp_path: Path) -> Path:
    """A repository whose current contract is released as contracts/v1.0.0."""
    repo = _new_repo(tmp_path / "repo")
    _git(repo, "tag", "contracts/v1.0.0")
    return repo


BREAKING_EDITS = {
    "field_deleted": (TICK, "  int64 volume = 4;\n", ""),
    "field_type_changed": (TICK, "int64 close = 3;", "string close = 3;"),
    "field_renamed": (TICK, "int64 close = 3;", "int64 last_price = 3;"),
    "field_number_changed": (BIDASK, "int64 bid_total_vol = 3;", "int64 bid_total_vol = 30;"),
    "message_renamed": (BIDASK, "message BidAsk {", "message OrderBook {"),
    "enum_value_deleted": (COMMON, "  CHG_TYPE_LIMIT_DOWN = 5;\n", ""),
    "repeated_made_singular": (BIDASK, "repeated int64 bid_price = 5;", "int64 bid_price = 5;"),
    "signedness_encoding_changed": (BIDASK, "repeated sint64 diff_bid_vol = 7;", "repeated int64 diff_bid_vol = 7;"),
    "go_package_changed": (TICK, 'gen/go/txf/v1;txfv1"', 'gen/go/txf/tick;txfv1"'),
}


@pytest.mark.parametrize("edit", BREAKING_EDITS.values(), ids=BREAKING_EDITS.keys())
def test_breaking_edit_fails_the_gate(released: Path, edit: tuple[str, str, str]) -> None:
    _edit(released, *edit)
    result = _gate(released)
    assert result.returncode == 100, result.stdout + result.stderr
    assert "contracts/v1.0.0" in result.stdout
    assert "BREAKING CHANGE" in result.stderr
    assert TICK.removeprefix("proto/") in result.stdout or "txf/v1/" in result.stdout  # buf names the file


def test_additive_edit_passes(released: Path) -> None:
    _edit(released, TICK, "  bool simtrade = 23;\n", "  bool simtrade = 23;\n  // Exchange name.\n  string venue = 24;\n")
    _edit(released, COMMON, "  CHG_TYPE_LIMIT_DOWN = 5;\n", "  CHG_TYPE_LIMIT_DOWN = 5;\n  // New.\n  CHG_TYPE_HALTED = 6;\n")
    result = _gate(released)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no breaking change" in result.stdout


def test_origin_main_is_the_baseline_without_a_tag(tmp_path: Path) -> None:
    """A fresh CI clone has origin/main but no local main and maybe no tags."""
    upstream = _new_repo(tmp_path / "upstream")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-tags", str(upstream), str(clone)], check=True)
    assert _gate(clone).returncode == 0
    _edit(clone, TICK, "int64 close = 3;", "int32 close = 3;")
    result = _gate(clone)
    assert result.returncode == 100, result.stdout + result.stderr
    assert "origin/main" in result.stdout


def test_first_release_has_no_baseline_and_passes(tmp_path: Path) -> None:
    repo = _new_repo(tmp_path / "repo")
    _edit(repo, TICK, "int64 close = 3;", "string close = 3;")
    result = _gate(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no released contract yet" in result.stdout


def test_baseline_without_contract_passes(tmp_path: Path) -> None:
    """The very first commit of the project had no proto/ yet."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty")
    _git(repo, "tag", "contracts/v0.0.0")
    shutil.copytree(ROOT / "proto", repo / "proto")
    shutil.copy(ROOT / "buf.yaml", repo / "buf.yaml")
    (repo / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "breaking.sh", repo / "tools" / "breaking.sh")
    result = _gate(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "has no proto/txf" in result.stdout
