"""`make release-contract` as a contract owner runs it, and each artifact installed as another team would.

A CI-like clone of this repository (tests/ciclone.py) gains a field (Tick.venue), regenerates gen/,
commits, and releases v1.1.0 with the real make target: gates, lock entry, commit, tags, dist/.
Then every artifact goes into a clean environment of its language and decodes the golden vectors
there (the same checks the in-repo binding tests make), and the new field proves the artifact is
the new release, not a stale one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from ciclone import ROOT, Clone, ci_clone, git

TICK = "proto/txf/v1/tick.proto"
NEW_FIELD = "venue"
LAST_TICK_FIELD = "  int64 gap_start_ns = 25;\n"
ADDED = LAST_TICK_FIELD + "  // Exchange name (a field added for the release test).\n  string venue = 26;\n"
RELEASED = [r["version"] for r in tomllib.loads((ROOT / "contracts/releases.toml").read_text("utf-8"))["release"]]
LATEST = tuple(int(x) for x in RELEASED[-1].split("."))
VERSION = f"{LATEST[0]}.{LATEST[1] + 1}.0"  # the next minor release
VECTORS = ROOT / "tests/vectors/txf_v1.json"
INSTALLCHECK = Path(__file__).resolve().parent / "installcheck"
GO_MODULE = "github.com/txfstream/txfstream/gen/go"


@dataclass
class Released:
    clone: Clone
    dist: Path
    output: str


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Released:
    clone = ci_clone(tmp_path_factory.mktemp("release") / "clone")
    clone.edit(TICK, LAST_TICK_FIELD, ADDED)
    gen = clone.make("gen")
    assert gen.returncode == 0, gen.stdout + gen.stderr
    clone.commit("Tick gains venue")
    result = clone.make("release-contract", f"VERSION={VERSION}")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    return Released(clone, clone.path / "dist", result.stdout)


def test_release_is_recorded_committed_and_tagged(released: Released) -> None:
    repo = released.clone.path
    lock = tomllib.loads((repo / "contracts/releases.toml").read_text("utf-8"))["release"]
    assert [r["version"] for r in lock] == [*RELEASED, VERSION]
    image = repo / "contracts" / lock[-1]["image"]
    assert hashlib.sha256(image.read_bytes()).hexdigest() == lock[-1]["sha256"]
    assert lock[-1]["proto_tree"] == git(repo, "rev-parse", "HEAD:proto").strip()
    head = git(repo, "rev-parse", "HEAD").strip()
    for tag in (f"contracts/v{VERSION}", f"gen/go/v{VERSION}"):
        assert git(repo, "rev-parse", f"{tag}^{{commit}}").strip() == head
    assert git(repo, "log", "-1", "--format=%s").strip() == f"contracts: release txf contract v{VERSION}"
    assert git(repo, "status", "--porcelain").strip() == ""
    for manifest in ("gen/python/pyproject.toml", "gen/betterproto/pyproject.toml"):
        assert tomllib.loads((repo / manifest).read_text("utf-8"))["project"]["version"] == VERSION
    assert json.loads((repo / "gen/ts/package.json").read_text("utf-8"))["version"] == VERSION
    assert f"<version>{VERSION}</version>" in (repo / "gen/java/pom.xml").read_text("utf-8")
    assert f"<txf-contracts.version>{VERSION}</txf-contracts.version>" in (repo / "consumers/java/pom.xml").read_text(
        "utf-8"
    )
    # the new release is a baseline now
    gate = released.clone.gate()
    assert gate.returncode == 0 and f"release v{VERSION}: compatible" in gate.stdout


def test_dist_holds_every_artifact_with_checksums(released: Released) -> None:
    dist = released.dist
    expected = [
        f"python/txf_contracts-{VERSION}-py3-none-any.whl",
        f"python/txf_contracts-{VERSION}.tar.gz",
        f"python/txf_contracts_betterproto-{VERSION}-py3-none-any.whl",
        f"python/txf_contracts_betterproto-{VERSION}.tar.gz",
        f"npm/txfstream-txf-contracts-{VERSION}.tgz",
        f"maven/io/github/txfstream/txf-contracts/{VERSION}/txf-contracts-{VERSION}.jar",
        f"maven/io/github/txfstream/txf-contracts/{VERSION}/txf-contracts-{VERSION}-sources.jar",
        f"maven/io/github/txfstream/txf-contracts/{VERSION}/txf-contracts-{VERSION}.pom",
        f"goproxy/{GO_MODULE}/@v/v{VERSION}.zip",
        f"goproxy/{GO_MODULE}/@v/v{VERSION}.mod",
        f"goproxy/{GO_MODULE}/@v/v{VERSION}.info",
    ]
    missing = [p for p in expected if not (dist / p).is_file()]
    assert not missing, f"not built: {missing}"
    sums = dict(reversed(line.split("  ", 1)) for line in (dist / "SHA256SUMS").read_text().splitlines())
    for rel in expected:
        assert sums[rel] == hashlib.sha256((dist / rel).read_bytes()).hexdigest(), rel


def _fresh_venv(path: Path) -> Path:
    run([sys.executable, "-m", "venv", str(path)], cwd=path.parent)
    return path / "bin" / "python"


def test_python_wheels_install_into_a_fresh_venv_and_decode(released: Released, tmp_path: Path) -> None:
    py = _fresh_venv(tmp_path / "venv")
    wheels = [
        str(next((released.dist / "python").glob(f"{name}-{VERSION}-*.whl")))
        for name in ("txf_contracts", "txf_contracts_betterproto")
    ]
    run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *wheels, "pytest==9.2.0"], tmp_path)
    # the in-repo vector test, unchanged, against the installed packages only
    scratch = tmp_path / "scratch"
    (scratch / "contract").mkdir(parents=True)
    (scratch / "vectors").mkdir()
    shutil.copy(ROOT / "tests/contract/test_vectors_python.py", scratch / "contract")
    shutil.copy(VECTORS, scratch / "vectors")
    out = run(
        [str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(scratch), str(scratch / "contract")],
        scratch,
        env={"PYTHONPATH": ""},
    )
    assert " passed" in out and "failed" not in out
    probe = run(
        [
            str(py),
            "-c",
            "import importlib.metadata as m, json, txf.v1, txf_betterproto.v1 as b; "
            "print(json.dumps([m.version('txf-contracts'), m.version('txf-contracts-betterproto'), "
            "list(txf.v1.Tick.DESCRIPTOR.fields_by_name), txf.v1.__file__]))",
        ],
        scratch,
        env={"PYTHONPATH": ""},
    )
    version, better_version, fields, location = json.loads(probe)
    assert (version, better_version) == (VERSION, VERSION)
    assert NEW_FIELD in fields
    assert str(tmp_path / "venv") in location  # imported from the install, not from a checkout


def test_npm_tarball_installs_into_a_scratch_project_and_decodes(released: Released, tmp_path: Path) -> None:
    tarball = released.dist / f"npm/txfstream-txf-contracts-{VERSION}.tgz"
    (tmp_path / "package.json").write_text('{"name": "installcheck", "private": true, "type": "module"}\n')
    run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", str(tarball)], tmp_path)
    shutil.copy(INSTALLCHECK / "ts/check.mjs", tmp_path)
    report = json.loads(run(["node", "check.mjs", str(VECTORS)], tmp_path))
    assert report["version"] == VERSION
    assert NEW_FIELD in report["tickFields"]
    assert report["vectors"] == len(json.loads(VECTORS.read_text())["vectors"])


@pytest.fixture
def m2_cleanup() -> object:
    """Maven caches what it resolves in ~/.m2: remove this throwaway release from it afterwards."""
    cached = Path.home() / ".m2/repository/io/github/txfstream/txf-contracts" / VERSION
    existed = cached.exists()
    yield None
    if not existed:
        shutil.rmtree(cached, ignore_errors=True)


def test_maven_artifact_resolves_from_the_release_repository_and_decodes(
    released: Released, tmp_path: Path, m2_cleanup: object
) -> None:
    shutil.copy(INSTALLCHECK / "java/pom.xml", tmp_path)
    tests = tmp_path / "src/test/java/io/github/txfstream/txf/v1"
    tests.mkdir(parents=True)
    shutil.copy(ROOT / "gen/java/src/test/java/io/github/txfstream/txf/v1/GoldenVectorsTest.java", tests)
    (tests / "ReleasedFieldTest.java").write_text(
        "package io.github.txfstream.txf.v1;\n"
        "class ReleasedFieldTest {\n"
        "  @org.junit.jupiter.api.Test void newFieldIsInTheJar() {\n"
        f'    org.junit.jupiter.api.Assertions.assertNotNull(Tick.getDescriptor().findFieldByName("{NEW_FIELD}"));\n'
        "  }\n}\n"
    )
    run(
        [
            "mvn",
            "-B",
            "-q",
            "-Dstyle.color=never",
            "test",
            f"-Dtxf.version={VERSION}",
            f"-Ddist.repo={(released.dist / 'maven').as_uri()}",
            f"-Dtxf.vectors={VECTORS}",
        ],
        tmp_path,
    )
    reports = "".join(p.read_text() for p in (tmp_path / "target/surefire-reports").glob("*.txt"))
    assert "GoldenVectorsTest" in reports and "ReleasedFieldTest" in reports
    assert "FAILURE" not in reports
    jar = Path.home() / f".m2/repository/io/github/txfstream/txf-contracts/{VERSION}/txf-contracts-{VERSION}.jar"
    assert (
        jar.read_bytes()
        == (
            released.dist / f"maven/io/github/txfstream/txf-contracts/{VERSION}/txf-contracts-{VERSION}.jar"
        ).read_bytes()
    )


def test_go_module_version_resolves_from_the_release_proxy_and_decodes(released: Released, tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/installcheck\n\ngo 1.23\n")
    shutil.copy(ROOT / "gen/go/vectors_test.go", tmp_path)  # the binding's own vector test, as a user's test
    env = {
        "GOPROXY": f"{(released.dist / 'goproxy').as_uri()},https://proxy.golang.org",
        "GONOSUMDB": GO_MODULE,
        "GOFLAGS": "-modcacherw",
        "GOMODCACHE": str(tmp_path / "modcache"),
        "TXF_VECTORS": str(VECTORS),
        "GOWORK": "off",
    }
    run(["go", "get", f"{GO_MODULE}@v{VERSION}"], tmp_path, env)
    run(["go", "mod", "tidy"], tmp_path, env)
    assert f"{GO_MODULE} v{VERSION}" in (tmp_path / "go.mod").read_text()
    out = run(["go", "test", "-count=1", "-v", "./..."], tmp_path, env)
    assert "--- PASS: TestGoldenVectors" in out
    source = tmp_path / f"modcache/{GO_MODULE}@v{VERSION}/txf/v1/tick.pb.go"
    assert f'protobuf:"bytes,26,opt,name={NEW_FIELD}' in source.read_text()


# --- refusals: nothing is written ------------------------------------------------------------------


def _release(clone: Clone, version: str) -> subprocess.CompletedProcess[str]:
    return clone.run(".venv/bin/python", "-m", "tools.contract", "release", version)


def _assert_nothing_written(clone: Clone, head: str) -> None:
    assert git(clone.path, "rev-parse", "HEAD").strip() == head
    assert git(clone.path, "tag", "--list").strip() == ""
    assert not (clone.path / "dist").exists()


@pytest.mark.parametrize(
    "version, reason",
    [
        (RELEASED[-1], f"must be greater than the last release {RELEASED[-1]}"),
        (f"v{VERSION}", "is not MAJOR.MINOR.PATCH"),
        (f"{LATEST[0] + 1}.0.0", f"the major must be {LATEST[0]}"),
        (f"{LATEST[0]}.{LATEST[1]}.{LATEST[2] + 1}", f"nothing to release: proto/ is unchanged since v{RELEASED[-1]}"),
    ],
)
def test_release_refuses_a_wrong_version_or_nothing_new(tmp_path: Path, version: str, reason: str) -> None:
    clone = ci_clone(tmp_path / "clone")
    if reason.startswith("nothing to release"):  # main may carry unreleased changes: go back to the release
        tree = tomllib.loads((clone.path / "contracts/releases.toml").read_text("utf-8"))["release"][-1]["proto_tree"]
        git(clone.path, "rm", "-rq", "proto")
        git(clone.path, "read-tree", "--prefix=proto/", tree)
        git(clone.path, "checkout", "--", "proto")
        if git(clone.path, "status", "--porcelain", "--", "proto"):  # nothing to commit when main is the release
            clone.commit("proto/ as released")
    head = git(clone.path, "rev-parse", "HEAD").strip()
    result = _release(clone, version)
    assert result.returncode == 1 and reason in result.stdout, result.stdout + result.stderr
    _assert_nothing_written(clone, head)


def test_release_refuses_uncommitted_changes(tmp_path: Path) -> None:
    clone = ci_clone(tmp_path / "clone")
    head = git(clone.path, "rev-parse", "HEAD").strip()
    clone.edit(TICK, LAST_TICK_FIELD, ADDED)
    result = _release(clone, VERSION)
    assert result.returncode == 1 and "uncommitted changes" in result.stdout
    _assert_nothing_written(clone, head)


def test_release_refuses_a_breaking_contract(tmp_path: Path) -> None:
    clone = ci_clone(tmp_path / "clone")
    clone.edit(TICK, "int64 close = 3;", "string close = 3;")
    head = clone.commit("break")
    result = _release(clone, VERSION)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"release v{RELEASED[-1]}: BREAKING" in result.stdout and "breaking-change gate failed" in result.stdout
    _assert_nothing_written(clone, head)
