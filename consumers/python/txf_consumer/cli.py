"""`txf-consume`: read txf.v1 topics, check schema ids, track loss/latency, print.

Exit status: 0 done (max messages, idle, SIGINT/SIGTERM); 1 fatal (broker
unreachable past --connect-timeout-s, refused schema id, registry not answering,
Kafka fatal error), with a one-line reason on stderr; 2 usage error; 77 not
authorized (the principal's ACLs do not allow the topic or the group); 78
credentials rejected (Kafka SASL, registry basic auth, an untrusted certificate)
or a wrong TXF_KAFKA_* security setting.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from typing import IO

from google.protobuf.message import Message

from txf_consumer.consumer import (
    DEFAULT_GROUP,
    DEFAULT_TOPICS,
    EXIT_CONFIG,
    MESSAGE_TYPES,
    ConsumerOptions,
    FatalConsumerError,
    MalformedRecord,
    TxfConsumer,
    default_type_for,
    install_signal_handlers,
)
from txf_consumer.handler import BaseHandler, RecordMeta
from txf_consumer.live import DEFAULT_FPS, LiveView
from txf_consumer.output import JsonlWriter, describe_event, summary_json, summary_text
from txf_consumer.screen import ScreenProcess
from txf_consumer.settings import RegistrySettings, SecuritySettingsError, default_bootstrap, kafka_security
from txf_consumer.tracker import SeqEvent, StreamState, Tracker

PROG = "txf-consume"


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _non_negative(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The command line (defaults from TXF_* environment variables, see settings.py)."""
    p = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n\n")[0],
        epilog="Environment: TXF_KAFKA_BOOTSTRAP, TXF_REGISTRY_URL, TXF_REGISTRY_BASIC_AUTH (user:password) or "
        "TXF_REGISTRY_BASIC_AUTH_FILE, "
        "TXF_REGISTRY_SSL_CA_LOCATION; a secured cluster: TXF_KAFKA_SECURITY_PROTOCOL (SASL_SSL), "
        "TXF_KAFKA_SASL_MECHANISM (SCRAM-SHA-512), TXF_KAFKA_SASL_USERNAME, TXF_KAFKA_SASL_PASSWORD or "
        "TXF_KAFKA_SASL_PASSWORD_FILE, TXF_KAFKA_SSL_CA_LOCATION. "
        "Exit: 0 done, 1 fatal, 2 usage, 77 not authorized, 78 credentials rejected.",
    )
    p.add_argument("--bootstrap", default=default_bootstrap(), help="Kafka bootstrap servers (%(default)s)")
    p.add_argument(
        "--registry",
        default=None,
        help="Confluent-API registry URL; each schema id is checked once against it "
        "(default $TXF_REGISTRY_URL or the local stack)",
    )
    p.add_argument("--registry-ca", default=None, help="PEM CA file for an https registry")
    p.add_argument(
        "--no-schema-check",
        action="store_true",
        help="trust schema ids without asking the registry (decode with the topic's type)",
    )
    p.add_argument("--group", default=DEFAULT_GROUP, help="consumer group; offsets are committed to it (%(default)s)")
    p.add_argument("--topics", default=",".join(DEFAULT_TOPICS), help="comma-separated topics (%(default)s)")
    p.add_argument(
        "--from-beginning",
        action="store_true",
        help="start at the earliest offset when the group has no committed offset",
    )
    p.add_argument("--max-messages", type=_non_negative, default=0, help="stop after N messages (0: no limit)")
    p.add_argument(
        "--idle-exit-ms",
        type=_non_negative,
        default=0,
        help="stop after M ms without any record, counted from the start or the last record (0: never)",
    )
    p.add_argument(
        "--type",
        dest="types",
        action="append",
        type=_key_value,
        default=[],
        metavar="TOPIC=TYPE",
        help="message type of a topic, repeatable; TYPE is txf.v1.Tick or txf.v1.BidAsk "
        "(defaults: txf-tick, txfr2-tick -> Tick; txf-bidask -> BidAsk, also after a prefix)",
    )
    p.add_argument(
        "--property",
        dest="properties",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="extra librdkafka consumer property, repeatable (e.g. fetch.min.bytes=1); never a password: "
        "flags show in ps, use the TXF_KAFKA_SASL_* variables",
    )
    p.add_argument(
        "--output",
        choices=("live", "jsonl", "quiet"),
        default="live",
        help="live: terminal view (book ladder, tape, session, rate, loss and latency), summary table "
        "at exit; jsonl: one JSON line per message on stdout, JSON summary on stderr; quiet: only "
        "the JSON summary, on stdout (default %(default)s)",
    )
    p.add_argument(
        "--fps",
        type=float,
        default=DEFAULT_FPS,
        help="live view: frames a second, drawn by a separate process (%(default)s)",
    )
    p.add_argument(
        "--summary-file",
        default=None,
        metavar="PATH",
        help="also write the JSON summary (loss, duplicates, latency) to PATH at exit",
    )
    p.add_argument(
        "--connect-timeout-s",
        type=float,
        default=30.0,
        help="fatal when the broker (or registry) does not answer this long (%(default)s)",
    )
    return p


def options_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> ConsumerOptions:
    """Validate the parsed flags into ConsumerOptions (parser.error on a usage problem)."""
    topics: list[str] = []
    for t in args.topics.split(","):
        if t.strip() and t.strip() not in topics:
            topics.append(t.strip())
    if not topics:
        parser.error("--topics: no topic given")
    types: dict[str, type[Message]] = {}
    for topic, type_name in args.types:
        if type_name not in MESSAGE_TYPES:
            parser.error(f"--type {topic}={type_name}: unknown type, known: {', '.join(sorted(MESSAGE_TYPES))}")
        if topic not in topics:
            parser.error(f"--type {topic}={type_name}: {topic} is not in --topics")
        types[topic] = MESSAGE_TYPES[type_name]
    for t in topics:
        if t not in types:
            default = default_type_for(t)
            if default is None:
                parser.error(f"topic {t}: unknown message type, give --type {t}=txf.v1.Tick (or txf.v1.BidAsk)")
            types[t] = MESSAGE_TYPES[default]
    registry = None
    if not args.no_schema_check:
        registry = RegistrySettings.from_env(
            url=args.registry, ca_location=args.registry_ca, deadline_s=args.connect_timeout_s
        )
    return ConsumerOptions(
        topics=topics,
        types=types,
        bootstrap=args.bootstrap,
        group=args.group,
        from_beginning=args.from_beginning,
        max_messages=args.max_messages,
        idle_exit_ms=args.idle_exit_ms,
        registry=registry,
        kafka_properties=dict(args.properties),
        security=kafka_security(),
        connect_timeout_s=args.connect_timeout_s,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `txf-consume` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from_args(args, parser)
    except SecuritySettingsError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    if not args.fps > 0:
        parser.error(f"--fps must be > 0, got {args.fps:g}")
    tracker = Tracker()
    stdout_bin = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else io.BytesIO()
    consumer: TxfConsumer
    malformed = [0]

    view: LiveView | None = None
    screen: ScreenProcess | None = None
    screen_failed: list[str] = []
    # the live view owns the terminal: reports go to stderr only when it is not that terminal
    quiet_stderr = args.output == "live" and sys.stderr.isatty()

    def count_malformed(rec: MalformedRecord) -> None:
        malformed[0] += 1
        text = f"malformed record {rec.topic}[{rec.partition}]@{rec.offset}: {rec.reason}"
        if not quiet_stderr:
            print(f"{PROG}: {text}", file=sys.stderr, flush=True)
        if view is not None:
            view.on_malformed_record(text)

    def event_to_stderr(event: SeqEvent, state: StreamState, meta: RecordMeta, seq: int) -> None:
        line = describe_event(event, state, meta, seq)
        if line and not quiet_stderr:
            print(f"{PROG}: {line}", file=sys.stderr, flush=True)

    def screen_gone(reason: str) -> None:
        screen_failed.append(reason)
        consumer.stop()

    if args.output == "jsonl":
        writer = JsonlWriter(stdout_bin, on_closed=lambda: consumer.stop())
        consumer = TxfConsumer(
            options,
            writer,
            tracker=tracker,
            on_malformed=count_malformed,
            on_sequence_event=event_to_stderr,
            heartbeat=writer.flush,
        )
    elif args.output == "live":
        screen = ScreenProcess(args.fps, on_failure=screen_gone)
        view = LiveView(tracker, screen, fps=args.fps, malformed=lambda: malformed[0])

        def on_sequence_event(event: SeqEvent, state: StreamState, meta: RecordMeta, seq: int) -> None:
            view.on_sequence_event(event, state, meta, seq)
            event_to_stderr(event, state, meta, seq)

        consumer = TxfConsumer(
            options,
            view,
            tracker=tracker,
            on_malformed=count_malformed,
            on_sequence_event=on_sequence_event,
            heartbeat=view.heartbeat,
        )
    else:
        consumer = TxfConsumer(
            options, BaseHandler(), tracker=tracker, on_malformed=count_malformed, on_sequence_event=event_to_stderr
        )

    restore = install_signal_handlers(consumer)
    try:
        result = consumer.run()
    except FatalConsumerError as exc:
        if args.output == "jsonl":
            _flush_quietly(stdout_bin)
        if screen is not None:
            screen.close()  # the terminal back first, then the reason on it
        print(f"{PROG}: fatal: {exc}".replace("\n", " "), file=sys.stderr, flush=True)
        return exc.exit_code
    finally:
        restore()
        if screen is not None:
            screen.close()

    summary = result.summary()
    if args.summary_file:
        _write_summary(args.summary_file, summary)
    if screen_failed:
        print(
            f"{PROG}: fatal: {screen_failed[0]}; use --output jsonl or quiet without a terminal view",
            file=sys.stderr,
            flush=True,
        )
        return 1
    if args.output == "jsonl":
        _flush_quietly(stdout_bin)
        print(summary_json(summary), file=sys.stderr, flush=True)
    elif view is not None:
        print(summary_text(summary), flush=True)
    else:
        print(summary_json(summary), flush=True)
    return 0


def _write_summary(path: str, summary: dict[str, object]) -> None:
    """--summary-file: the JSON summary, written whole (a temporary file renamed over the target)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(summary_json(summary) + "\n")
    os.replace(tmp, path)


def _flush_quietly(out: IO[bytes]) -> None:
    try:
        out.flush()
    except BrokenPipeError:
        # stdout's reader is gone: keep the interpreter's exit flush from failing too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
