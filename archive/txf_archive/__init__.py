"""txf_archive: the txf.v1 topics as Parquet by trading day, exactly once; 1-minute bars; reading it back.

Reading (needs no Kafka): `Archive(root).polars("bidask", "previous", code="TXFK6")`, `.relation(...)`
(DuckDB), `.pandas(...)`, `.arrow(...)`; `replay(handler, root, days)` runs a strategy written against
txf_consumer's handler API over archived days. Services: `txf-archive run|bars|compact|query`.

Modules, one job each: layout (paths and file names), columns (the columns, from the descriptors;
decoding), segments (one flush -> durable part files), recovery (where to resume; crash leftovers),
service (the archiver), bars / barservice (1-minute bars), compaction, query, backtest (replay), metrics,
settings, cli. Which columns are prices x10000 is the contract's meaning (txf_kit.records).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from txf_archive.backtest import ReplayResult, replay
    from txf_archive.query import Archive

__all__ = ["Archive", "ReplayResult", "replay"]

#: the reading side, imported when first used: the services (`txf-archive run`, `bars`) never load
#: polars or DuckDB (polars' import-time CPU check needs executable memory, which their units deny)
_LAZY = {"Archive": "txf_archive.query", "ReplayResult": "txf_archive.backtest", "replay": "txf_archive.backtest"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'txf_archive' has no attribute {name!r}")
