"""Kafka as teams run it: a three-node cluster loses nodes while the shipped producer streams into it.

Topics come from the topic map's cluster profile (replication factor 3, min.insync.replicas 2), created
by txf-registry's provision. The producer is `txf-producer run --source sim` in its own process,
watched only through its /metrics and its log; every record is then read back and judged by its
sequence number (each 1..n exactly once, one producer run). Consumers are the txf_consumer library in
processes of their own. Nodes are killed with SIGKILL by PID and started again on their data.

Figures (pause, records queued, spooled, delivered, duplicates) are printed by the tests (`pytest -s`)
and copied into the README's table.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from clusterkit import (
    ClusterUnderTest,
    Group,
    ProducerProcess,
    check_stream,
    coordinator_partition,
    figure,
    iter_places,
    longest_stall,
    read_topic,
    wait_until,
    writable,
)
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from stack import cluster
from txf.v1 import BidAsk, Tick
from txf_registry import provision

RATE = 2500  # msgs/s, 7x the busiest second the original service saw (353)


def _topics(where: ClusterUnderTest, test: str) -> tuple[str, str, str]:
    """This test's own topics, declared and created by txf-registry's provision (auto: the cluster profile),
    on a cluster with every node up and every replica in sync."""
    prefix = f"{test}{uuid.uuid4().hex[:8]}-"
    provision(where.bootstrap, where.registry_url, prefix)
    bidask, tick = prefix + "txf-bidask", prefix + "txf-tick"
    where.heal([bidask, tick])
    return prefix, bidask, tick


def _read_back(where: ClusterUnderTest, stats: dict[str, Any], bidask: str, tick: str) -> dict[str, Any]:
    out = {}
    for topic, cls in ((bidask, BidAsk), (tick, Tick)):
        check = check_stream(read_topic(where.bootstrap, topic), cls, stats["published"][topic])
        assert (check.duplicates, check.missing, check.runs) == (0, 0, 1), (topic, check)
        assert check.records == stats["published"][topic]
        out[topic] = check
    return out


def _ride_out(producer: ProducerProcess, bidask: str) -> tuple[int, dict[str, Any]]:
    """The producer goes on by itself: another 4 s of book quotes acknowledged and the backlog drained,
    then stopped as a user stops it (SIGTERM); its exit code and final stats."""
    producer.wait_delivered(bidask, producer.delivered(bidask) + 4 * RATE * 0.86, timeout=90)
    wait_until(lambda: producer.last and producer.last.queue < RATE, "the backlog drained", 60)
    return producer.stop()


def test_topics_carry_the_cluster_profile(where: ClusterUnderTest) -> None:
    """Provision applied the topic map's durability: 3 replicas, all in sync, min.insync.replicas 2."""
    _prefix, bidask, tick = _topics(where, "dur")
    admin = AdminClient({"bootstrap.servers": where.bootstrap})
    configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, t) for t in (bidask, tick)])
    for res, fut in configs.items():
        assert fut.result(15)["min.insync.replicas"].value == "2", res.name
        _leader, replicas, isr = cluster.partition_state(where.cfg, res.name)
        assert replicas == isr == [1, 2, 3], res.name


def test_partition_leader_sigkill_at_2500_per_s_pauses_delivery_then_everything_once(
    where: ClusterUnderTest, tmp_path: Path
) -> None:
    prefix, bidask, tick = _topics(where, "lead")
    leader = where.leader(bidask)
    producer = ProducerProcess(tmp_path, where, prefix, rate=RATE, seed=11)
    try:
        producer.wait_delivered(bidask, 5_000)
        t_kill = where.kill(leader)
        new_leader = wait_until(
            lambda: (n := where.leader(bidask)) not in (leader, -1) and n, "a new txf-bidask leader", 60, 0.1
        )
        code, stats = _ride_out(producer, bidask)
    finally:
        producer.close()
        where.heal()
    assert code == 0, producer.log_tail()
    assert len({s.start_time for s in producer.samples}) == 1  # one process throughout: never restarted
    assert stats["spooled_total"] == 0 and stats["delivery_errors"] == 0, stats
    stall = longest_stall(producer.samples, bidask, t_kill - 0.5, producer.samples[-1].t)
    before = longest_stall(producer.samples, bidask, t_kill - 3.0, t_kill)
    checks = _read_back(where, stats, bidask, tick)
    assert checks[bidask].in_order and checks[tick].in_order  # idempotence: retried batches keep their order
    assert 0 < stall.seconds < 30 and stall.start - 0.5 <= t_kill <= stall.end
    delivered = sum(stats["delivered"].values())
    figure(
        f"leader SIGKILL (node {leader} -> {new_leader}) at {RATE}/s: delivery pause {stall.seconds:.2f} s "
        f"(longest ack gap before the kill {before.seconds:.2f} s), {stall.queued:.0f} records queued at most, "
        f"{delivered} delivered, 0 duplicates, 0 lost, 0 spooled, no producer restart"
    )


def test_two_of_three_brokers_down_queue_then_spool_then_everything_once(
    where: ClusterUnderTest, tmp_path: Path
) -> None:
    prefix, bidask, tick = _topics(where, "quor")
    leader = where.leader(bidask)
    followers = [n for n in (1, 2, 3) if n != leader]
    # A local queue of 10,000 records (TXF_KAFKA_EXTRA; the default 100,000 lasts 40 s at this rate)
    # and a 0.5 s wait for room (TXF_QUEUE_FULL_WAIT_S): the spool starts within seconds.
    producer = ProducerProcess(
        tmp_path,
        where,
        prefix,
        rate=RATE,
        seed=12,
        TXF_KAFKA_EXTRA='{"queue.buffering.max.messages": 10000}',
        TXF_QUEUE_FULL_WAIT_S="0.5",
    )
    killed: list[int] = []
    reader = Group(tmp_path, where, bidask)  # one txf_consumer process on the library's defaults
    try:
        reader.spawn(1)
        producer.wait_delivered(bidask, 5_000)
        wait_until(lambda: len(reader.members[0].places()) > 1_000, "the consumer reading", 60, 0.2)
        offsets_partition = coordinator_partition(reader.name)
        coordinator = cluster.partition_state(where.cfg, "__consumer_offsets", offsets_partition)[0]
        t_kill = where.kill(*followers)
        killed = followers
        # acks=all cannot be met with one of three in sync (min.insync.replicas 2): nothing more is acknowledged,
        # the local queue fills up, then records go to the spool file, counted and logged
        wait_until(lambda: producer.last and producer.last.spooled >= 2, "records spooled", 90, 0.1)
        t_spool = producer.now().t
        held = producer.delivered(bidask)
        assert "record spooled to" in producer.log_text()
        back_s = where.start(*followers)
        killed = []
        t_back = time.monotonic()
        producer.wait_delivered(bidask, held + 1, timeout=90)
        t_written = time.monotonic()  # the cluster takes writes again (acknowledged by 2 in sync)
        # a member that lost its coordinator for longer than its session (10 s) gives up its partitions and
        # joins again: that needs the coordinator to store the group (its offsets partition writable), and
        # (read in librdkafka's log, not proved) the join waits out the old membership's 10 s session
        wait_until(lambda: writable(where.cfg, "__consumer_offsets", offsets_partition), "the group's store", 90, 0.1)
        t_group = time.monotonic()
        # the consumer resumes by itself: the first book handed to its strategy after the brokers were back
        resumed = wait_until(
            lambda: min((t for *_, t in reader.members[0].places() if t > t_back), default=None),
            "the consumer resuming after the outage",
            60,
            0.1,
        )
        wait_until(lambda: producer.last and producer.last.queue < RATE, "the backlog drained", 90)
        code, stats = producer.stop()
        reader_seen = len({(p, o) for p, o, *_ in reader.members[0].places()})
        # it keeps up to the end: every book delivered before the stop reaches its strategy (the spooled
        # ones come later, with respool)
        wait_until(
            lambda: len({(p, o) for p, o, *_ in reader.members[0].places()}) >= stats["delivered"][bidask],
            "the consumer reading every delivered book",
            60,
            0.2,
        )
        assert reader.stop() == [0]
    finally:
        producer.close()
        reader.kill_all()
        if killed:
            where.heal()
    assert code == 0, producer.log_tail()
    t_ready = max(t_written, t_group)
    bound = 15 if coordinator in followers else 10  # a killed coordinator: the rejoin waits out a session
    assert resumed - t_ready < bound, (
        f"the consumer resumed {resumed - t_written:.1f} s after the cluster took writes, "
        f"{resumed - t_group:.1f} s after its group's offsets partition did (coordinator was node {coordinator})"
    )
    spooled = stats["spooled_total"]
    assert spooled >= 2 and stats["delivery_errors"] == 0, stats
    outage = [s for s in producer.samples if t_kill <= s.t <= t_back]
    queued = max(s.queue for s in outage)
    respool = producer.respool()
    assert respool.returncode == 0, respool.stderr
    done = re.search(r"republished (\d+) records .*skipped (\d+) the topics already held", respool.stdout)
    assert done and int(done.group(1)) + int(done.group(2)) == spooled, respool.stdout
    checks = _read_back(where, stats, bidask, tick)
    delivered = sum(stats["delivered"].values())
    assert delivered + spooled == sum(stats["published"].values())
    figure(
        f"2 of 3 brokers SIGKILLed (nodes {followers}, leader {leader} kept) at {RATE}/s: queue full "
        f"({queued:.0f} records queued) then spooling after {t_spool - t_kill:.1f} s; brokers back after "
        f"{t_back - t_kill:.1f} s (restart {back_s:.1f} s); {delivered} delivered, {spooled} spooled and respooled, "
        f"0 duplicates, 0 lost (txf-bidask in order: {checks[bidask].in_order}); a consumer on the library's "
        f"defaults handed on a book {max(0.0, resumed - t_written):.1f} s after the cluster took writes again and "
        f"{resumed - t_group:+.1f} s after its group's store did (coordinator node {coordinator}"
        f"{', killed' if coordinator in followers else ', kept'}; {reader_seen} books by the stop)"
    )


def test_active_controller_sigkill_mid_stream_loses_nothing(where: ClusterUnderTest, tmp_path: Path) -> None:
    prefix, bidask, tick = _topics(where, "ctl")
    controller = where.controller()
    assert controller is not None
    led = [t for t in (bidask, tick) if where.leader(t) == controller]
    producer = ProducerProcess(tmp_path, where, prefix, rate=RATE, seed=13)
    try:
        producer.wait_delivered(bidask, 5_000)
        t_kill = where.kill(controller)
        new = wait_until(lambda: (c := where.controller()) != controller and c, "a new active controller", 60, 0.05)
        t_new = time.monotonic()
        code, stats = _ride_out(producer, bidask)
    finally:
        producer.close()
        where.heal()
    assert code == 0, producer.log_tail()
    assert stats["spooled_total"] == 0 and stats["delivery_errors"] == 0, stats
    checks = _read_back(where, stats, bidask, tick)
    assert checks[bidask].in_order and checks[tick].in_order
    stall = longest_stall(producer.samples, bidask, t_kill - 0.5, producer.samples[-1].t)
    figure(
        f"active controller SIGKILL (node {controller} -> {new}, {t_new - t_kill:.1f} s; it led "
        f"{[t.removeprefix(prefix) for t in led] or 'no partition of ours'}) at {RATE}/s: longest txf-bidask ack gap "
        f"{stall.seconds:.2f} s, {stall.queued:.0f} queued at most, {sum(stats['delivered'].values())} delivered, "
        "0 duplicates, 0 lost"
    )


def test_consumer_group_of_three_survives_a_member_sigkill(where: ClusterUnderTest, tmp_path: Path) -> None:
    prefix = f"grp{uuid.uuid4().hex[:8]}-"
    decl = provision(where.bootstrap, where.registry_url, prefix)
    loadtest = next(t for t in decl.topics if t.role == "load_test")
    topic, partitions = loadtest.name, loadtest.partitions
    where.heal([topic])
    group = Group(tmp_path, where, topic)
    producer: ProducerProcess | None = None
    try:
        group.spawn(3)
        group.wait_stable(3, partitions, 60)
        # the producer's book stream to the load-test topic, spread over its partitions (librdkafka's
        # random partitioner, through TXF_KAFKA_EXTRA): every member gets records
        producer = ProducerProcess(
            tmp_path,
            where,
            prefix,
            rate=1500,
            seed=14,
            TXF_BIDASK_TOPIC=topic,
            TXF_KAFKA_EXTRA='{"partitioner": "random"}',
        )
        wait_until(lambda: all(len(m.places()) >= 300 for m in group.members), "every member consuming", 60, 0.2)
        victim = group.members[0]
        victim.proc.kill()  # SIGKILL by PID: no commit, no leave
        t_kill = time.monotonic()
        victim.proc.wait(10)
        committed = group.committed(partitions)  # nobody else can commit the victim's partitions yet
        handled = victim.places()
        owned = sorted({p for p, *_ in handled})
        group.wait_stable(2, partitions, 60)
        t_stable = time.monotonic()
        survivors = group.members[1:]
        wait_until(
            lambda: any(p in owned and t > t_kill for m in survivors for p, _o, _s, _r, t in m.places()),
            "a survivor consuming a partition of the killed member",
            30,
            0.2,
        )
        assert producer.delivered(topic) > 0
        code, stats = producer.stop()
        assert code == 0, producer.log_tail()
        highs = _high_watermarks(where, topic, partitions)
        wait_until(lambda: _covered(group, highs), "every record of every partition handed to a member", 60, 0.2)
        codes = group.stop()
    finally:
        if producer is not None:
            producer.close()
        group.kill_all()
    assert codes[1:] == [0, 0], [m.out.with_suffix(".log").read_text() for m in group.members]
    places = list(iter_places(group.members))
    seen = Counter((p, o) for _i, (p, o, *_r) in places)
    assert set(seen) == {(p, o) for p, high in highs.items() for o in range(high)}  # no record skipped
    published = stats["published"][topic]
    assert {s for _i, (_p, _o, s, _r, _t) in places} == set(range(1, published + 1))
    assert len({r for _i, (_p, _o, _s, r, _t) in places}) == 1
    # duplicates only as documented (at-least-once): the killed member's records after the group's last
    # commit for them are handed again to the partitions' new owner, from that committed offset on
    dups = {po: n for po, n in seen.items() if n > 1}
    last_by_victim: dict[int, int] = defaultdict(lambda: -1)
    for p, o, *_r in handled:
        last_by_victim[p] = max(last_by_victim[p], o)
    expected = {(p, o) for p in owned for o in range(committed[p], last_by_victim[p] + 1)}
    assert set(dups) == expected and all(n == 2 for n in dups.values()), (sorted(dups)[:10], sorted(expected)[:10])
    first_after = min(t for m in survivors for p, _o, _s, _r, t in m.places() if p in owned and t > t_kill)
    assert first_after - t_kill < 15, (
        f"the killed member's partitions were consumed again {first_after - t_kill:.1f} s later"
    )
    figure(
        f"consumer group of 3 on {partitions} partitions at 1500/s, one member SIGKILLed (it had {owned}): "
        f"stable again after {t_stable - t_kill:.1f} s, its partitions consumed again after "
        f"{first_after - t_kill:.1f} s (the library's defaults: session.timeout.ms 10000, cooperative-sticky); "
        f"{published} records, 0 skipped, "
        f"{len(dups)} duplicates = its handled records past the last commit"
    )


def _high_watermarks(where: ClusterUnderTest, topic: str, partitions: int) -> dict[int, int]:
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": where.bootstrap, "group.id": f"hw-{uuid.uuid4().hex}"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        c.close()


def _covered(group: Group, highs: dict[int, int]) -> bool:
    seen = {(p, o) for _i, (p, o, *_r) in iter_places(group.members)}
    return all((p, o) in seen for p, high in highs.items() for o in range(high))


pytestmark = pytest.mark.integration
