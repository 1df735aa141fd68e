"""Shared pieces of the benchmarks: the full-scale market, the bench server, timing."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from psycopg import sql

from stocksdb.db.connection import connect, with_database
from stocksdb.db.server import EmbeddedServer

DATA = Path(__file__).resolve().parent / "data"
MARKET = DATA / "market"
OPTIONS: dict[str, Any] = {"securities": 10_000, "start": "2024-01-02", "end": "2024-12-31",
                           "seed": 11}


def ensure_market(market: Path = MARKET, options: dict[str, Any] | None = None) -> Path:
    """The full-scale market (default 10,000 securities x 1 year), generated once and reused
    while its options stay the same."""
    options = options or OPTIONS
    stamp = market / "bench-options.json"
    if stamp.exists() and json.loads(stamp.read_text()) == options:
        return market
    from stocksdb.sample.generate import generate_sample

    if market.exists():
        import shutil

        shutil.rmtree(market)
    t0 = time.perf_counter()
    generate_sample(market, securities=int(options["securities"]),
                    start=date.fromisoformat(str(options["start"])),
                    end=date.fromisoformat(str(options["end"])), seed=int(options["seed"]))
    print(f"generated the bench market {market.name} in {time.perf_counter() - t0:.1f}s",
          flush=True)
    stamp.write_text(json.dumps(options))
    return market


def bench_server() -> EmbeddedServer:
    """A durable embedded server under bench/data/pg (default, production-like settings)."""
    server = EmbeddedServer(DATA / "pg")
    server.start()
    return server


def fresh_database(server: EmbeddedServer, name: str, template: str | None = None) -> str:
    """Drop and create database `name` (optionally from a template); returns its DSN."""
    with connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(create)
    return with_database(server.dsn("postgres"), name)


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """`with timed() as elapsed:` ... `elapsed()` seconds."""
    t0 = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - t0
    end.append(time.perf_counter())


def median_ms(fn: Callable[[Any], object], args: list[Any]) -> float:
    """Median wall time of fn(arg) in milliseconds over args."""
    times = []
    for a in args:
        t0 = time.perf_counter()
        fn(a)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)
