"""`txf-registry`: register the contract, gate changes against the registry, show drift, create topics.

    txf-registry register   # compatibility levels, then references, then subjects (idempotent)
    txf-registry check      # local contract vs registry, without registering; exit 1 if incompatible
    txf-registry status     # registered vs declared: versions, ids, levels, drift
    txf-registry topics     # create the declared topics (partitions, retention, durability); report drift

Settings come from the environment / .env like every service's (the kit's shared settings):
TXF_REGISTRY_URL, TXF_REGISTRY_BASIC_AUTH(_FILE), TXF_REGISTRY_SSL_CA_LOCATION, TXF_KAFKA_BOOTSTRAP
and the Kafka security settings, TXF_TOPIC_PREFIX (every topic and subject under it, like the
producer's), TXF_CAPTURE_LEGS (the legs whose topics are declared, default the topic map's);
TXF_TOPIC_DURABILITY names the topic map's durability profile (single, cluster; default auto).
Exit codes: 0 ok, 1 incompatible, failed or (with --strict) drift, 2 usage, 78 invalid settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from txf_kit import topicmap
from txf_kit.settings import ServiceSettings, SettingsError, load
from txf_kit.topicmap import DURABILITY_PROFILES
from txf_registry import declaration
from txf_registry.gate import REPO_ROOT, check
from txf_registry.registry import Registry, RegistryError
from txf_registry.topics import AUTO, choose_durability, ensure_topics, fix_config

EXIT_CONFIG = 78


def _connect(settings: ServiceSettings) -> Registry:
    return Registry(SchemaRegistryClient(settings.registry_config()), settings.registry_url)


def _declaration(args: argparse.Namespace) -> declaration.Declaration:
    """The declared subjects and topics: the topic map, under the prefix, with the deployment's legs."""
    legs = () if args.no_legs else args.settings.legs()
    return declaration.load(args.declaration, topic_prefix=args.topic_prefix, legs=legs)


def _registry(args: argparse.Namespace) -> tuple[Registry, declaration.Declaration]:
    return _connect(args.settings), _declaration(args)


def cmd_register(args: argparse.Namespace) -> int:
    registry, decl = _registry(args)
    rows = registry.register(decl)
    for r in rows:
        print(
            f"{r.subject:<24} version {r.version:<3} id {r.schema_id:<5} {r.compatibility:<17} "
            f"{'registered' if r.changed else 'unchanged'}"
        )
    if args.topics:
        return cmd_topics(args)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    # The declaration is bound to the proto tree under judgement (inside `check`), not to the
    # generated modules: a renamed message or package must reach the judges, not fail here.
    registry = _connect(args.settings)
    verdicts = check(registry, args.declaration, args.proto_root.resolve(), args.topic_prefix)
    bad = 0
    for v in verdicts:
        judge = {True: "compatible", False: "INCOMPATIBLE", None: "cannot judge"}
        print(
            f"{v.subject:<24} {v.compatibility:<17} registry: {judge[v.registry]:<13} "
            f"buf (FILE) vs v{','.join(map(str, v.versions_checked)) or '-'}: {judge[v.tool]}"
        )
        if v.registry is None or v.registry is False:
            print(f"    registry: {v.registry_detail}")
        for p in v.problems:
            print(f"    {p}")
        bad += not v.compatible
    if bad:
        print(
            f"check: {bad} subject(s) incompatible with what the registry holds: the change would break "
            "consumers. Add fields instead of changing them, or publish a new package (txf.v2).",
            file=sys.stderr,
        )
        return 1
    print("check: the local contract is compatible with every registered version the levels cover")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    registry, decl = _registry(args)
    drift = 0
    rows: list[dict[str, Any]] = []
    for s in decl.subjects:
        versions = registry.versions(s.name)
        level = registry.compatibility(s.name)
        try:
            current = registry.lookup(decl, s) if versions else None
        except RegistryError:
            current = None  # a reference differs locally: not in sync
        state = (
            "missing"
            if not versions
            else (
                "in sync"
                if current is not None and current.version == versions[-1]
                else "DRIFT: local contract differs from the latest version"
            )
        )
        if level != s.compatibility:
            state += f"; level {level} (declared {s.compatibility})"
        drift += state != "in sync"
        rows.append(
            {"subject": s.name, "versions": versions, "level": level, "declared_level": s.compatibility, "state": state}
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['subject']:<24} versions {r['versions'] or '-'!s:<10} {r['state']}")
    return 1 if drift and args.strict else 0


def cmd_topics(args: argparse.Namespace) -> int:
    decl = _declaration(args)
    admin = AdminClient(args.settings.client_config())
    durability, why = choose_durability(admin, decl, args.durability)
    print(f"{durability.describe()} ({why})")
    states = ensure_topics(admin, decl, durability)
    for t in states:
        note = "created" if t.created else ("exists" if not t.drift else "exists, DRIFT: " + "; ".join(t.drift))
        print(f"topic {t.name:<14} {note}")
        for d in t.drifts:
            print(f"    fix: {d.fix}")
    if args.fix_config:
        for line in fix_config(admin, decl, states, durability):
            print(f"set {line}")
        states = ensure_topics(admin, decl, durability)
    drifted = [t.name for t in states if t.drifts]
    if drifted:
        print(
            f"topics: {len(drifted)} topic(s) differ from the declaration ({', '.join(drifted)}); see the fix lines",
            file=sys.stderr,
        )
    return 1 if drifted and args.strict else 0


def _topic_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--durability",
        choices=(AUTO, *DURABILITY_PROFILES),
        default=os.environ.get("TXF_TOPIC_DURABILITY") or AUTO,
        help="the topic map's durability profile to create and judge topics by (default $TXF_TOPIC_DURABILITY "
        "or auto: single on one broker, cluster on three or more)",
    )
    p.add_argument("--fix-config", action="store_true", help="set the declared config of drifted topics")
    p.add_argument("--strict", action="store_true", help="exit 1 when a topic differs from the declaration")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="txf-registry", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--declaration",
        type=Path,
        default=topicmap.DEFAULT_PATH,
        help="subjects file (default: the packaged topic map, txf_kit/subjects.toml)",
    )
    parser.add_argument(
        "--topic-prefix",
        default=None,
        help="put before every topic (and subject) name, e.g. 'staging-' for a second environment on one cluster "
        "(default $TXF_TOPIC_PREFIX, as the services read it)",
    )
    parser.add_argument(
        "--no-legs",
        action="store_true",
        help="leave out the capture legs' topics and subjects ([capture] in the declaration): one producer only",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("register", help="set levels, register references and subjects (idempotent)")
    p.add_argument("--topics", action="store_true", help="also create the declared topics")
    _topic_options(p)
    p.set_defaults(func=cmd_register)
    p = sub.add_parser("check", help="is the local contract compatible with the registry? (registers nothing)")
    p.add_argument("--proto-root", type=Path, default=REPO_ROOT / "proto")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("status", help="registered vs declared")
    p.add_argument("--json", action="store_true")
    p.add_argument("--strict", action="store_true", help="exit 1 on any drift")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("topics", help="create the declared topics; report drift")
    _topic_options(p)
    p.set_defaults(func=cmd_topics)
    args = parser.parse_args(argv)
    try:
        args.settings = load(ServiceSettings)
    except SettingsError as exc:
        print(f"txf-registry: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.topic_prefix is None:
        args.topic_prefix = args.settings.topic_prefix
    try:
        return int(args.func(args))
    except (RegistryError, declaration.DeclarationError, SettingsError, RuntimeError) as exc:
        print(f"txf-registry {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
