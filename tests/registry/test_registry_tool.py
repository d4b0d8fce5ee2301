"""`txf-registry` register / status / topics and its failure messages, against the real local stack.

Every test works on a copy of the topic map (kit/txf_kit/subjects.toml) whose topics carry a unique prefix, so the
subjects (`<prefix>-txf-tick-value` ...) and topics are this test's own. The one shared subject is the
reference `txf/v1/common.proto` (named by import path, exactly as the serializer names it); it is only
ever registered unchanged here, so other tests on the same registry see the same schema.
"""

from __future__ import annotations

import io
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from txf.v1 import BidAsk, Tick, TickType
from txf_registry import cli, declaration

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DECLARATION = REPO / "kit" / "txf_kit" / "subjects.toml"
COMMON = "txf/v1/common.proto"
REGISTER_LINE = re.compile(
    r"^(?P<subject>\S+)\s+version (?P<version>\d+)\s+id (?P<id>\d+)\s+(?P<level>[A-Z_]+)\s+"
    r"(?P<state>registered|unchanged)$"
)


# --- helpers -------------------------------------------------------------------------------------


def unique_declaration(directory: Path, edit=lambda text: text) -> tuple[Path, str]:
    """subjects.toml with every topic name prefixed by a fresh unique prefix; (path, prefix)."""
    prefix = f"rt{uuid.uuid4().hex[:10]}"
    text, n = re.subn(
        r'(?m)^name = "([a-z0-9-]+)"', lambda m: f'name = "{prefix}-{m.group(1)}"', DECLARATION.read_text("utf-8")
    )
    assert n == len(declaration.load(DECLARATION).topics), "subjects.toml layout changed: fix the prefixing"
    path = directory / f"{prefix}.toml"
    path.write_text(edit(text), "utf-8")
    return path, prefix


def run_cli(stack, decl: Path, *argv: str, registry_url: str | None = None) -> tuple[int, str, str]:
    """`txf-registry --declaration decl argv...` in-process (txf_registry.cli:main); (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TXF_REGISTRY_URL", registry_url or stack.registry_url)
        mp.setenv("TXF_KAFKA_BOOTSTRAP", stack.bootstrap_servers)
        mp.chdir(decl.parent)  # no developer .env leaks into the settings
        with redirect_stdout(out), redirect_stderr(err):
            rc = cli.main(["--declaration", str(decl), "--no-legs", *argv])  # legs: test_registry_legs.py
    return rc, out.getvalue(), err.getvalue()


def http_get(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def q(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")


def parse_register(out: str) -> list[dict[str, str]]:
    rows = [m.groupdict() for m in map(REGISTER_LINE.match, out.splitlines()) if m]
    assert len(rows) == len(out.splitlines()), f"unexpected register output:\n{out}"
    return rows


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- register ------------------------------------------------------------------------------------


def test_register_references_first_then_subjects_idempotent_with_declared_levels(stack, tmp_path):
    decl_path, prefix = unique_declaration(tmp_path)
    decl = declaration.load(decl_path)
    want = [s.name for s in decl.subjects]
    assert want == [
        COMMON,
        f"{prefix}-txf-tick-value",
        f"{prefix}-txfr2-tick-value",
        f"{prefix}-txf-bidask-value",
        f"{prefix}-txf-gaps-value",
        f"{prefix}-txf-loadtest-value",
        f"{prefix}-txf-bars-1m-value",
    ]

    rc, out, err = run_cli(stack, decl_path, "register")
    assert rc == 0, err
    first = parse_register(out)
    assert [r["subject"] for r in first] == want  # the reference before the subjects that import it
    assert all(r["level"] == "BACKWARD_TRANSITIVE" for r in first)
    own = [r for r in first if r["subject"] != COMMON]
    assert [(r["state"], r["version"]) for r in own] == [("registered", "1")] * (len(want) - 1)
    by_subject = {r["subject"]: r for r in first}
    # the same Tick schema in two subjects is one content id; BidAsk is another (on both of its topics)
    assert by_subject[want[1]]["id"] == by_subject[want[2]]["id"] != by_subject[want[3]]["id"]
    assert by_subject[want[3]]["id"] == by_subject[want[5]]["id"]

    rc, out, err = run_cli(stack, decl_path, "register")
    assert rc == 0, err
    second = parse_register(out)
    assert [r["state"] for r in second] == ["unchanged"] * len(want)
    assert [(r["subject"], r["version"], r["id"]) for r in second] == [
        (r["subject"], r["version"], r["id"]) for r in first
    ]

    url = stack.registry_url
    for s in decl.subjects:  # the declared level, per subject, read back
        status, body = http_get(f"{url}/config/{q(s.name)}")
        assert status == 200 and body["compatibilityLevel"] == s.compatibility == "BACKWARD_TRANSITIVE", (s.name, body)
    for subject in want[1:]:
        assert http_get(f"{url}/subjects/{q(subject)}/versions") == (200, [1])
    # Tick's version points at the registered common.proto version (registered first)
    status, tick_v1 = http_get(f"{url}/subjects/{q(want[1])}/versions/1")
    assert status == 200
    assert tick_v1["references"] == [{"name": COMMON, "subject": COMMON, "version": int(by_subject[COMMON]["version"])}]
    status, bidask_v1 = http_get(f"{url}/subjects/{q(want[3])}/versions/1")
    assert status == 200 and not bidask_v1.get("references")


@pytest.mark.parametrize("cls", [Tick, BidAsk], ids=["tick", "bidask"])
def test_registered_form_is_what_the_serializer_looks_up(stack, tmp_path, cls):
    decl_path, prefix = unique_declaration(tmp_path)
    rc, out, err = run_cli(stack, decl_path, "register")
    assert rc == 0, err
    topic = f"{prefix}-txf-{cls.__name__.lower()}"
    registered = {r["subject"]: int(r["id"]) for r in parse_register(out)}

    client = SchemaRegistryClient({"url": stack.registry_url, "timeout": 10})
    serializer = ProtobufSerializer(
        cls, client, {"auto.register.schemas": False, "subject.name.strategy.type": "TOPIC"}
    )
    msg = cls(code="TXFK6", timestamp_ms=1_767_225_600_000, sequence=7, producer_run_id=2**63 + 5)
    if cls is Tick:
        msg.close, msg.tick_type, msg.price_chg = 234_565_000, TickType.TICK_TYPE_SELL, -12_500
    else:
        msg.bid_price.extend([234_560_000, 234_550_000, 234_540_000, 234_530_000, 234_520_000])
    data = serializer(msg, SerializationContext(topic, MessageField.VALUE))  # a lookup: POST /subjects/{s}
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == registered[f"{topic}-value"]
    assert (
        ProtobufDeserializer(cls, {"use.deprecated.format": False})(
            data, SerializationContext(topic, MessageField.VALUE)
        )
        == msg
    )

    # control: the same lookup for a topic nobody registered fails (no auto-registration sneaks in)
    with pytest.raises(SchemaRegistryError):
        serializer(msg, SerializationContext(f"{prefix}-never-registered", MessageField.VALUE))


# --- status ----------------------------------------------------------------------------------------


def test_status_missing_before_register_and_in_sync_after(stack, tmp_path):
    decl_path, prefix = unique_declaration(tmp_path)
    own = [
        f"{prefix}-txf-tick-value",
        f"{prefix}-txfr2-tick-value",
        f"{prefix}-txf-bidask-value",
        f"{prefix}-txf-gaps-value",
        f"{prefix}-txf-loadtest-value",
        f"{prefix}-txf-bars-1m-value",
    ]

    rc, out, err = run_cli(stack, decl_path, "status", "--json", "--strict")
    assert rc == 1, (out, err)  # --strict: something is not in sync
    rows = {r["subject"]: r for r in json.loads(out)}
    for subject in own:
        assert rows[subject]["versions"] == [] and rows[subject]["state"].startswith("missing"), rows[subject]

    rc, _, err = run_cli(stack, decl_path, "register")
    assert rc == 0, err
    rc, out, err = run_cli(stack, decl_path, "status", "--json", "--strict")
    assert rc == 0, (out, err)
    rows = {r["subject"]: r for r in json.loads(out)}
    assert set(rows) == {COMMON, *own}
    for subject in own:
        assert rows[subject] == {
            "subject": subject,
            "versions": [1],
            "level": "BACKWARD_TRANSITIVE",
            "declared_level": "BACKWARD_TRANSITIVE",
            "state": "in sync",
        }
    rc, out, _ = run_cli(stack, decl_path, "status")  # the human form says the same
    assert rc == 0
    for subject in own:
        assert re.search(rf"^{re.escape(subject)}\s+versions \[1\]\s+in sync$", out, re.M), out


# --- topics ----------------------------------------------------------------------------------------


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        topics = admin.list_topics(timeout=5).topics
        if all(
            n in topics
            and topics[n].error is None
            and topics[n].partitions
            and all(p.leader >= 0 for p in topics[n].partitions.values())
            for n in names
        ):
            return topics
        if time.monotonic() > deadline:
            raise AssertionError(f"topics {names} have no leaders after {timeout} s")
        time.sleep(0.05)  # polling the broker's metadata until the condition holds


def test_topics_created_with_declared_config_then_exist_and_drift_is_reported(stack, tmp_path):
    decl_path, prefix = unique_declaration(tmp_path)
    declared = declaration.load(decl_path).topics
    names = [t.name for t in declared]
    declared_names = ("txf-tick", "txfr2-tick", "txf-bidask", "txf-gaps", "txf-loadtest", "txf-bars-1m", "txf-dlq")
    assert names == [f"{prefix}-{n}" for n in declared_names]
    single = "durability single: replication factor 1, min.insync.replicas 1 (auto: 1 broker)"

    rc, out, err = run_cli(stack, decl_path, "topics")
    assert rc == 0, err
    assert out.splitlines() == [single, *(f"topic {n:<14} created" for n in names)]

    admin = AdminClient({"bootstrap.servers": stack.bootstrap_servers})
    topics = _wait_for_leaders(admin, names)
    futures = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, n) for n in names])
    configs = {res.name: fut.result(15) for res, fut in futures.items()}
    for t in declared:
        assert len(topics[t.name].partitions) == t.partitions
        assert t.config and {k: configs[t.name][k].value for k in t.config} == t.config
        assert configs[t.name]["min.insync.replicas"].value == "1"
        assert {len(p.replicas) for p in topics[t.name].partitions.values()} == {1}
    assert len(topics[f"{prefix}-txf-loadtest"].partitions) == 6
    assert configs[f"{prefix}-txf-bidask"]["retention.bytes"].value == "21474836480"
    assert configs[f"{prefix}-txf-tick"]["retention.ms"].value == "31536000000"

    rc, out, err = run_cli(stack, decl_path, "topics", "--strict")
    assert rc == 0, err
    assert out.splitlines() == [single, *(f"topic {n:<14} exists" for n in names)]

    # a topic changed behind the declaration's back is reported with its fix, not silently "exists"
    dlq, loadtest = f"{prefix}-txf-dlq", f"{prefix}-txf-loadtest"
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        dlq,
        incremental_configs=[ConfigEntry("retention.ms", "86400000", incremental_operation=AlterConfigOpType.SET)],
    )
    admin.incremental_alter_configs([res])[res].result(15)
    admin.create_partitions([NewPartitions(loadtest, 8)])[loadtest].result(15)
    rc, out, err = run_cli(stack, decl_path, "topics")
    assert rc == 0, err
    lines = out.splitlines()
    drifted = {
        loadtest: [
            f"topic {loadtest:<14} exists, DRIFT: partitions 8 (declared 6)",
            "    fix: partitions never shrink: declare the real count in subjects.toml, or delete the topic and run "
            "`txf-registry topics` again (its records are lost)",
        ],
        dlq: [
            f"topic {dlq:<14} exists, DRIFT: retention.ms=86400000 (declared 31536000000)",
            f"    fix: txf-registry topics --fix-config (sets retention.ms=31536000000 on {dlq})",
        ],
    }
    for name in names:  # each topic in declaration order: its own line, a drifted one followed by its fix
        want_lines = drifted.get(name, [f"topic {name:<14} exists"])
        at = lines.index(want_lines[0])
        assert lines[at : at + len(want_lines)] == want_lines, out
    assert len(lines) == 1 + len(names) + len(drifted), out
    assert f"2 topic(s) differ from the declaration ({loadtest}, {dlq})" in err
    assert run_cli(stack, decl_path, "topics", "--strict")[0] == 1

    # judged by the cluster profile, these single-broker topics lack replicas and min.insync.replicas
    rc, out, err = run_cli(stack, decl_path, "topics", "--durability", "cluster")
    tick = f"{prefix}-txf-tick"
    assert out.splitlines()[0] == (
        "durability cluster: replication factor 3, min.insync.replicas 2 "
        "(named by TXF_TOPIC_DURABILITY or --durability)"
    )
    assert (
        f"topic {tick:<14} exists, DRIFT: replication factor 1 (declared 3, cluster profile); "
        "min.insync.replicas=1 (declared 2)"
    ) in out.splitlines()
    assert "    fix: kafka-reassign-partitions.sh --execute with a plan giving each partition of " + tick in out

    # --fix-config sets the declared config back; partitions are left to the operator
    rc, out, err = run_cli(stack, decl_path, "topics", "--fix-config")
    assert rc == 0, err
    assert f"set {dlq}: retention.ms=31536000000" in out.splitlines()
    rc, out, err = run_cli(stack, decl_path, "topics")
    assert f"topic {dlq:<14} exists" in out.splitlines()
    assert f"1 topic(s) differ from the declaration ({loadtest})" in err


def test_a_cluster_profile_on_one_broker_is_refused_with_the_fix(stack, tmp_path):
    decl_path, prefix = unique_declaration(tmp_path)
    rc, out, err = run_cli(stack, decl_path, "topics", "--durability", "cluster")
    assert rc == 1
    assert "replication factor 3 (cluster profile): the cluster has 1 broker(s)" in err
    assert "make up BROKERS=3" in err and "TXF_TOPIC_DURABILITY=single" in err


# --- failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["register", "status", "check"])
def test_unreachable_registry_is_one_line_naming_url_and_fix(stack, tmp_path, command):
    decl_path, prefix = unique_declaration(tmp_path)
    dead = f"http://127.0.0.1:{closed_port()}/apis/ccompat/v7"
    started = time.monotonic()
    rc, out, err = run_cli(stack, decl_path, command, registry_url=dead)
    assert rc == 1
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"txf-registry {command}: registry at {dead} unreachable")
    assert "make up" in lines[0] and "TXF_REGISTRY_URL" in lines[0]
    assert time.monotonic() - started < 15  # fails fast, does not hang
    assert http_get(f"{stack.registry_url}/subjects/{q(prefix + '-txf-tick-value')}/versions")[0] == 404


@pytest.mark.parametrize(
    "edit, names",
    [
        pytest.param(
            lambda t: t.replace('message = "txf.v1.BidAsk"', 'message = "txf.v1.NoSuchMessage"'),
            ["'txf.v1.NoSuchMessage'", "is not in the contract", "-txf-bidask (subject ", "-txf-bidask-value)"],
            id="unknown-message",
        ),
        pytest.param(
            lambda t: t.replace('references = ["txf/v1/common.proto"]', "references = []", 1),
            ["-txf-tick: references [] differ from the imports of txf/v1/tick.proto: ['txf/v1/common.proto']"],
            id="missing-reference",
        ),
        pytest.param(
            lambda t: t.replace("references = []", 'references = ["txf/v1/common.proto"]', 1),
            ["-txf-bidask: references ['txf/v1/common.proto'] differ from the imports of txf/v1/bidask.proto: []"],
            id="extra-reference",
        ),
        pytest.param(
            lambda t: t.replace('[references."txf/v1/common.proto"]', '[references."txf/v1/other.proto"]'),
            ['txf/v1/common.proto is imported but has no [references."txf/v1/common.proto"] entry'],
            id="undeclared-reference",
        ),
    ],
)
def test_bad_declaration_fails_before_registering_and_names_the_problem(stack, tmp_path, edit, names):
    decl_path, prefix = unique_declaration(tmp_path, edit)
    assert decl_path.read_text() != DECLARATION.read_text().replace('name = "', f'name = "{prefix}-')  # edit applied
    rc, out, err = run_cli(stack, decl_path, "register")
    assert rc == 1 and out == ""
    assert err.startswith("txf-registry register: ") and len(err.strip().splitlines()) == 1, err
    for part in names:
        assert part in err, err
    for suffix in ("txf-tick-value", "txf-bidask-value"):  # nothing half-registered
        assert http_get(f"{stack.registry_url}/subjects/{q(f'{prefix}-{suffix}')}/versions")[0] == 404
