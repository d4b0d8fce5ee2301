"""The compatibility gate (`txf-registry check`) against the real registry.

v1 (the real contract, as the generated modules carry it) is registered under unique subjects; then each
edit is applied to a copy of proto/ and judged with `txf-registry check --proto-root <copy>`. Breaking
edits must fail (exit 1) and name the subject; the tool's own judge (buf) must pass every additive and
harmless edit.

Two judges, both printed per subject by the CLI:
- the registry's own check (POST /compatibility/...): Apicurio 3.3.3 answers 422 for schemas with references,
  so for the Tick subjects it "cannot judge"; it does judge common.proto and BidAsk (no references);
- buf breaking (FILE rules) of the copy against every registered version the level covers.
EDITS records, per edit and subject, what each judge said (measured against the real stack).

Measured gap (pinned here): Apicurio 3.3.3 applies FORWARD as BACKWARD with old and new swapped, so under
FULL / FULL_TRANSITIVE it rejects every ADDED field or enum value, as if it were a removed one (see
test_full_transitive_refuses_additions_on_apicurio). That is why subjects.toml declares BACKWARD_TRANSITIVE,
which Apicurio applies in protobuf terms (addition accepted, retyped field refused); the forward half is
buf's, which refuses any removal, renumbering or retyping.

Registering changed contracts for real: `buf generate` of the edited tree, then `txf-registry register` in a
subprocess that imports the regenerated `txf.v1` (what `make gen && make register` would do).

The shared reference subject txf/v1/common.proto is never registered changed: edits of common.proto are
only `check`ed (check registers nothing).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from txf_registry import cli, declaration

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto"
DECLARATION = REPO / "kit" / "txf_kit" / "subjects.toml"
COMMON = "txf/v1/common.proto"
VERDICT_LINE = re.compile(
    r"^(?P<subject>\S+)\s+(?P<level>[A-Z_]+)\s+registry: (?P<registry>compatible|INCOMPATIBLE|cannot judge)\s+"
    r"buf \(FILE\) vs (?P<versions>\S+): (?P<buf>compatible|INCOMPATIBLE|cannot judge)$"
)
OK, BAD, NJ = "compatible", "INCOMPATIBLE", "cannot judge"


# --- helpers -------------------------------------------------------------------------------------


def unique_declaration(directory: Path, prefix: str | None = None, edit=lambda text: text) -> tuple[Path, str]:
    """subjects.toml with every topic name prefixed by a unique prefix; (path, prefix)."""
    prefix = prefix or f"rg{uuid.uuid4().hex[:10]}"
    text, n = re.subn(
        r'(?m)^name = "([a-z0-9-]+)"', lambda m: f'name = "{prefix}-{m.group(1)}"', DECLARATION.read_text("utf-8")
    )
    assert n == len(declaration.load(DECLARATION).topics), "subjects.toml layout changed: fix the prefixing"
    path = directory / f"{prefix}-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(edit(text), "utf-8")
    return path, prefix


VALUE_SUBJECTS = sum(1 for t in declaration.load(DECLARATION).topics if t.message)  # topics with a schema


def env_of(stack) -> dict[str, str]:
    return {"TXF_REGISTRY_URL": stack.registry_url, "TXF_KAFKA_BOOTSTRAP": stack.bootstrap_servers}


def run_cli(stack, decl: Path, *argv: str) -> tuple[int, str, str]:
    """`txf-registry --declaration decl argv...` in-process; (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env_of(stack).items():
            mp.setenv(key, value)
        mp.chdir(decl.parent)  # no developer .env leaks into the settings
        with redirect_stdout(out), redirect_stderr(err):
            rc = cli.main(["--declaration", str(decl), "--no-legs", *argv])  # legs: test_registry_legs.py
    return rc, out.getvalue(), err.getvalue()


def verdicts(out: str, prefix: str) -> dict[str, dict[str, str]]:
    """Per subject key (common, tick, r2, bidask, gaps, loadtest): the CLI's registry and buf verdicts and versions."""
    keys = {
        COMMON: "common",
        f"{prefix}-txf-tick-value": "tick",
        f"{prefix}-txfr2-tick-value": "r2",
        f"{prefix}-txf-bidask-value": "bidask",
        f"{prefix}-txf-gaps-value": "gaps",
        f"{prefix}-txf-loadtest-value": "loadtest",
        f"{prefix}-txf-bars-1m-value": "bars",
    }
    found = {}
    for m in map(VERDICT_LINE.match, out.splitlines()):
        if m:
            found[keys[m["subject"]]] = m.groupdict()
    return found


def problems_of(out: str, subject: str) -> list[str]:
    """The indented lines the CLI prints under one subject's verdict line."""
    lines, inside = [], False
    for line in out.splitlines():
        if not line.startswith(" "):
            inside = line.startswith(subject + " ")
        elif inside:
            lines.append(line.strip())
    return lines


def http_get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def q(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")


def copy_proto(directory: Path) -> Path:
    root = directory / "proto"
    shutil.copytree(PROTO, root)
    return root


def sub(root: Path, name: str, old: str, new: str, count: int = 1) -> None:
    """Replace `old` by `new` in proto file `name` (e.g. "tick"); `old` must occur exactly `count` times."""
    path = root / "txf" / "v1" / f"{name}.proto"
    text = path.read_text("utf-8")
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {path.name}: fix the edit"
    path.write_text(text.replace(old, new), "utf-8")


def reformat(root: Path) -> None:
    """Same definitions, different layout: tabs, spacing, blank lines, one-line enum."""
    for path in (root / "txf" / "v1").glob("*.proto"):
        text = path.read_text("utf-8")
        text = re.sub(r"(?m)^  ", "\t\t", text)
        text = re.sub(r" = (\d+);", r"=\1 ;", text)
        text = text.replace(";\n", ";\n\n")
        path.write_text(text, "utf-8")
    sub(root, "common", "enum TickType {", "enum TickType\n{")


def comment_only(root: Path) -> None:
    sub(root, "tick", "// Trade price, index points x10000.", "// Trade price (last), index points x 10000.")
    sub(root, "bidask", "// Bid volumes per level, contracts.", "/* Bid volumes per level, in contracts. */")
    sub(root, "common", "// Not set by the source.", "// Not set by the source (comment edited).\n  // Second line.")


def package_rename(root: Path) -> None:
    for name in ("common", "tick", "bidask", "gap", "bar"):
        sub(root, name, "package txf.v1;", "package txf.v2;")


# --- the edits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    id: str
    kind: str  # "additive", "harmless" or "breaking"
    apply: Callable[[Path], None]
    # subject key -> (registry verdict, buf verdict), as measured; subjects not named:
    # (cannot judge, compatible) for the Tick subjects, (compatible, compatible) for common and bidask
    expect: dict[str, tuple[str, str]] = field(default_factory=dict)
    buf_says: str = ""  # a phrase of buf's report for each subject buf flags
    messages: tuple[tuple[str, str], ...] = ()  # declaration edits that go with the .proto edit

    def verdict(self, key: str) -> tuple[str, str]:
        key = "bidask" if key == "loadtest" else key  # the load-test topic carries BidAsk: judged alike
        return self.expect.get(key, (NJ, OK) if key in ("tick", "r2") else (OK, OK))


TICK_BUF_ONLY = {"tick": (NJ, BAD), "r2": (NJ, BAD)}  # registry cannot judge Tick (422): buf caught it

EDITS = [
    # --- additive and harmless: buf passes every one ----------------------------------------------
    Edit(
        "tick-new-field",
        "additive",
        lambda r: sub(
            r,
            "tick",
            "  int64 gap_start_ns = 25;\n}",
            "  int64 gap_start_ns = 25;\n  // Added by the gate test.\n  int64 gate_added = 26;\n}",
        ),
    ),
    Edit(
        "common-new-enum-value",
        "additive",
        lambda r: sub(
            r,
            "common",
            "  CHG_TYPE_LIMIT_DOWN = 5;\n}",
            "  CHG_TYPE_LIMIT_DOWN = 5;\n  // Added by the gate test.\n  CHG_TYPE_HALTED = 6;\n}",
        ),
    ),
    Edit(
        "bidask-new-field",
        "additive",
        lambda r: sub(
            r,
            "bidask",
            "  int64 gap_start_ns = 22;\n}",
            "  int64 gap_start_ns = 22;\n  // Added by the gate test.\n  int64 gate_added = 23;\n}",
        ),
    ),
    Edit("comment-only", "harmless", comment_only),
    Edit("reformatting", "harmless", reformat),
    # --- breaking: exit 1, the subject named, buf's reason under it --------------------------------
    Edit(
        "tick-field-type-int64-to-string",
        "breaking",
        lambda r: sub(r, "tick", "int64 volume = 4;", "string volume = 4;"),
        TICK_BUF_ONLY,
        'changed type from "int64" to "string"',
    ),
    Edit(
        "bidask-field-type-int64-to-string",
        "breaking",
        lambda r: sub(r, "bidask", "int64 bid_total_vol = 3;", "string bid_total_vol = 3;"),
        {"bidask": (BAD, BAD)},
        'changed type from "int64" to "string"',
    ),
    Edit(
        "bidask-removed-field",
        "breaking",
        lambda r: sub(r, "bidask", "  int64 underlying_price = 15;\n", ""),
        {"bidask": (BAD, BAD)},
        'field "15" with name "underlying_price" on message "BidAsk" was deleted',
    ),
    Edit(
        "tick-renumbered-field",
        "breaking",
        lambda r: sub(r, "tick", "int64 open = 12;", "int64 open = 26;"),
        TICK_BUF_ONLY,
        'field "12" with name "open" on message "Tick" was deleted',
    ),
    Edit(
        "bidask-renumbered-field",
        "breaking",
        lambda r: sub(r, "bidask", "int64 underlying_price = 15;", "int64 underlying_price = 23;"),
        {"bidask": (BAD, BAD)},
        'field "15" with name "underlying_price" on message "BidAsk" was deleted',
    ),
    Edit(
        "bidask-renamed-message",
        "breaking",
        lambda r: sub(r, "bidask", "message BidAsk {", "message BookSnapshot {"),
        {"bidask": (BAD, BAD)},
        'message "BidAsk" was deleted',
        messages=(("txf.v1.BidAsk", "txf.v1.BookSnapshot"),),
    ),
    Edit(
        "common-removed-enum-value",
        "breaking",
        lambda r: sub(r, "common", "  CHG_TYPE_LIMIT_DOWN = 5;\n", ""),
        {"common": (BAD, BAD), **TICK_BUF_ONLY},
        'Previously present enum value "5" on enum "ChgType" was deleted',
    ),
    Edit(
        "bidask-repeated-to-singular",
        "breaking",
        lambda r: sub(r, "bidask", "repeated int64 bid_price = 5;", "int64 bid_price = 5;"),
        {"bidask": (BAD, BAD)},
        'changed cardinality from "repeated"',
    ),
    Edit(
        "tick-int64-to-sint64",
        "breaking",
        lambda r: sub(r, "tick", "int64 close = 3;", "sint64 close = 3;"),
        TICK_BUF_ONLY,
        'changed type from "int64" to "sint64"',
    ),
    Edit(
        "bidask-int64-to-sint64",
        "breaking",
        lambda r: sub(r, "bidask", "int64 timestamp_ms = 2;", "sint64 timestamp_ms = 2;"),
        {"bidask": (BAD, BAD)},
        'changed type from "int64" to "sint64"',
    ),
    # Apicurio ignores the package: only buf catches a package rename
    Edit(
        "package-rename-v1-to-v2",
        "breaking",
        package_rename,
        {
            "common": (OK, BAD),
            "tick": (NJ, BAD),
            "r2": (NJ, BAD),
            "bidask": (OK, BAD),
            "gaps": (OK, BAD),
            "bars": (OK, BAD),
        },
        'File package changed from "txf.v1" to "txf.v2"',
        messages=(
            ("txf.v1.Tick", "txf.v2.Tick"),
            ("txf.v1.BidAsk", "txf.v2.BidAsk"),
            ("txf.v1.Gap", "txf.v2.Gap"),
            ("txf.v1.Bar", "txf.v2.Bar"),
        ),
    ),
]
assert sum(e.kind == "breaking" for e in EDITS) >= 8


@pytest.fixture(scope="module")
def v1(stack, tmp_path_factory):
    """The real contract registered as v1 under unique subjects; (declaration path, prefix)."""
    decl_path, prefix = unique_declaration(tmp_path_factory.mktemp("gate-v1"))
    rc, out, err = run_cli(stack, decl_path, "register")
    assert rc == 0, err
    own = [line for line in out.splitlines() if line.startswith(prefix)]
    assert len(own) == VALUE_SUBJECTS and all(" version 1 " in line for line in own), out  # common.proto is shared
    return decl_path, prefix


@pytest.mark.parametrize("edit", EDITS, ids=[e.id for e in EDITS])
def test_check_judges_the_edit(stack, v1, tmp_path, edit):
    decl_path, prefix = v1
    if edit.messages:  # the declaration follows the .proto edit (same unique topics)
        text = decl_path.read_text("utf-8")
        for old, new in edit.messages:
            assert f'message = "{old}"' in text
            text = text.replace(f'message = "{old}"', f'message = "{new}"')
        decl_path = tmp_path / decl_path.name
        decl_path.write_text(text, "utf-8")
    root = copy_proto(tmp_path)
    edit.apply(root)
    assert any((root / p.relative_to(PROTO)).read_bytes() != p.read_bytes() for p in PROTO.rglob("*.proto"))

    rc, out, err = run_cli(stack, decl_path, "check", "--proto-root", str(root))
    found = verdicts(out, prefix)
    print(
        f"\nTABLE {edit.id:<36} exit {rc}  "
        + "  ".join(
            f"{k}: registry {found[k]['registry']} / buf {found[k]['buf']}"
            for k in ("common", "tick", "r2", "bidask", "gaps", "loadtest", "bars")
        )
    )
    assert set(found) == {"common", "tick", "r2", "bidask", "gaps", "loadtest", "bars"}, out + err
    for key, v in found.items():
        assert v["versions"] == "v1" or key == "common", v  # our subjects: one version (common.proto is shared)
        assert (v["registry"], v["buf"]) == edit.verdict(key), (key, out)
    if edit.kind != "breaking":  # the tool's own judge raises no alarm on an additive or harmless edit
        assert all(v["buf"] == OK for v in found.values()), out
    flagged = [found[k]["subject"] for k in found if BAD in edit.verdict(k)]
    if not flagged:
        assert rc == 0, out + err
        assert "check: the local contract is compatible" in out and err == ""
        return
    assert rc == 1, out + err
    assert f"check: {len(flagged)} subject(s) incompatible" in err
    for key in found:
        subject, (registry, buf) = found[key]["subject"], edit.verdict(key)
        reasons = problems_of(out, subject)
        if registry == BAD:
            assert "registry: registry check: incompatible under BACKWARD_TRANSITIVE" in reasons, reasons
        if buf == BAD:  # buf's reason, against the registered version
            assert any(edit.buf_says in r and r.startswith("v1: ") for r in reasons), (subject, reasons)
        else:
            assert not any(r.startswith("v1: ") for r in reasons), (subject, reasons)


def test_check_names_the_subject_when_a_message_vanishes_without_declaration_change(stack, v1, tmp_path):
    """Renaming Tick without touching subjects.toml: the declaration no longer binds, exit 1 naming it."""
    decl_path, prefix = v1
    root = copy_proto(tmp_path)
    sub(root, "tick", "message Tick {", "message Trade {")
    rc, out, err = run_cli(stack, decl_path, "check", "--proto-root", str(root))
    print(f"\nTABLE {'tick-renamed-message (decl unchanged)':<36} exit {rc}  {err.strip()}")
    assert rc == 1 and out == ""
    assert err.strip() == (
        f"txf-registry check: topic {prefix}-txf-tick (subject {prefix}-txf-tick-value): "
        "message 'txf.v1.Tick' is not in the contract"
    )


# --- real registration of a changed contract -------------------------------------------------------


def regenerate(root: Path, out_dir: Path) -> Path:
    """`buf generate` python modules for a proto tree into out_dir, as an importable `txf.v1` package."""
    buf = Path(sys.prefix) / "bin" / "buf"
    protoc = Path(sys.prefix) / "bin" / "protoc"
    template = json.dumps(
        {"version": "v2", "plugins": [{"protoc_builtin": "python", "protoc_path": str(protoc), "out": str(out_dir)}]}
    )
    subprocess.run(
        [str(buf), "generate", str(root), "--template", template], check=True, timeout=60, capture_output=True
    )
    (out_dir / "txf" / "__init__.py").write_text("")
    (out_dir / "txf" / "v1" / "__init__.py").write_text("")  # the registry tool finds every *_pb2 module itself
    return out_dir


def register_generated(stack, decl: Path, gen_dir: Path) -> subprocess.CompletedProcess:
    """`txf-registry register` in a process whose `txf.v1` is the regenerated one (what `make gen` would give)."""
    script = Path(sys.prefix) / "bin" / "txf-registry"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "txf_registry.cli"]
    env = {**os.environ, **env_of(stack), "PYTHONPATH": str(gen_dir)}
    return subprocess.run(
        [*cmd, "--declaration", str(decl), "register"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=decl.parent,
    )


@pytest.mark.parametrize(
    "name, old, new, subject, judge",
    [
        # BidAsk has no references: `check` had both judges flag this edit; registration is refused (409)
        ("bidask", "int64 bid_total_vol = 3;", "string bid_total_vol = 3;", "txf-bidask-value", "registry (409)"),
        # Tick has references: the check endpoint cannot judge it (422), but registration is still refused (409)
        ("tick", "int64 volume = 4;", "string volume = 4;", "txf-tick-value", "registry (409)"),
    ],
    ids=["bidask", "tick"],
)
def test_registry_refuses_a_breaking_v2(stack, tmp_path, name, old, new, subject, judge):
    """Under the declared BACKWARD_TRANSITIVE, the registry itself refuses a breaking v2 (409)."""
    decl_path, prefix = unique_declaration(tmp_path)
    rc, _, err = run_cli(stack, decl_path, "register")
    assert rc == 0, err
    common_before = http_get(f"{stack.registry_url}/subjects/{q(COMMON)}/versions/latest")[1]
    root = copy_proto(tmp_path)
    sub(root, name, old, new)
    result = register_generated(stack, decl_path, regenerate(root, tmp_path / "gen"))
    print(f"\nTABLE register breaking {name:<22} exit {result.returncode}  {judge}: {result.stderr.strip()}")
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"txf-registry register: {prefix}-{subject}: the registry rejects the local contract as incompatible "
        "under BACKWARD_TRANSITIVE (HTTP 409); run `make check-registry` for the reasons"
    )
    assert http_get(f"{stack.registry_url}/subjects/{q(f'{prefix}-{subject}')}/versions") == (200, [1])
    assert http_get(f"{stack.registry_url}/subjects/{q(COMMON)}/versions/latest")[1] == common_before  # untouched


def topic_levels(level: str):
    """A declaration edit: every topic's compatibility -> level (the shared reference keeps its own)."""

    def edit(text: str) -> str:
        head, sep, tail = text.partition("[[topics]]")
        assert tail.count('compatibility = "BACKWARD_TRANSITIVE"') == VALUE_SUBJECTS
        return head + sep + tail.replace('compatibility = "BACKWARD_TRANSITIVE"', f'compatibility = "{level}"')

    return edit


def test_full_transitive_refuses_additions_on_apicurio(stack, tmp_path):
    """Why the declaration is not FULL_TRANSITIVE: Apicurio 3.3.3 refuses a plain addition under it (409),
    while the gate (buf) and BACKWARD_TRANSITIVE accept it. Fails, on purpose, once Apicurio is fixed."""
    full, prefix = unique_declaration(tmp_path, None, topic_levels("FULL_TRANSITIVE"))
    rc, _, err = run_cli(stack, full, "register")
    assert rc == 0, err
    tick = f"{prefix}-txf-tick-value"
    added = copy_proto(tmp_path / "v2")
    sub(
        added,
        "tick",
        "  int64 gap_start_ns = 25;\n}",
        "  int64 gap_start_ns = 25;\n  // Added in v2.\n  int64 gate_added = 26;\n}",
    )
    result = register_generated(stack, full, regenerate(added, tmp_path / "gen-v2"))
    assert result.returncode == 1 and f"{tick}: the registry rejects" in result.stderr and "409" in result.stderr
    assert http_get(f"{stack.registry_url}/subjects/{q(tick)}/versions") == (200, [1])


def test_transitive_checks_every_registered_version(stack, tmp_path):
    decl, prefix = unique_declaration(tmp_path)
    rc, _, err = run_cli(stack, decl, "register")
    assert rc == 0, err
    tick, r2, bidask = (f"{prefix}-{t}-value" for t in ("txf-tick", "txfr2-tick", "txf-bidask"))
    added = copy_proto(tmp_path / "v2")
    sub(
        added,
        "tick",
        "  int64 gap_start_ns = 25;\n}",
        "  int64 gap_start_ns = 25;\n  // Added in v2.\n  int64 gate_added = 26;\n}",
    )
    added_gen = regenerate(added, tmp_path / "gen-v2")

    # the addition passes the gate and registers as v2 under the declared BACKWARD_TRANSITIVE
    rc, out, err = run_cli(stack, decl, "check", "--proto-root", str(added))
    assert rc == 0, out + err
    result = register_generated(stack, decl, added_gen)
    assert result.returncode == 0, result
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    for s in (tick, r2):
        assert re.search(r"version 2 .* BACKWARD_TRANSITIVE\s+registered$", rows[s]), rows[s]
    assert rows[bidask].endswith("unchanged") and rows[COMMON].endswith("unchanged")
    # a retyped field on top of v2 is refused by the registry itself
    broken = copy_proto(tmp_path / "broken")
    shutil.copy(added / "txf" / "v1" / "tick.proto", broken / "txf" / "v1" / "tick.proto")
    sub(broken, "tick", "int64 volume = 4;", "string volume = 4;")
    result = register_generated(stack, decl, regenerate(broken, tmp_path / "gen-broken"))
    assert result.returncode == 1 and f"{tick}: the registry rejects" in result.stderr, result
    assert "under BACKWARD_TRANSITIVE (HTTP 409)" in result.stderr
    rc, out, err = run_cli(stack, decl, "register")  # the generated modules are v1: found, nothing new
    assert rc == 0, err
    assert http_get(f"{stack.registry_url}/subjects/{q(tick)}/versions") == (200, [1, 2])
    assert http_get(f"{stack.registry_url}/config/{q(tick)}")[1]["compatibilityLevel"] == "BACKWARD_TRANSITIVE"
    full = decl

    # the v2 tree passes against both versions
    rc, out, err = run_cli(stack, full, "check", "--proto-root", str(added))
    found = verdicts(out, prefix)
    print(f"\nTABLE two versions, v2 tree: exit {rc}\n{out}")
    assert rc == 0, out + err
    assert found["tick"]["versions"] == found["r2"]["versions"] == "v1,2"
    assert found["bidask"]["versions"] == "v1"
    assert re.search(
        rf"^{re.escape(tick)}\s+BACKWARD_TRANSITIVE\s+registry: cannot judge\s+buf \(FILE\) vs v1,2: "
        r"compatible$",
        out,
        re.M,
    ), out

    # the v1 tree drops v2's field: fine against v1, breaking against v2 only
    rc, out, err = run_cli(stack, full, "check", "--proto-root", str(PROTO))
    assert rc == 1, out
    reasons = [r for r in problems_of(out, tick) if not r.startswith("registry:")]
    assert reasons and all(r.startswith("v2: ") for r in reasons), reasons
    assert any('"gate_added"' in r for r in reasons), reasons

    # a breaking edit on top of v2 is reported against each version
    rc, out, err = run_cli(stack, full, "check", "--proto-root", str(broken))
    print(f"\nTABLE two versions, broken tree: exit {rc}\n{out}")
    assert rc == 1, out
    reasons = [r for r in problems_of(out, tick) if '"volume"' in r]
    assert sorted(r.split(":")[0] for r in reasons) == ["v1", "v2"], reasons

    # status: the generated modules (v1) are no longer the latest version
    rc, out, err = run_cli(stack, full, "status", "--json")
    rows = {r["subject"]: r for r in json.loads(out)}
    assert rows[tick]["versions"] == [1, 2] and rows[tick]["state"].startswith("DRIFT"), rows[tick]
    assert rows[bidask]["state"] == "in sync"
