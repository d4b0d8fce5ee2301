"""The simulated market generated in a child process, for load tests (`txf-producer run --sim-process`).

The model costs ~5-7 us a quote in Python; generated in the producer's own process it competes for
the interpreter lock with the code under test. Here a spawned child (never forked: the parent runs
threads) iterates the same `SimMarket` and sends the packed quotes through a pipe in batches; the
parent reads them as feed items (sources/feed.py). The pipe's bounded buffer is the back-pressure.
The child ends by itself at the quote limit or when the pipe closes, and is otherwise ended by its
PID (`close`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from typing import Any

import msgpack

from txf_producer.simulation.config import SimConfig
from txf_producer.simulation.market import SimMarket

ROLL = 2  # a batch entry (ROLL, alias, code) announces a month-code roll before the quotes that follow
BATCH = 256  # quotes per pipe message: few syscalls, a small pipe backlog


def generate(config: SimConfig, start_ns: int, limit: int | None, sender: Any) -> None:
    """Child process body: the market's quotes, packed, in batches, until `limit` or a closed pipe.

    Entries are (kind, time_us, packed array) or (ROLL, alias, code).
    """
    market = SimMarket(config, start_ns)
    packb = msgpack.packb
    events = market.events
    batch: list[tuple[Any, ...]] = []
    n = 0
    try:
        for kind, t_us, arr in market:
            if events:
                batch.extend((ROLL, alias, code) for alias, code in events)
                events.clear()
            batch.append((kind, t_us, packb(arr)))
            n += 1
            done = limit is not None and n >= limit
            if len(batch) >= BATCH or done:
                sender.send_bytes(packb(batch))
                batch = []
            if done:
                break
    except (BrokenPipeError, EOFError, OSError):
        pass  # the reader is gone: the run stopped
    finally:
        sender.close()


class GeneratorProcess:
    """The spawned generator and the reading end of its pipe."""

    def __init__(self, config: SimConfig, start_ns: int, limit: int | None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._receiver, sender = ctx.Pipe(duplex=False)
        self._proc: Any = ctx.Process(
            target=generate, args=(config, start_ns, limit, sender), name="txf-sim-generator", daemon=True
        )
        self._proc.start()
        self._exitcode: int | None = None
        sender.close()

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the first batch is waiting (start-up is not feed time)."""
        return bool(self._receiver.poll(timeout_s))

    def entries(self) -> Iterator[tuple[Any, Any, Any]]:
        """(kind, time_us, packed) and (ROLL, alias, code) entries until the child ends or `close()`."""
        unpackb = msgpack.unpackb
        while True:
            try:
                batch = self._receiver.recv_bytes()
            except (EOFError, OSError):  # the generator ended (or close() closed the pipe)
                return
            yield from unpackb(batch)

    @property
    def exitcode(self) -> int | None:
        return self._proc.exitcode if self._proc is not None else self._exitcode

    def close(self) -> None:
        """Close the pipe and end the child by its PID (it also ends by itself at the limit)."""
        proc, self._proc = self._proc, None
        self._receiver.close()
        if proc is None:
            return
        proc.join(5.0)
        if proc.is_alive():
            proc.terminate()  # SIGTERM to this child's PID
            proc.join(5.0)
        self._exitcode = proc.exitcode
