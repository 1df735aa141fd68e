"""The query cache: results of warehouse queries in a Redis-compatible server.

`QueryCache` is a read-through cache keyed by (query, parameters, data versions of the tables
the query reads); `bump(tables)` after an ingest makes exactly those tables' queries miss.
`fetch_prices` / `fetch_cross_section` run the read API through it. The server is any Redis
(STOCKSDB_REDIS_URL or REDIS_URL) or, by default, the embedded Valkey of `stocksdb cache
start` (`EmbeddedValkey`), on a private Unix socket under STOCKSDB_HOME/valkey.

The names below load their module on first use (PEP 562), so `stocksdb cache status` does not
pay for importing pandas and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stocksdb.cache.codec import FRAMES, JSON, Codec
    from stocksdb.cache.prices import (
        FACTOR_TABLE,
        PRICE_TABLES,
        fetch_cross_section,
        fetch_prices,
    )
    from stocksdb.cache.query import CacheMetrics, QueryCache
    from stocksdb.cache.server import (
        EmbeddedValkey,
        ValkeyStatus,
        embedded_valkey,
        resolve_redis_url,
    )

_HOMES = {"FRAMES": "codec", "JSON": "codec", "Codec": "codec", "FACTOR_TABLE": "prices",
          "PRICE_TABLES": "prices", "fetch_cross_section": "prices", "fetch_prices": "prices",
          "CacheMetrics": "query", "QueryCache": "query", "EmbeddedValkey": "server",
          "ValkeyStatus": "server", "embedded_valkey": "server", "resolve_redis_url": "server"}
__all__ = ["FACTOR_TABLE", "FRAMES", "JSON", "PRICE_TABLES", "CacheMetrics", "Codec",
           "EmbeddedValkey", "QueryCache", "ValkeyStatus", "embedded_valkey",
           "fetch_cross_section", "fetch_prices", "resolve_redis_url"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'stocksdb.cache' has no attribute {name!r}")
    return getattr(importlib.import_module(f"stocksdb.cache.{_HOMES[name]}"), name)
