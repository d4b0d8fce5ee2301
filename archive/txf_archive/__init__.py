"""txf_archive: the txf.v1 topics as Parquet by trading day, exactly once; 1-minute bars; reading it back.

Reading (needs no Kafka): `Archive(root).polars("bidask", "previous", code="TXFK6")`, `.relation(...)`
(DuckDB), `.pandas(...)`, `.arrow(...)`; `replay(handler, root, days)` runs a strategy written against
txf_consumer's handler API over archived days. Services: `txf-archive run|bars|compact|query`.

Modules, one job each: layout (paths and file names), columns (the columns, from the descriptors;
decoding), segments (one flush -> durable part files), recovery (where to resume; crash leftovers),
service (the archiver), bars / barservice (1-minute bars), compaction, query, replay, metrics,
settings, meanings (which columns are prices), cli.
"""

from txf_archive.query import Archive
from txf_archive.replay import ReplayResult, replay

__all__ = ["Archive", "ReplayResult", "replay"]
