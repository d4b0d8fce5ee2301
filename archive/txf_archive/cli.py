"""`txf-archive`: archive the txf.v1 topics into Parquet, build 1-minute bars, compact, query.

  txf-archive run       the archiver (consumer group; exactly once; see service.py)
  txf-archive bars      the bar builder: ticks -> txf-bars-1m, in Kafka transactions (barservice.py)
  txf-archive compact   merge each finished trading day's files into one per topic-partition, checked
  txf-archive query     a type, day range and contract into a table, CSV, Parquet or JSON lines

Exit status: 0 done (SIGINT/SIGTERM, --idle-exit-s), 1 fatal (the reason on stderr; nothing unwritten
was committed), 2 usage, 77 not authorized by Kafka's ACLs, 78 invalid settings or credentials
rejected by Kafka or the registry (TXF_* variables; a restart cannot fix them).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from txf_archive.layout import default_root
from txf_kit.logs import setup_logging

EXIT_FATAL = 1
EXIT_CONFIG = 78
log = logging.getLogger("txf_archive")


def _signals(stop: Callable[[], None]) -> None:
    def on_signal(_signum: int, _frame: object) -> None:
        stop()

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, on_signal)


def cmd_run(args: argparse.Namespace) -> int:
    from txf_archive.metrics import ArchiveMetrics
    from txf_archive.service import ArchiveOptions, Archiver
    from txf_archive.settings import ArchiveSettings
    from txf_consumer.schemas import RegistryReader
    from txf_kit.records import scaled_fields
    from txf_kit.service import ServiceExit
    from txf_kit.settings import SettingsError, load

    try:
        s = load(ArchiveSettings, **_overrides(args))
        calendar = s.calendar()
    except SettingsError as exc:
        print(f"txf-archive: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(s.log_level)
    topics = s.archived_topics()
    if args.topics:
        wanted = [t.strip() for t in args.topics.split(",") if t.strip()]
        unknown = [t for t in wanted if t not in topics]
        if unknown:
            print(
                f"txf-archive: --topics {','.join(unknown)}: not in the topic map (with prefix "
                f"{s.topic_prefix!r}); known: {', '.join(topics)}",
                file=sys.stderr,
            )
            return 2
        topics = {t: topics[t] for t in wanted}
    options = ArchiveOptions(
        root=s.archive_root,
        topics=topics,
        kafka=s.consumer_config(s.archive_group, "txf-archive"),
        day_span=calendar.trading_day_span,
        scaled=scaled_fields(),
        roll_bytes=s.archive_roll_bytes,
        roll_s=s.archive_roll_s,
        idle_exit_s=args.idle_exit_s,
        wait_for_lock=not args.no_wait,
        connect_timeout_s=s.startup_deadline_s,
        connection=s,
    )
    metrics = ArchiveMetrics()
    archiver = Archiver(options, RegistryReader(s.registry_settings()), metrics=metrics)
    metrics.serve(s.metrics_host, s.archive_metrics_port)
    _signals(archiver.stop)
    try:
        result = archiver.run()
    except (ServiceExit, RuntimeError) as exc:
        log.error("fatal: %s", str(exc).replace("\n", " "))
        return exc.code if isinstance(exc, ServiceExit) else EXIT_FATAL
    print(json.dumps(result.summary()), flush=True)
    return 0


def cmd_bars(args: argparse.Namespace) -> int:
    from txf_archive.barservice import BarService
    from txf_archive.settings import ArchiveSettings
    from txf_kit.service import ServiceExit
    from txf_kit.settings import SettingsError, load

    try:
        s = load(ArchiveSettings, **_overrides(args))
        setup_logging(s.log_level)
        service = BarService(s, idle_exit_s=args.idle_exit_s)
    except SettingsError as exc:
        print(f"txf-archive: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _signals(service.stop)
    try:
        summary = service.run()
    except (ServiceExit, RuntimeError) as exc:
        log.error("bars: fatal: %s", str(exc).replace("\n", " "))
        return exc.code if isinstance(exc, ServiceExit) else EXIT_FATAL
    print(json.dumps(summary), flush=True)
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    from txf_archive.compaction import compact

    try:
        report = compact(
            args.root or default_root(), days=args.day or None, keep_days=args.keep_days, dry_run=args.dry_run
        )
    except (ValueError, RuntimeError) as exc:
        print(f"txf-archive compact: {exc}", file=sys.stderr)
        return EXIT_FATAL
    print(json.dumps(report.summary()), flush=True)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    import duckdb

    from txf_archive.query import Archive

    archive = Archive(args.root or default_root())
    try:
        rel = archive.relation(args.type, args.day, args.to, code=args.code, sql=args.sql)
    except (ValueError, duckdb.Error) as exc:
        print(f"txf-archive query: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else EXIT_FATAL
    if args.limit:
        rel = rel.limit(args.limit)
    if args.format == "parquet":
        if args.out is None:
            print("txf-archive query: --format parquet needs --out FILE", file=sys.stderr)
            return 2
        rel.write_parquet(str(args.out), compression="zstd")
    elif args.format == "csv":
        if args.out is None:
            sys.stdout.write(rel.pl().write_csv())
        else:
            rel.write_csv(str(args.out))
    elif args.format == "jsonl":
        text = rel.pl().write_ndjson()
        (args.out.write_text(text) if args.out else sys.stdout.write(text))
    else:
        print(rel.pl())
    return 0


ROOT_HELP = "archive directory (default $TXF_ARCHIVE_ROOT, else ~/.local/share/txfstream/archive)"


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"archive_root": args.root} if getattr(args, "root", None) is not None else {}


def _day(text: str) -> str:
    if text in ("latest", "previous") or text.startswith("-"):
        return text
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day: {text!r} (YYYY-MM-DD, latest, previous or -N)") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="txf-archive",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Settings: TXF_ARCHIVE_ROOT, TXF_ARCHIVE_GROUP, TXF_ARCHIVE_ROLL_BYTES, "
        "TXF_ARCHIVE_ROLL_S, TXF_ARCHIVE_METRICS_PORT, TXF_BARS_*, and the "
        "shared TXF_KAFKA_*, TXF_REGISTRY_*, TXF_TOPIC_PREFIX, TXF_HOLIDAYS(_FILE), TXF_LOG_LEVEL.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="archive the topics (the service)")
    run.add_argument("--root", type=Path, default=None, help=ROOT_HELP)
    run.add_argument("--topics", default="", help="comma-separated subset of the topic map's topics")
    run.add_argument("--idle-exit-s", type=float, default=0.0, help="stop after this long without a record (0: never)")
    run.add_argument("--no-wait", action="store_true", help="fail at once when another archiver holds the directory")
    run.set_defaults(func=cmd_run)
    bars = sub.add_parser("bars", help="build 1-minute bars from the tick topics into txf-bars-1m")
    bars.add_argument("--idle-exit-s", type=float, default=0.0, help="stop after this long without a tick (0: never)")
    bars.set_defaults(func=cmd_bars)
    compact = sub.add_parser("compact", help="merge finished days into one file per topic-partition (checked)")
    compact.add_argument("--root", type=Path, default=None, help=ROOT_HELP)
    compact.add_argument(
        "--day",
        type=date.fromisoformat,
        action="append",
        help="only this trading day (repeatable; default: every finished day)",
    )
    compact.add_argument(
        "--keep-days",
        type=int,
        default=1,
        help="leave the newest N archived days alone (still being written; default 1)",
    )
    compact.add_argument("--dry-run", action="store_true", help="say what would be merged, change nothing")
    compact.set_defaults(func=cmd_compact)
    query = sub.add_parser("query", help="read a type, day range and contract")
    query.add_argument("--root", type=Path, default=None, help=ROOT_HELP)
    query.add_argument("--type", required=True, help="tick, bidask, bar or gap")
    query.add_argument(
        "--day",
        type=_day,
        required=True,
        help="YYYY-MM-DD, latest, previous (the day before latest) or -N (N archived days before latest)",
    )
    query.add_argument("--to", type=_day, default=None, help="last day of a range (default: --day)")
    query.add_argument("--code", default=None, help="contract code, e.g. TXFK6 (default: all)")
    query.add_argument(
        "--sql", default=None, help="SQL over the rows, which are the table `rows`, e.g. 'SELECT count(*) FROM rows'"
    )
    query.add_argument("--format", choices=("table", "csv", "parquet", "jsonl"), default="table")
    query.add_argument("--out", type=Path, default=None)
    query.add_argument("--limit", type=int, default=0)
    query.set_defaults(func=cmd_query)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
