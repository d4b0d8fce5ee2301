"""One flush of one topic-partition -> its part files, written so that a crash leaves nothing half-true.

What a segment does with its records, in order:
1. frame check (per distinct 6-byte header, not per record): magic 0, a schema id the consumer
   library's SchemaChecker accepted for this topic's type, message index [0]. Anything else goes
   through `txf_consumer.wire.parse_header` and the resolver record by record; a record that is not
   a readable frame, or whose payload upb rejects, is *malformed*: kept raw with its reason in
   <root>/malformed, never dropped (the archive must equal the topic row for row).
2. decode the payloads to columns (columns.Decoder, ptars), add the provenance columns;
3. split the rows by trading day (the session calendar, through `day_spans`) and contract code;
4. write each part to a hidden temporary file, fsync it, rename them all into place and fsync
   their directories. Only then is the segment done, and only then may the caller commit offsets.
A crash before the last rename leaves either temporary files (deleted at the next start) or an
incomplete set of parts (k of n present: recovery deletes them and reads the segment again).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from google.protobuf.message import Message

from txf_archive import layout
from txf_archive.columns import MALFORMED_SCHEMA, META_FIELDS, ArchivedType, Decoder, file_schema
from txf_consumer.schemas import SchemaMismatchError
from txf_consumer.wire import FIRST_MESSAGE, Resolver, WireFormatError, parse_header

#: (trading day, start_ns, end_ns) of the instant given: the calendar's `trading_day_span`.
DaySpan = Callable[[int], tuple[date, int, int]]


@dataclass
class ParquetOptions:
    """How part files are written: zstd, dictionaries only where values repeat (strings, the day).

    Measured on the simulator's quotes (bench/bench_archive.py): a dictionary on every column makes
    files bigger and slower to write, because timestamps, offsets and sequences never repeat.
    """

    compression: str = "zstd"
    compression_level: int = 3
    row_group_size: int = 1_000_000

    @staticmethod
    def dictionary_columns(schema: pa.Schema) -> list[str]:
        return [
            f.name
            for f in schema
            if pa.types.is_string(f.type)
            or pa.types.is_binary(f.type)
            or pa.types.is_date32(f.type)
            or pa.types.is_boolean(f.type)
        ]


def write_durably(path: Path, table: pa.Table, options: ParquetOptions) -> int:
    """Write `table` as Parquet to `path` and fsync it (the caller renames it into place); returns its size."""
    with open(path, "wb") as f:
        pq.write_table(
            table,
            f,
            compression=options.compression,
            compression_level=options.compression_level,
            row_group_size=options.row_group_size,
            store_schema=True,
            use_dictionary=options.dictionary_columns(table.schema),
        )
        f.flush()
        os.fsync(f.fileno())
        return f.tell()


@dataclass
class Pending:
    """The records of one topic-partition read since its last flush, as Kafka gave them (in offset order).

    The confluent-kafka Message objects themselves: their fields are read once per segment with list
    comprehensions, not once per record in the consume loop.
    """

    topic: str
    partition: int
    messages: list[Any] = field(default_factory=list)
    nbytes: int = 0
    since: float = 0.0  # time.monotonic() of the first record

    def __len__(self) -> int:
        return len(self.messages)

    @property
    def first(self) -> int:
        return int(self.messages[0].offset())

    @property
    def last(self) -> int:
        return int(self.messages[-1].offset())


@dataclass(frozen=True)
class WrittenPart:
    path: Path
    rows: int
    bytes: int


class DaySplitter:
    """Trading day of each row, vectorised: one calendar call per distinct day span, not per row."""

    def __init__(self, day_span: DaySpan) -> None:
        self._day_span = day_span
        self._spans: list[tuple[date, int, int]] = []

    def days(self, times_ns: np.ndarray) -> tuple[np.ndarray, list[date]]:
        """(index into the returned day list per row, the days)."""
        idx = np.full(len(times_ns), -1, dtype=np.int32)
        found: list[date] = []
        todo = np.ones(len(times_ns), dtype=bool)
        while todo.any():
            t = int(times_ns[np.argmax(todo)])
            span = next((s for s in self._spans if s[1] <= t < s[2]), None)
            if span is None:
                span = self._day_span(t)
                self._spans = [span, *self._spans[:7]]
            day, start, end = span
            hit = todo & (times_ns >= start) & (times_ns < end)
            idx[hit] = len(found)
            found.append(day)
            todo &= ~hit
        return idx, found


class SegmentWriter:
    """Turns Pending records into part files (see the module doc). One per archiver."""

    def __init__(
        self,
        root: Path,
        types: dict[str, ArchivedType],
        resolvers: dict[str, Resolver[Message]],
        day_span: DaySpan,
        options: ParquetOptions | None = None,
    ) -> None:
        self.root = root
        self.types = types  # topic -> archived type
        self._resolvers = resolvers  # topic -> schema resolver (consumer library's SchemaChecker)
        self._decoders = {topic: Decoder(t) for topic, t in types.items()}
        self._schemas = {topic: file_schema(t) for topic, t in types.items()}
        self._good_headers: dict[str, dict[bytes, int]] = {topic: {} for topic in types}
        self._splitter = DaySplitter(day_span)
        self.options = options or ParquetOptions()
        self.malformed_dir = layout.malformed_dir(root)

    # ------------------------------------------------------------------ build
    def build(self, pending: Pending) -> list[tuple[Path, pa.Table]]:
        """(directory, rows) of each part of the segment, every record in exactly one of them."""
        topic = pending.topic
        t = self.types[topic]
        msgs = pending.messages
        n = len(msgs)
        values = pa.array([m.value() for m in msgs], pa.binary())
        ts_types, stamps = zip(*[m.timestamp() for m in msgs], strict=True)
        ts_type_arr = np.array(ts_types, dtype=np.int8)
        meta = {
            "kafka_topic": pa.array([topic] * n, pa.string()),
            "kafka_partition": pa.array(np.full(n, pending.partition, dtype=np.int32)),
            "kafka_offset": pa.array([m.offset() for m in msgs], pa.int64()),
            "kafka_timestamp_ms": pa.array(np.array(stamps, dtype=np.int64), pa.int64(), mask=ts_type_arr == 0),
            "kafka_timestamp_type": pa.array(ts_type_arr, pa.int8()),
            "kafka_key": pa.array([m.key() for m in msgs], pa.binary()),
        }
        schema_ids, payload_ok, reasons = self._check_frames(topic, values)
        bad_rows: dict[int, str] = dict(reasons)
        good_idx = np.flatnonzero(payload_ok)
        framed = values if len(good_idx) == n else values.take(good_idx)
        batch, bad = self._decoders[topic].decode(framed)
        if bad:
            for i, reason in bad:
                bad_rows[int(good_idx[i])] = reason
            keep = np.ones(len(good_idx), dtype=bool)
            keep[[i for i, _ in bad]] = False
            good_idx = good_idx[keep]
        parts: list[tuple[Path, pa.Table]] = []
        if len(good_idx):
            parts.extend(
                self._split(
                    t,
                    topic,
                    batch,
                    {k: v.take(good_idx) for k, v in meta.items()},
                    pa.array(schema_ids[good_idx], pa.int64()),
                )
            )
        if bad_rows:
            rows = np.array(sorted(bad_rows), dtype=np.int64)
            cols = {k: v.take(rows) for k, v in meta.items()}
            cols["value"] = values.take(rows)
            cols["reason"] = pa.array([bad_rows[int(i)] for i in rows], pa.string())
            parts.append((layout.malformed_dir(self.root), pa.table(cols, schema=MALFORMED_SCHEMA)))
        return parts

    def _check_frames(self, topic: str, values: pa.BinaryArray) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
        """(schema id per row, rows with a known good 6-byte header `00 <id> 00`, [(row, reason)] of the others).

        Vectorised over the Arrow buffers: each row's first 6 bytes become one integer; only the few
        distinct ones are looked at (and resolved once per process through the schema check).
        """
        n = len(values)
        offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + n + 1]
        data_buf = values.buffers()[2]
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
        starts = offsets[:-1].astype(np.int64)
        framed = (offsets[1:] - offsets[:-1]) >= 6
        if values.null_count:
            framed &= np.asarray(values.is_valid())
        keys = np.full(n, -1, dtype=np.int64)
        if framed.any():
            heads = data[starts[framed, None] + np.arange(6)].astype(np.int64)
            keys[framed] = heads @ (np.int64(256) ** np.arange(5, -1, -1))
        known = self._good_headers[topic]
        for key in np.unique(keys[framed]).tolist():
            h = int(key).to_bytes(6, "big")
            if h in known or h[5] != 0:
                continue
            try:
                header = parse_header(h)
                cls = self._resolve(topic, header.schema_id, header.message_indexes)
            except (WireFormatError, SchemaMismatchError):
                continue
            if cls is self.types[topic].message and header.message_indexes == FIRST_MESSAGE:
                known[h] = header.schema_id
        ids = np.zeros(n, dtype=np.int64)
        ok = np.zeros(n, dtype=bool)
        if known:
            good_keys = np.array([int.from_bytes(h, "big") for h in known], dtype=np.int64)
            good_ids = np.array(list(known.values()), dtype=np.int64)
            order = np.argsort(good_keys)
            pos = np.clip(np.searchsorted(good_keys[order], keys), 0, len(order) - 1)
            ok = framed & (good_keys[order][pos] == keys)
            ids[ok] = good_ids[order][pos[ok]]
        reasons = [(int(i), self._why_not(topic, values[int(i)].as_py())) for i in np.flatnonzero(~ok)]
        return ids, ok, reasons

    def _resolve(self, topic: str, schema_id: int, indexes: tuple[int, ...]) -> type[Message]:
        return self._resolvers[topic](schema_id, indexes)

    def _why_not(self, topic: str, value: bytes | None) -> str:
        """Why a record is not on the fast path (its frame, its schema or its message index)."""
        try:
            header = parse_header(value)
            cls = self._resolve(topic, header.schema_id, header.message_indexes)
        except (WireFormatError, SchemaMismatchError) as exc:
            return str(exc)
        if cls is not self.types[topic].message:
            return f"schema id {header.schema_id} carries {cls.DESCRIPTOR.full_name}, not {self.types[topic].full_name}"
        return (
            f"message index {list(header.message_indexes)} of schema id {header.schema_id}: the archive reads "
            f"message [0] files only"
        )

    def _split(
        self, t: ArchivedType, topic: str, batch: pa.RecordBatch, meta: dict[str, pa.Array], schema_ids: pa.Array
    ) -> Iterable[tuple[Path, pa.Table]]:
        times = batch.column(t.time_field).to_numpy(zero_copy_only=False).astype(np.int64) * t.ns_per_unit
        day_idx, days = self._splitter.days(times)
        codes = batch.column("code").dictionary_encode()
        code_idx = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        code_names = codes.dictionary.to_pylist()
        day_col = pa.array(np.array(days, dtype="datetime64[D]")[day_idx], pa.date32())
        table = pa.Table.from_arrays([*batch.columns, *meta.values(), schema_ids, day_col], schema=self._schemas[topic])
        key = day_idx.astype(np.int64) * max(len(code_names), 1) + code_idx
        groups = np.unique(key)
        for g in groups:
            rows = table if len(groups) == 1 else table.take(np.flatnonzero(key == g))
            day, code = days[int(g) // max(len(code_names), 1)], code_names[int(g) % max(len(code_names), 1)]
            yield layout.partition_dir(self.root, t.kind, day, code), rows

    # ------------------------------------------------------------------ write
    def write(self, pending: Pending) -> list[WrittenPart]:
        """Build and durably write the segment of `pending`; returns the parts (see the module doc)."""
        parts = self.build(pending)
        first, last = pending.first, pending.last
        names = [
            layout.FileName(pending.topic, pending.partition, first, last, k, len(parts))
            for k in range(1, len(parts) + 1)
        ]
        staged: list[tuple[Path, Path, int, int]] = []
        directories = sorted({directory for directory, _table in parts})
        for directory in directories:
            directory.mkdir(parents=True, exist_ok=True)
        with ExitStack() as locks:  # compaction never swaps a directory this segment is being written into
            for directory in directories:
                locks.enter_context(layout.directory_lock(directory, exclusive=False))
            for (directory, table), name in zip(parts, names, strict=True):
                final = directory / str(name)
                tmp = directory / f".{name}{layout.TMP_SUFFIX}"
                size = self._write_file(tmp, table)
                staged.append((tmp, final, table.num_rows, size))
            for tmp, final, _, _ in staged:
                os.replace(tmp, final)
            for directory in directories:
                layout.fsync_dir(directory)
        return [WrittenPart(final, rows, size) for _, final, rows, size in staged]

    def _write_file(self, path: Path, table: pa.Table) -> int:
        return write_durably(path, table, self.options)


def now() -> float:
    return time.monotonic()


__all__ = ["DaySplitter", "META_FIELDS", "ParquetOptions", "Pending", "SegmentWriter", "WrittenPart"]
