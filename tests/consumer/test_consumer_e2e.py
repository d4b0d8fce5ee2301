"""End to end on the local stack: ProtobufSerializer -> Kafka -> txf_consumer (library and `txf-consume` CLI).

Every message comes back equal to what was sent, nothing is missing, loss and
duplicates are 0; an injected gap and duplicate are reported exactly; malformed
records are reported and skipped; a refused schema, an unreachable broker and
signals end the CLI as documented. No sleeps: runs end by --max-messages or
--idle-exit-ms, subprocesses are bounded by timeouts.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest
from confluent_kafka import Consumer, TopicPartition
from consumerkit import REPO, RUN_ID, SerializingSender, bidask, cli_env, run_cli, tick, unique
from google.protobuf import json_format

from txf.v1 import BidAsk, Tick
from txf_consumer import BaseHandler, ConsumerOptions, RegistrySettings, TxfConsumer
from txf_consumer.consumer import FatalConsumerError

pytestmark = pytest.mark.integration

N_TICK, N_BOOK = 40, 160


class Collect(BaseHandler):
    """A strategy that keeps everything it is given."""

    def __init__(self) -> None:
        self.got: list[tuple[object, object]] = []

    def on_tick(self, tick, meta):
        self.got.append((tick, meta))

    def on_bidask(self, bidask, meta):
        self.got.append((bidask, meta))


@pytest.fixture
def topics(new_topic):
    return new_topic("tick"), new_topic("book")


@pytest.fixture
def sent(stack, topics):
    """N_TICK Ticks and N_BOOK BidAsks sent with ProtobufSerializer (auto.register, TOPIC): (sender, by topic)."""
    tick_topic, book_topic = topics
    sender = SerializingSender(stack)
    msgs = {tick_topic: [tick(i) for i in range(1, N_TICK + 1)], book_topic: [bidask(i) for i in range(1, N_BOOK + 1)]}
    for topic, ms in msgs.items():
        sender.send(topic, ms)
    sender.flush()
    return sender, msgs


def options(stack, pair, **kw) -> ConsumerOptions:
    tick_topic, book_topic = pair
    base = dict(
        topics=[tick_topic, book_topic],
        types={tick_topic: Tick, book_topic: BidAsk},
        bootstrap=stack.bootstrap_servers,
        group=unique("grp"),
        from_beginning=True,
        registry=RegistrySettings(url=stack.registry_url),
        idle_exit_ms=20_000,
        connect_timeout_s=20,
    )
    base.update(kw)
    return ConsumerOptions(**base)


def cli_args(stack, topics, *extra: str) -> list[str]:
    tick_topic, book_topic = topics
    return [
        "--bootstrap",
        stack.bootstrap_servers,
        "--registry",
        stack.registry_url,
        "--group",
        unique("cli"),
        "--topics",
        f"{tick_topic},{book_topic}",
        "--type",
        f"{tick_topic}=txf.v1.Tick",
        "--type",
        f"{book_topic}=txf.v1.BidAsk",
        "--from-beginning",
        *extra,
    ]


def expected_line(topic, offset, schema_id, msg) -> str:
    return json.dumps(
        {
            "topic": topic,
            "partition": 0,
            "offset": offset,
            "schemaId": schema_id,
            "type": msg.DESCRIPTOR.full_name,
            "message": json_format.MessageToDict(msg),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def test_library_run_decodes_everything_sent(stack, topics, sent):
    sender, msgs = sent
    handler = Collect()
    opts = options(stack, topics, max_messages=N_TICK + N_BOOK)
    consumer = TxfConsumer(opts, handler)
    result = consumer.run()
    assert result.stop_reason == "max-messages" and result.malformed == 0
    assert (result.records, result.messages) == (N_TICK + N_BOOK, N_TICK + N_BOOK)
    for topic, want in msgs.items():
        got = [(m, meta) for m, meta in handler.got if meta.topic == topic]
        assert [m for m, _ in got] == want
        assert [meta.offset for _, meta in got] == list(range(len(want)))
        meta = got[0][1]
        assert (meta.partition, meta.schema_id, meta.type_name) == (
            0,
            sender.schema_ids[topic],
            want[0].DESCRIPTOR.full_name,
        )
        assert meta.kafka_timestamp_type == "create" and meta.kafka_timestamp_ms > 0
        assert meta.key == b"TXFK6" and meta.receive_time_ns > 0
    s = result.summary()
    assert (s["loss"], s["duplicates"], s["gaps"], s["reordered"], s["producerRestarts"]) == (0, 0, 0, 0, 0)
    assert s["byType"] == {"txf.v1.Tick": N_TICK, "txf.v1.BidAsk": N_BOOK}
    assert s["latencyMs"]["txf.v1.BidAsk"]["producerToConsumer"]["count"] == N_BOOK
    assert result.schema_ids == {t: [sender.schema_ids[t]] for t in topics}
    assert sorted(consumer.checker.fetched_ids) == sorted(set(sender.schema_ids.values()))  # once per id

    # offsets were committed as it went: the group has everything, a second run reads nothing
    probe = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": opts.group})
    try:
        committed = probe.committed([TopicPartition(t, 0) for t in topics], timeout=10)
        assert {c.topic: c.offset for c in committed} == {topics[0]: N_TICK, topics[1]: N_BOOK}
    finally:
        probe.close()
    again = TxfConsumer(options(stack, topics, group=opts.group, idle_exit_ms=1500), Collect()).run()
    assert (again.stop_reason, again.records) == ("idle", 0)


def test_a_record_is_handed_over_without_waiting_for_a_batch(stack, topics):
    """One record, a 20 s poll wait: it reaches the handler long before the wait is over (no batch wait).

    (A blocking consume(num_messages=500, timeout=20) returned it only after the 20 s.)
    """
    tick_topic, _book_topic = topics
    sender = SerializingSender(stack)
    sender.send(tick_topic, [tick(1)])
    sender.flush()
    arrived = threading.Event()

    class Signal(BaseHandler):
        def on_tick(self, tick, meta):
            arrived.set()

    stop = threading.Event()
    consumer = TxfConsumer(
        options(stack, topics, topics=[tick_topic], types={tick_topic: Tick}, poll_interval_s=20.0, idle_exit_ms=0),
        Signal(),
    )
    runner = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    runner.start()
    try:
        assert arrived.wait(15), "the record waited for a batch"
    finally:
        stop.set()
        runner.join(30)
    assert not runner.is_alive()


def test_cli_jsonl_prints_every_message_exactly(stack, topics, sent):
    sender, msgs = sent
    proc = run_cli(
        cli_args(stack, topics, "--output", "jsonl", "--max-messages", str(N_TICK + N_BOOK), "--idle-exit-ms", "30000")
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == N_TICK + N_BOOK
    for topic, want in msgs.items():
        got = [line for line in lines if json.loads(line)["topic"] == topic]
        assert got == [expected_line(topic, i, sender.schema_ids[topic], m) for i, m in enumerate(want)]
    summary = json.loads(proc.stderr.strip().splitlines()[-1])
    assert (summary["messages"], summary["loss"], summary["duplicates"], summary["malformed"]) == (
        N_TICK + N_BOOK,
        0,
        0,
        0,
    )
    assert summary["stopReason"] == "max-messages"
    assert {k for k in summary["latencyMs"]["txf.v1.Tick"]["exchangeToConsumer"]} >= {
        "count",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
    }


def test_gap_duplicate_restart_and_malformed_are_reported_exactly(stack, topics):
    tick_topic, book_topic = topics
    sender = SerializingSender(stack)
    tick_seqs = [1, 2, 3, 5, 6, 6, 7]  # 4 lost, 6 twice
    book_seqs = [1, 2, 3, 4, 8, 9]  # 5..7 lost (a gap of 3)
    sender.send(tick_topic, [tick(s) for s in tick_seqs])
    sender.send_raw(tick_topic, b"\x01" + b"\x00" * 20)  # GUID form: not ours
    sender.send_raw(tick_topic, None)  # tombstone
    sender.send(tick_topic, [tick(1, run_id=RUN_ID + 1), tick(2, run_id=RUN_ID + 1)])  # producer restart
    sender.send(book_topic, [bidask(s) for s in book_seqs])
    sender.flush()
    total = len(tick_seqs) + 2 + len(book_seqs)

    result = TxfConsumer(options(stack, topics, max_messages=total), Collect(), on_malformed=lambda rec: None).run()
    s = result.summary()
    assert (s["loss"], s["gaps"], s["duplicates"], s["producerRestarts"], s["malformed"]) == (4, 2, 1, 1, 2)
    streams = {(x["type"], x["producerRunId"]): x for x in s["streams"]}
    first_run = streams[("txf.v1.Tick", str(RUN_ID))]
    assert (first_run["lost"], first_run["gapSizes"], first_run["duplicates"]) == (1, [1], 1)
    assert streams[("txf.v1.BidAsk", str(RUN_ID))]["gapSizes"] == [3]
    assert streams[("txf.v1.Tick", str(RUN_ID + 1))]["restartOf"] == str(RUN_ID)

    proc = run_cli(cli_args(stack, topics, "--output", "quiet", "--max-messages", str(total)))
    assert proc.returncode == 0, proc.stderr
    cli_summary = json.loads(proc.stdout)
    assert {k: cli_summary[k] for k in ("loss", "gaps", "duplicates", "producerRestarts", "malformed")} == {
        "loss": 4,
        "gaps": 2,
        "duplicates": 1,
        "producerRestarts": 1,
        "malformed": 2,
    }
    err = proc.stderr
    assert f"gap in txf.v1.Tick TXFK6 run {RUN_ID}: 1 missing (sequence 4..4) before 5 at {tick_topic}[0]@3" in err
    assert f"gap in txf.v1.BidAsk TXFK6 run {RUN_ID}: 3 missing (sequence 5..7) before 8 at {book_topic}[0]@4" in err
    assert f"duplicate in txf.v1.Tick TXFK6 run {RUN_ID}: sequence 6 again at {tick_topic}[0]@5" in err
    assert f"malformed record {tick_topic}[0]@7: bad magic byte 0x01" in err
    assert f"malformed record {tick_topic}[0]@8: null value (tombstone)" in err
    assert f"producer restart: txf.v1.Tick TXFK6 run {RUN_ID} -> {RUN_ID + 1}" in err


def test_refused_schema_is_fatal_with_a_one_line_reason(stack, topics):
    tick_topic, book_topic = topics
    sender = SerializingSender(stack)
    sender.send(tick_topic, [bidask(1)])  # a BidAsk (registered under the tick topic's subject) on a Tick topic
    sender.flush()
    with pytest.raises(
        FatalConsumerError,
        match=f"topic '{tick_topic}': schema id {sender.schema_ids[tick_topic]} "
        f"refused: .* is txf.v1.BidAsk, this topic carries txf.v1.Tick",
    ):
        TxfConsumer(options(stack, topics), Collect()).run()
    proc = run_cli(cli_args(stack, topics, "--output", "jsonl"))
    assert proc.returncode == 1 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"txf-consume: fatal: topic '{tick_topic}': schema id ")


def test_unreachable_broker_is_fatal_after_the_deadline():
    proc = run_cli(
        ["--bootstrap", "127.0.0.1:9", "--topics", "txf-tick", "--output", "jsonl", "--connect-timeout-s", "2"],
        timeout=60,
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("txf-consume: fatal: Kafka broker 127.0.0.1:9 unreachable within 2 s")


def test_usage_errors_exit_2(stack):
    proc = run_cli(["--topics", "mystery", "--output", "quiet"], timeout=60)
    assert proc.returncode == 2 and "topic mystery: unknown message type" in proc.stderr
    proc = run_cli(["--topics", "txf-tick", "--type", "txf-tick=txf.v1.Nope"], timeout=60)
    assert proc.returncode == 2 and "unknown type" in proc.stderr


def test_idle_exit_on_an_empty_topic(stack, topics):
    proc = run_cli(cli_args(stack, topics, "--output", "quiet", "--idle-exit-ms", "1500"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["stopReason"], summary["records"], summary["messages"]) == ("idle", 0, 0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly_and_commits(stack, topics, sig):
    tick_topic, _book_topic = topics
    sender = SerializingSender(stack)
    sender.send(tick_topic, [tick(1), tick(2)])
    sender.flush()
    group = unique("sig")
    args = cli_args(stack, topics, "--output", "jsonl", "--connect-timeout-s", "20")
    args[args.index("--group") + 1] = group
    proc = subprocess.Popen(
        [sys.executable, "-m", "txf_consumer", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=str(REPO),
    )
    try:
        # two lines on stdout = the loop is running with its signal handlers installed
        first = [proc.stdout.readline(), proc.stdout.readline()]
        assert all(json.loads(line)["topic"] == tick_topic for line in first)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    summary = json.loads(err.strip().splitlines()[-1])
    assert (summary["stopReason"], summary["messages"]) == ("stopped", 2)
    probe = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": group})
    try:
        assert probe.committed([TopicPartition(tick_topic, 0)], timeout=10)[0].offset == 2
    finally:
        probe.close()


def test_handler_failure_is_fatal_and_its_record_is_not_committed(stack, topics, sent):
    tick_topic, _book_topic = topics

    class Fails(BaseHandler):
        def on_tick(self, tick, meta):
            if meta.offset == 3:
                raise ValueError("strategy bug")

    opts = options(stack, topics, topics=[tick_topic], types={tick_topic: Tick})
    with pytest.raises(FatalConsumerError, match=f"handler failed on {tick_topic}\\[0\\]@3: ValueError: strategy bug"):
        TxfConsumer(opts, Fails()).run()
    probe = Consumer({"bootstrap.servers": stack.bootstrap_servers, "group.id": opts.group})
    try:
        assert probe.committed([TopicPartition(tick_topic, 0)], timeout=10)[0].offset == 3  # read again next time
    finally:
        probe.close()


def test_cli_live_without_a_terminal_prints_only_the_summary(stack, topics, sent):
    """Live mode's screen is for terminals (tests/consumer/test_consumer_live_tmux.py); into a pipe, no escapes."""
    proc = run_cli(cli_args(stack, topics, "--output", "live", "--max-messages", str(N_TICK + N_BOOK)))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout
    assert proc.stdout.startswith(
        f"txf-consume: stopped (max-messages): {N_TICK + N_BOOK} records, "
        f"{N_TICK + N_BOOK} messages, 0 malformed; loss 0 in 0 gap(s), duplicates 0"
    )
    assert "producer->consumer" in proc.stdout


def test_buffered_output_is_flushed_before_its_offsets_are_stored(stack, topics, sent):
    """The heartbeat (the CLI's flush of buffered JSON lines) runs before every store of offsets, so a
    SIGKILL between the two repeats lines on restart, never loses them (at-least-once for the output)."""
    calls: list[str] = []
    consumer = TxfConsumer(
        options(stack, topics, max_messages=N_TICK + N_BOOK), Collect(), heartbeat=lambda: calls.append("flush")
    )
    store = consumer._store

    def recording_store(kafka_consumer, stored):
        if stored:
            calls.append("store")
        store(kafka_consumer, stored)

    consumer._store = recording_store  # type: ignore[method-assign]
    assert consumer.run().messages == N_TICK + N_BOOK
    stores = [i for i, c in enumerate(calls) if c == "store"]
    assert stores and all(i > 0 and calls[i - 1] == "flush" for i in stores), calls[:20]
