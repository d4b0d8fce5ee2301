"""Reading the archive back: a type, a day range and a contract as a DuckDB relation, a polars or pandas
DataFrame, or an Arrow table.

    from txf_archive import Archive
    book = Archive("/var/lib/txf-archive").polars("bidask", "previous", code="TXFK6")

Columns: every field of the contract as archived (prices exact int64 x10000, like the wire), the
provenance columns (kafka_topic, kafka_partition, kafka_offset, kafka_timestamp_ms, kafka_key,
schema_id, trading_day), and for every price column `x` two views in index points:
`x_dec` (DECIMAL(38,4), exact) and `x_f64` (DOUBLE, for plotting and numpy; not for sums that must
be exact). Which columns are prices is read from the files (field metadata `txf.scale`), so a
price field added to the contract gets its views without a change here. Days are trading days
(the night session belongs to the next one). Files written before a field existed read back with
that column null (union by name). Rows come per contract in Kafka offset order.

Needs only pyarrow, duckdb and polars (pandas for `.pandas()`): no Kafka, no producer.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from txf_archive import layout
from txf_archive.columns import KINDS, PRICE_SCALE, SCALE_KEY, scaled_columns

DayLike = date | str


class Archive:
    """An archive directory, read-only (see the module doc)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def days(self, kind: str) -> list[date]:
        """Trading days archived for a type (tick, bidask, bar, gap), oldest first."""
        _check_kind(kind)
        return layout.days(self.root, kind)

    def resolve_days(self, kind: str, day: DayLike, to: DayLike | None = None) -> list[date]:
        """The archived days from `day` to `to` (inclusive). A day is a date, 'YYYY-MM-DD', 'latest',
        'previous' (the archived day before the latest: yesterday's, during a session) or '-N'."""
        archived = self.days(kind)
        first, last = self._day(kind, day, archived), self._day(kind, to if to is not None else day, archived)
        return [d for d in archived if first <= d <= last]

    def files(self, kind: str, day: DayLike, to: DayLike | None = None, code: str | None = None) -> list[Path]:
        """The live Parquet files (compaction's superseded ones left out) of a type, days and contract."""
        return layout.files_of(self.root, kind, self.resolve_days(kind, day, to), code)

    def relation(
        self,
        kind: str,
        day: DayLike,
        to: DayLike | None = None,
        *,
        code: str | None = None,
        sql: str | None = None,
        prices: bool = True,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over the rows; `sql` runs on them as the table `rows`; `prices` adds _dec/_f64."""
        files = self.files(kind, day, to, code)
        if not files:
            raise ValueError(
                f"no {kind} rows archived under {self.root} for day {day}"
                f"{f' to {to}' if to else ''}{f' and contract {code}' if code else ''}; "
                f"archived days: {', '.join(map(str, self.days(kind))) or 'none'}"
            )
        con = con if con is not None else duckdb.connect()
        names = [str(f) for f in files]
        extra = ""
        if prices:
            extra = "".join(", " + _price_views(c, t) for c, t in _scaled(files).items())
        rel = con.sql(f"SELECT *{extra} FROM read_parquet({names!r}, union_by_name = true)")
        if sql:
            result = rel.query("rows", sql)
            if result is None:
                raise ValueError(f"--sql {sql!r} returns no rows (a statement, not a query)")
            return result
        return rel

    def polars(
        self, kind: str, day: DayLike, to: DayLike | None = None, *, code: str | None = None, prices: bool = True
    ) -> pl.DataFrame:
        """The rows as a polars DataFrame, with the _dec/_f64 price views (computed by polars: 2x faster
        than the same views in DuckDB, measured; `relation` is the way to filter with SQL first)."""
        table = self.arrow(kind, day, to, code=code)
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        if not prices:
            return frame
        step = pl.lit(1 / PRICE_SCALE).cast(pl.Decimal(38, 4))  # exactly 0.0001
        views: list[pl.Expr] = []
        for column in scaled_columns(table.schema):
            col = pl.col(column)
            if isinstance(frame.schema[column], pl.List):
                views.append(col.list.eval(pl.element().cast(pl.Decimal(38, 0)) * step).alias(f"{column}_dec"))
                views.append(col.list.eval(pl.element() / float(PRICE_SCALE)).alias(f"{column}_f64"))
            else:
                views.append((col.cast(pl.Decimal(38, 0)) * step).alias(f"{column}_dec"))
                views.append((col / float(PRICE_SCALE)).alias(f"{column}_f64"))
        return frame.with_columns(views)

    def pandas(self, kind: str, day: DayLike, to: DayLike | None = None, **kwargs: Any) -> Any:
        """The rows as a pandas DataFrame (needs pandas installed)."""
        return self.polars(kind, day, to, **kwargs).to_pandas()

    def arrow(self, kind: str, day: DayLike, to: DayLike | None = None, *, code: str | None = None) -> pa.Table:
        """The rows as an Arrow table (no price views): files read as they are, columns unioned by name."""
        files = self.files(kind, day, to, code)
        if not files:
            self.relation(kind, day, to, code=code)  # raises the error naming what is archived
        tables = [pq.read_table(f) for f in files]
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")
        # every file's scale metadata on the result (a price column added later is tagged in newer files only)
        scaled = _scaled(files)
        fields = [
            f.with_metadata({SCALE_KEY: str(PRICE_SCALE).encode()}) if f.name in scaled else f for f in table.schema
        ]
        return table.cast(pa.schema(fields)) if fields != list(table.schema) else table

    def _day(self, kind: str, value: DayLike, archived: list[date]) -> date:
        if isinstance(value, date):
            return value
        if value in ("latest", "previous") or value.startswith("-"):
            back = 0 if value == "latest" else 1 if value == "previous" else int(value[1:])
            if len(archived) <= back:
                raise ValueError(f"--day {value}: only {len(archived)} {kind} day(s) archived under {self.root}")
            return archived[-1 - back]
        return date.fromisoformat(value)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown type {kind!r}: one of {', '.join(KINDS)}")


def _scaled(files: list[Path]) -> dict[str, pa.DataType]:
    """Price columns (with their types) over the files' schemas: the newest file first, then the rest."""
    out: dict[str, pa.DataType] = {}
    seen: set[tuple[str, ...]] = set()
    for f in reversed(files):
        schema = pq.read_schema(f)
        key = tuple(schema.names)
        if key in seen:
            continue
        seen.add(key)
        for name in scaled_columns(schema):
            out.setdefault(name, schema.field(name).type)
    return out


def _price_views(column: str, t: pa.DataType) -> str:
    q = f'"{column}"'
    step = f"0.{'0' * (len(str(PRICE_SCALE)) - 2)}1"  # 1 / PRICE_SCALE as an exact decimal literal
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return (
            f'list_transform({q}, lambda x: x::DECIMAL(38,0) * {step}) AS "{column}_dec", '
            f'list_transform({q}, lambda x: x / {PRICE_SCALE}.0) AS "{column}_f64"'
        )
    return f'{q}::DECIMAL(38,0) * {step} AS "{column}_dec", {q} / {PRICE_SCALE}.0 AS "{column}_f64"'
