"""The breaking-change gate judges committed changes the way CI meets them.

Every case runs in a fresh clone of this repository's HEAD with no remote and no tags (ciclone.py):
the edit is committed, then the gate runs exactly as `make breaking` runs it. Its baselines are the
releases in contracts/releases.toml and every committed state of proto/ (tools/contract).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ciclone import ROOT, Clone, ci_clone, git

TICK = "proto/txf/v1/tick.proto"
BIDASK = "proto/txf/v1/bidask.proto"
COMMON = "proto/txf/v1/common.proto"

# edit -> (file, old, new, what buf must name in its violation)
BREAKING_EDITS = {
    "field_retyped": (
        TICK,
        "int64 close = 3;",
        "string close = 3;",
        'Field "3" with name "close" on message "Tick" changed type from "int64" to "string"',
    ),
    "field_deleted": (
        TICK,
        "  int64 volume = 4;\n",
        "",
        'Previously present field "4" with name "volume" on message "Tick" was deleted',
    ),
    "field_renumbered": (
        BIDASK,
        "int64 bid_total_vol = 3;",
        "int64 bid_total_vol = 30;",
        'Previously present field "3" with name "bid_total_vol" on message "BidAsk" was deleted',
    ),
    "message_renamed": (
        BIDASK,
        "message BidAsk {",
        "message OrderBook {",
        'Previously present message "BidAsk" was deleted',
    ),
    "string_to_bytes": (
        TICK,
        "string code = 1;",
        "bytes code = 1;",
        'Field "1" with name "code" on message "Tick" changed type from "string" to "bytes"',
    ),
    "int64_to_int32": (
        TICK,
        "int64 close = 3;",
        "int32 close = 3;",
        'Field "3" with name "close" on message "Tick" changed type from "int64" to "int32"',
    ),
    "field_renamed": (
        TICK,
        "int64 close = 3;",
        "int64 last_price = 3;",
        'Field "3" on message "Tick" changed name from "close" to "last_price"',
    ),
    "enum_value_deleted": (
        COMMON,
        "  CHG_TYPE_LIMIT_DOWN = 5;\n",
        "",
        'Previously present enum value "5" on enum "ChgType" was deleted',
    ),
    "repeated_made_singular": (
        BIDASK,
        "repeated int64 bid_price = 5;",
        "int64 bid_price = 5;",
        'Field "5" with name "bid_price" on message "BidAsk" changed cardinality',
    ),
    "sint64_to_int64": (
        BIDASK,
        "repeated sint64 diff_bid_vol = 7;",
        "repeated int64 diff_bid_vol = 7;",
        'Field "7" with name "diff_bid_vol" on message "BidAsk" changed type from "sint64"',
    ),
    "go_package_changed": (TICK, 'gen/go/txf/v1;txfv1"', 'gen/go/txf/tick;txfv1"', 'File option "go_package" changed'),
}
LAST_TICK_FIELD = "  int64 gap_start_ns = 25;\n"  # where a test adds a field: after the contract's last one
ADDED_FIELD = LAST_TICK_FIELD + "  // Exchange name (test-only addition).\n  string venue = 26;\n"


@pytest.fixture
def clone(tmp_path: Path) -> Clone:
    return ci_clone(tmp_path / "clone")


@pytest.mark.parametrize("edit", BREAKING_EDITS.values(), ids=BREAKING_EDITS.keys())
def test_committed_breaking_edit_fails_the_gate(clone: Clone, edit: tuple[str, str, str, str]) -> None:
    rel, old, new, violation = edit
    clone.edit(rel, old, new)
    clone.commit("a breaking edit")
    result = clone.gate()
    assert result.returncode == 100, result.stdout + result.stderr
    assert violation in result.stdout
    assert "release v1.0.0: BREAKING" in result.stdout
    assert "BREAKING CHANGE against release v1.0.0" in result.stderr


def test_make_breaking_fails_ci_on_a_committed_break(clone: Clone) -> None:
    """What .ci/run sees: `make breaking` fails (make reports the gate's 100 as its own 2)."""
    clone.edit(TICK, "int64 close = 3;", "string close = 3;")
    clone.commit("retype close")
    result = clone.make("breaking")
    assert result.returncode != 0
    assert "Error 100" in result.stderr and 'changed type from "int64" to "string"' in result.stdout


def test_unchanged_main_passes(clone: Clone) -> None:
    result = clone.make("breaking")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "release v1.0.0: compatible" in result.stdout


def test_additive_commit_passes(clone: Clone) -> None:
    clone.edit(TICK, LAST_TICK_FIELD, ADDED_FIELD)
    clone.edit(
        COMMON, "  CHG_TYPE_LIMIT_DOWN = 5;\n", "  CHG_TYPE_LIMIT_DOWN = 5;\n  // New.\n  CHG_TYPE_HALTED = 6;\n"
    )
    clone.commit("additive")
    result = clone.gate()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no breaking change" in result.stdout


def test_reformat_only_commit_passes(clone: Clone) -> None:
    clone.edit(TICK, "message Tick {\n", "message   Tick\n{\n\n")
    clone.edit(TICK, "  int64 close = 3;", "  int64    close=3  ;  // reflowed")
    clone.commit("reformat")
    result = clone.gate()
    assert result.returncode == 0, result.stdout + result.stderr


def test_new_major_package_beside_v1_passes(clone: Clone) -> None:
    v2 = clone.path / "proto/txf/v2"
    shutil.copytree(clone.path / "proto/txf/v1", v2)
    for file in v2.glob("*.proto"):
        text = file.read_text("utf-8").replace("package txf.v1;", "package txf.v2;").replace("txf/v1", "txf/v2")
        text = text.replace("txf.v1;txfv1", "txf.v2;txfv2").replace("/v1;txfv1", "/v2;txfv2")
        file.write_text(text.replace("io.github.txfstream.txf.v1", "io.github.txfstream.txf.v2"), "utf-8")
    clone.edit("proto/txf/v2/tick.proto", "int64 close = 3;", "string close = 3;")  # free to differ from v1
    clone.commit("txf.v2 beside txf.v1")
    result = clone.gate()
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_field_committed_on_main_stays_even_unreleased(clone: Clone) -> None:
    """History is a baseline: a field that reached main may be in Kafka already, release or not."""
    clone.edit(TICK, LAST_TICK_FIELD, ADDED_FIELD)
    added = clone.commit("add venue")
    assert clone.gate().returncode == 0
    clone.edit(TICK, "  // Exchange name (test-only addition).\n  string venue = 26;\n", "")
    clone.commit("drop venue again")
    result = clone.gate()
    assert result.returncode == 100, result.stdout + result.stderr
    assert f"commit {added[:9]}" in result.stdout and '"venue" on message "Tick" was deleted' in result.stdout
    assert "release v1.0.0: compatible" in result.stdout


def test_every_earlier_state_is_judged_not_only_the_previous(clone: Clone) -> None:
    """Transitive: a break that slipped into history does not become the new normal."""
    clone.edit(TICK, "int64 close = 3;", "string close = 3;")
    clone.commit("break (committed without the gate)")
    clone.edit(TICK, LAST_TICK_FIELD, LAST_TICK_FIELD + "  // Added.\n  int64 extra = 26;\n")
    clone.commit("additive on top of the break")
    result = clone.gate()
    assert result.returncode == 100, result.stdout + result.stderr
    assert "release v1.0.0: BREAKING" in result.stdout  # the previous commit alone would have passed


def test_the_release_lock_judges_without_any_history(clone: Clone) -> None:
    """Squashed history (an orphan commit): the committed release images still catch the break."""
    git(clone.path, "checkout", "-q", "--orphan", "squashed")
    clone.edit(TICK, "int64 close = 3;", "string close = 3;")
    clone.commit("everything in one commit")
    assert git(clone.path, "rev-list", "--count", "HEAD").strip() == "1"
    result = clone.gate()
    assert result.returncode == 100, result.stdout + result.stderr
    assert "release v1.0.0: BREAKING" in result.stdout


def test_an_altered_release_image_stops_the_gate(clone: Clone) -> None:
    image = clone.path / "contracts/txf-1.0.0.binpb"
    image.write_bytes(image.read_bytes() + b"\x00")
    clone.commit("tamper")
    result = clone.gate()
    assert result.returncode == 1
    assert "does not match the sha256 recorded for release 1.0.0" in result.stderr


def test_shallow_clone_without_remote_fails_loudly(tmp_path: Path) -> None:
    shallow = ci_clone(tmp_path / "shallow", depth=1)
    assert git(shallow.path, "rev-parse", "--is-shallow-repository").strip() == "true"
    result = shallow.gate()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "shallow" in result.stderr and "fetch-depth: 0" in result.stderr


def test_shallow_clone_with_a_remote_fetches_its_history(tmp_path: Path) -> None:
    shallow = ci_clone(tmp_path / "shallow", depth=1, keep_remote=True)
    result = shallow.gate()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fetching the full history from remote 'origin'" in result.stdout
    assert git(shallow.path, "rev-parse", "--is-shallow-repository").strip() == "false"
    assert int(git(shallow.path, "rev-list", "--count", "HEAD")) == int(git(ROOT, "rev-list", "--count", "HEAD"))
