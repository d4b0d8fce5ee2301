"""(b) Idempotent acks=all producer; a consumer group's committed offset survives a consumer restart."""

from __future__ import annotations

from confluent_kafka import Consumer, Producer, TopicPartition
from itkit import consume, unique

N = 10


def _consumer(stack, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )


def test_restarted_consumer_resumes_at_committed_offset(stack, new_topic):
    topic = new_topic("group")
    delivered: list[tuple[int, bytes]] = []
    errors: list = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.offset(), msg.value()))

    producer = Producer(
        {
            "bootstrap.servers": stack.bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "max.in.flight.requests.per.connection": 5,
            "linger.ms": 5,
        }
    )
    for i in range(N):
        producer.produce(topic, key=b"TXFK6", value=f"v{i}".encode(), on_delivery=on_delivery)
    assert producer.flush(30) == 0
    assert errors == []
    assert delivered == [(i, f"v{i}".encode()) for i in range(N)]  # exactly once each, in order

    group = unique("grp")
    tp = TopicPartition(topic, 0)

    first = _consumer(stack, group)
    try:
        first.subscribe([topic])
        got = consume(first, 6)
        assert [(m.offset(), m.value()) for m in got] == [(i, f"v{i}".encode()) for i in range(6)]
        # commit less than was read: the restart must honour the commit, not the old position
        committed = first.commit(offsets=[TopicPartition(topic, 0, 4)], asynchronous=False)
        assert [(c.topic, c.partition, c.offset, c.error) for c in committed] == [(topic, 0, 4, None)]
        assert first.committed([tp], timeout=10)[0].offset == 4
    finally:
        first.close()

    second = _consumer(stack, group)
    try:
        second.subscribe([topic])
        got = consume(second, N - 4)
        assert [(m.offset(), m.value()) for m in got] == [(i, f"v{i}".encode()) for i in range(4, N)]
        assert second.position([tp])[0].offset == N
        assert second.get_watermark_offsets(tp, timeout=10) == (0, N)
        second.commit(asynchronous=False)
        assert second.committed([tp], timeout=10)[0].offset == N
    finally:
        second.close()

    # a third member of the group starts at the end: nothing left to read
    third = _consumer(stack, group)
    try:
        assert third.committed([tp], timeout=10)[0].offset == N
    finally:
        third.close()
