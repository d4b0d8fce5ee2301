"""`txf-producer`: run the producer on a source, or republish a spool file.

    txf-producer run --source sim                  # seeded simulated TXF market
    txf-producer run --source shioaji --record F   # live session, also recorded to F
    txf-producer run --source replay --replay F    # a recording, at recorded or full speed
    txf-producer respool state/spool.msgpack       # publish records that Kafka did not take

Settings come from the environment and .env (see .env.example). Exit codes: 0
stopped on purpose, 1 fatal (systemd restarts), 77 not authorized by Kafka's
ACLs, 78 invalid settings or rejected credentials (Shioaji key, Kafka password).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from txf_kit.logs import journal_prefix, setup_logging
from txf_producer.app import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, ProducerApp, run_app
from txf_producer.settings import Settings, SettingsError, load_settings
from txf_producer.stall import StallDetector

log = logging.getLogger("txf_producer")


def _parse_start(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    start = dt.datetime.fromisoformat(text)
    if start.tzinfo is None:  # a naive time is Taipei local time, as on the exchange
        start = start.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return start


def build_source(args: argparse.Namespace, settings: Settings) -> tuple[Any, StallDetector | None]:
    """The chosen source (imported lazily: shioaji opens its log file at import)."""
    from txf_producer.sources.base import QuoteType  # noqa: F401 - after prepare_shioaji_log

    streams = tuple((alias, quote_type) for quote_type, alias, _topic in settings.routes())
    if args.source == "sim":
        from txf_producer.sources.simulated import SimConfig, SimulatedSource

        sim = SimConfig(
            seed=args.seed,
            start=_parse_start(args.sim_start),
            streams=streams,
            speed=args.speed,
            rate=args.rate,
            max_messages=args.max_messages,
            end=_parse_start(args.sim_end) if args.sim_end else None,
            intensity=args.sim_intensity,
            generator_process=args.sim_process,
            anchor_ns=args.sim_anchor_ns,
            leg_seed=args.leg_seed,
            leg_drop=args.leg_drop,
            leg_jitter_ms=args.leg_jitter_ms,
        )
        return SimulatedSource(sim), None
    if args.source == "replay":
        from txf_producer.sources.replay import ReplaySource

        if args.replay is None:
            raise SettingsError("--source replay needs --replay FILE (a recording made with --record)")
        return ReplaySource(args.replay, speed=args.speed or None, max_messages=args.max_messages), None
    from txf_producer.sources.shioaji_live import ShioajiConfig, ShioajiSource

    config = ShioajiConfig(
        api_key=settings.shioaji_api_key or SecretStr(""),  # missing: the source refuses to start (exit 78)
        secret_key=settings.shioaji_secret_key or SecretStr(""),
        simulation=settings.shioaji_simulation,
        tick_aliases=tuple(a for q, a, _t in settings.routes() if q is QuoteType.TICK),
        bidask_aliases=tuple(a for q, a, _t in settings.routes() if q is QuoteType.BIDASK),
        log_path=settings.state_dir / "shioaji.log",
    )
    return ShioajiSource(config), StallDetector(
        settings.no_data_timeout_s, settings.no_data_after_open_s, settings.all_holidays()
    )


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    setup_logging(settings.log_level)
    from txf_producer.sources.shioaji_live import prepare_shioaji_log

    prepare_shioaji_log(settings.state_dir / "shioaji.log")
    source, stall = build_source(args, settings)
    wrap: Callable[[Any], Any] | None = None
    if args.record is not None:
        from txf_producer.recording import Recorder

        wrap = functools.partial(Recorder, args.record, source=args.source)  # wrap(sink): records, then forwards

    result = run_app(lambda: ProducerApp(settings, source, wrap_sink=wrap, stall_detector=stall))
    stats = result.stats
    log.info("final stats %s", json.dumps(stats, sort_keys=True))
    if result.exit_code != EXIT_OK:
        print(f"{journal_prefix(logging.ERROR)}txf-producer: exit {result.exit_code}: {result.reason}", file=sys.stderr)
    else:
        log.info("stopped: %s", result.reason)
    return result.exit_code


def cmd_respool(args: argparse.Namespace) -> int:
    from confluent_kafka import Producer

    from txf_producer.respool import RespoolCheckError, already_written, identify, to_republish
    from txf_producer.spool import claim, read_spool

    settings = load_settings()
    setup_logging(settings.log_level)
    try:
        claimed = claim(args.file)  # a producer still spooling writes its next record to a new file
    except FileNotFoundError:
        earlier = sorted(str(p) for p in args.file.parent.glob(f"{args.file.name}.respooling-*") if p.suffix != ".done")
        hint = f"; an earlier respool kept {', '.join(earlier)}: respool that" if earlier else ""
        print(
            f"{journal_prefix(logging.ERROR)}txf-producer respool: {args.file}: no such spool file{hint}",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    kept = f"kept as {claimed}: run `txf-producer respool {claimed}` once the cause is fixed"
    spooled = [identify(topic, key, value) for topic, key, value, _reason, _t in read_spool(claimed)]
    try:
        written = set() if args.unchecked else already_written(settings.client_config(), spooled)
    except RespoolCheckError as exc:
        print(f"{journal_prefix(logging.ERROR)}txf-producer respool: {exc}; {kept}", file=sys.stderr)
        return EXIT_FATAL
    todo = to_republish(spooled, written)
    producer = Producer(settings.kafka_config())
    failed: list[str] = []
    count = 0

    def report(err: Any, _msg: Any) -> None:
        if err is not None:
            failed.append(err.str())

    for r in todo:
        if not _produce_with_room(producer, r.topic, r.key, r.value, report, settings.flush_timeout_s):
            failed.append(f"Kafka took nothing for {settings.flush_timeout_s:.0f}s (TXF_FLUSH_TIMEOUT_S)")
            break
        count += 1
    left = producer.flush(settings.flush_timeout_s)
    if left or failed:
        print(
            f"{journal_prefix(logging.ERROR)}txf-producer respool: {left} not delivered, "
            f"{len(failed)} failed ({failed[:3]}); {kept} (what was delivered is skipped then)",
            file=sys.stderr,
        )
        return EXIT_FATAL
    done = args.file.with_suffix(args.file.suffix + ".done")
    claimed.rename(done)
    skipped = len(spooled) - len(todo)
    print(
        f"republished {count} records from {args.file} (moved to {done}); "
        f"skipped {skipped} the topics already held" + (" (--unchecked: not checked)" if args.unchecked else "")
    )
    return EXIT_OK


def _produce_with_room(
    producer: Any, topic: str, key: bytes | None, value: bytes | None, report: Callable[..., None], bound_s: float
) -> bool:
    """produce(), waiting for room in a full local queue (a spool can hold far more records than the
    queue, TXF_KAFKA_EXTRA queue.buffering.max.messages); False when no room came within `bound_s`."""
    deadline = time.monotonic() + bound_s
    while True:
        try:
            producer.produce(topic, value, key, on_delivery=report)
            producer.poll(0)
            return True
        except BufferError:
            if time.monotonic() > deadline:
                return False
            producer.poll(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="txf-producer", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the producer")
    run.add_argument("--source", choices=("shioaji", "sim", "replay"), default="shioaji")
    run.add_argument("--record", type=Path, help="also record every quote to this file (replayable)")
    run.add_argument("--replay", type=Path, help="recording to replay (--source replay)")
    run.add_argument(
        "--speed",
        type=float,
        default=None,
        help="sim/replay pace: 1 = real time, 60 = a minute per second; omit for full speed",
    )
    run.add_argument("--rate", type=float, default=None, help="sim: fixed messages per second")
    run.add_argument("--max-messages", type=int, default=None, help="sim/replay: stop after this many quotes")
    run.add_argument("--seed", type=int, default=1, help="sim: random seed (same seed, same quotes)")
    run.add_argument("--sim-start", help="sim: simulated start, ISO time (naive = Taipei), default next day open")
    run.add_argument("--sim-end", help="sim: stop when the market reaches this time, ISO (naive = Taipei)")
    run.add_argument(
        "--sim-intensity", type=float, default=1.0, help="sim: x the intraday message rate (1 ~ 410,000 a day)"
    )
    run.add_argument(
        "--sim-process",
        action="store_true",
        help="sim at full speed: generate the market in a child process (load tests: the model's "
        "own cost stays off the producer's CPU; same quotes)",
    )
    run.add_argument(
        "--sim-anchor-ns",
        type=int,
        default=None,
        help="sim as a capture leg of a shared market: wall time (UTC ns) of --sim-start; legs started "
        "at different times deliver each quote at the same moment (needs --speed)",
    )
    run.add_argument("--leg-seed", type=int, default=0, help="sim leg: this leg's randomness (drops, jitter)")
    run.add_argument("--leg-drop", type=float, default=0.0, help="sim leg: share of quotes this leg never gets")
    run.add_argument("--leg-jitter-ms", type=float, default=0.0, help="sim leg: up to this much later, in order")
    run.set_defaults(func=cmd_run)
    respool = sub.add_parser(
        "respool",
        help="publish the records of a spool file the topics do not hold yet (checked), then rename it *.done",
    )
    respool.add_argument("file", type=Path)
    respool.add_argument(
        "--unchecked",
        action="store_true",
        help="do not read the topics back first (a principal without READ on them): duplicates possible",
    )
    respool.set_defaults(func=cmd_respool)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"{journal_prefix(logging.ERROR)}txf-producer: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
