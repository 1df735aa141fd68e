"""prices_daily benchmarks (issue 3): our loader against baselines, in one process.

(a) bare COPY of the same rows into an identical table (baseline), (b) our first load,
(c) re-run over unchanged files, (d) re-run after one file per month was republished,
(e) psycopg executemany upsert per date, (f) pandas to_sql(method="multi"), extrapolated;
(g) the physical limit of a hydration (issue 16): binary COPY into an unindexed table, then
its primary key and trade_date index built;
peak RSS for a month vs a year; median read times for one security and one date.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from common import DATA, fresh_database, median_ms, timed

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.migrate import migrate
from stocksdb.db.queries import read_prices_daily
from stocksdb.jobs.runner import RunRequest, run_job

COLS = "security_id, trade_date, open, high, low, close, volume, transactions, source, run_id"
UPSERT = ("INSERT INTO {t} (" + COLS + ") VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
          "ON CONFLICT (security_id, trade_date) DO UPDATE SET open = EXCLUDED.open, "
          "high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
          "volume = EXCLUDED.volume, transactions = EXCLUDED.transactions, "
          "source = EXCLUDED.source, run_id = EXCLUDED.run_id")


def load(dsn: str, market: Path) -> dict[str, Any]:
    return load_range(dsn, market, date(2024, 1, 2), date(2024, 12, 31))


def load_range(dsn: str, market: Path, start: date, end: date) -> dict[str, Any]:
    """prices_daily over start..end; its counts."""
    report = run_job(Settings(), dsn, RunRequest(job="prices_daily", path=market, start=start,
                                                 end=end))
    assert report.status == "succeeded", report.as_dict()
    return report.counts


def prepare_reference(server: Any, market: Path, name: str = "bench_ref") -> str:
    """A database with schema and reference data only (template for the others)."""
    dsn = fresh_database(server, name)
    with connect(dsn, autocommit=True) as conn:
        migrate(conn)
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), dsn, RunRequest(job=job, path=market))
    return dsn


def dump_days(dsn: str) -> list[bytes]:
    """The loaded rows, one CSV payload per date (what the baselines write)."""
    out = []
    with connect(dsn) as conn:
        days = [d for (d,) in conn.execute("SELECT DISTINCT trade_date FROM prices_daily "
                                           "ORDER BY 1")]
        for d in days:
            buf = io.BytesIO()
            with conn.cursor().copy(f"COPY (SELECT {COLS} FROM prices_daily WHERE trade_date = "
                                    f"'{d}') TO STDOUT (FORMAT csv)") as cp:
                for chunk in cp:
                    buf.write(chunk)
            out.append(buf.getvalue())
    return out


def bare_copy(dsn: str, payloads: list[bytes]) -> float:
    """(a) COPY each date's rows into an identical table, one transaction per date."""
    with connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute("CREATE TABLE bench_copy (LIKE prices_daily INCLUDING ALL)")
        with timed() as elapsed:
            for payload in payloads:
                with conn.transaction(), conn.cursor().copy(
                        f"COPY bench_copy ({COLS}) FROM STDIN (FORMAT csv)") as cp:
                    cp.write(payload)
        conn.execute("DROP TABLE bench_copy")
    return elapsed()


def physical_limit(dsn: str, *, as_filed: bool = False) -> tuple[int, float, float]:
    """(g) the physical limit of hydrating an empty range (issue 16): the loaded rows, encoded
    by the server beforehand (not timed), COPYed in binary into an unindexed table with
    prices_daily's columns, defaults and CHECK constraints; then its primary key and
    trade_date index built and the transaction committed. Returns rows, COPY seconds, index
    (and commit) seconds.

    The table is created in the COPY's transaction, as the hydration creates its own, so with
    wal_level=minimal neither the COPY nor the index builds write WAL (the floor on this
    server). as_filed: (g) as measured when issue 16 was filed: the table created beforehand
    (its COPY writes WAL) and the key without the bar values that prices_daily's key INCLUDEs
    since migration 0017 (a smaller index than the hydration builds)."""
    from stocksdb.jobs.prices_hydrate import KEY_INCLUDES

    same_transaction = not as_filed
    key = "(security_id, trade_date)" + ("" if as_filed else
                                         f" INCLUDE ({', '.join(KEY_INCLUDES)})")
    data = bytearray()
    with connect(dsn, autocommit=True) as conn:
        with conn.cursor().copy(f"COPY (SELECT {COLS} FROM prices_daily ORDER BY trade_date, "
                                "security_id) TO STDOUT (FORMAT binary)") as cp:
            for chunk in cp:
                data += chunk
        conn.execute("DROP TABLE IF EXISTS bench_limit")
        create = ("CREATE TABLE bench_limit (LIKE prices_daily INCLUDING DEFAULTS "
                  "INCLUDING CONSTRAINTS)")
        if not same_transaction:
            conn.execute(create)
        view = memoryview(data)
        conn.execute("BEGIN")
        with timed() as copying:
            if same_transaction:
                conn.execute(create)
            with conn.cursor().copy(
                    f"COPY bench_limit ({COLS}) FROM STDIN (FORMAT binary)") as cp:
                for at in range(0, len(view), 8 << 20):
                    cp.write(view[at:at + (8 << 20)])
        with timed() as indexing:
            conn.execute(f"ALTER TABLE bench_limit ADD PRIMARY KEY {key}")
            conn.execute("CREATE INDEX ON bench_limit (trade_date)")
            conn.execute("COMMIT")   # timed too: with wal_level=minimal it syncs the files
        rows = conn.execute("SELECT count(*) FROM bench_limit").fetchone()
        conn.execute("DROP TABLE bench_limit")
    assert rows is not None
    return int(rows[0]), copying(), indexing()


def rows_of(payload: bytes) -> list[tuple[Any, ...]]:
    import csv

    return [tuple(None if v == "" else v for v in r)
            for r in csv.reader(io.StringIO(payload.decode()))]


def executemany(dsn: str, payloads: list[bytes]) -> tuple[int, float]:
    """(e) psycopg executemany upsert per date (a slice of dates)."""
    with connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_em")
        conn.execute("CREATE TABLE bench_em (LIKE prices_daily INCLUDING ALL)")
        batches = [rows_of(p) for p in payloads]
        with timed() as elapsed:
            for rows in batches:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(UPSERT.format(t="bench_em"), rows)
        conn.execute("DROP TABLE bench_em")
    return sum(len(b) for b in batches), elapsed()


def to_sql(dsn: str, payloads: list[bytes]) -> tuple[int, float]:
    """(f) pandas DataFrame.to_sql(method="multi") for a slice."""
    import pandas as pd
    import sqlalchemy

    # the DSN's own conninfo (host, port, passfile of the embedded server): a URL has no passfile
    engine = sqlalchemy.create_engine("postgresql+psycopg://",
                                      creator=lambda: psycopg.connect(dsn))
    with connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_tosql")
        conn.execute("CREATE TABLE bench_tosql (LIKE prices_daily INCLUDING ALL)")
    frames = [pd.read_csv(io.BytesIO(p), names=[c.strip() for c in COLS.split(",")],
                          parse_dates=["trade_date"]) for p in payloads]
    with timed() as elapsed:
        for frame in frames:
            frame.to_sql("bench_tosql", engine, schema="stocks_research", if_exists="append",
                         index=False, method="multi", chunksize=1000)
    engine.dispose()
    return sum(len(f) for f in frames), elapsed()


def republish(market: Path) -> dict[Path, bytes]:
    """(d) rewrite the first file of each month: 10% closes nudged, 1% rows dropped."""
    rng = random.Random(5)
    originals: dict[Path, bytes] = {}
    base = market / "flatfiles/us_stocks_sip/day_aggs_v1/2024"
    for month in sorted(base.iterdir()):
        path = sorted(month.glob("*.csv.gz"))[0]
        originals[path] = path.read_bytes()
        lines = gzip.decompress(originals[path]).decode().splitlines()
        out = [lines[0]]
        for line in lines[1:]:
            if rng.random() < 0.01:
                continue
            f = line.split(",")
            if rng.random() < 0.10 and len(f) == 8:
                try:
                    o, c, h, lo = (float(x) for x in (f[2], f[3], f[4], f[5]))
                    c2 = round(min(h, max(lo, c * 1.001)), 4)
                    f[3] = repr(c2) if c2 != c else f[3]
                except ValueError:
                    pass
            out.append(",".join(f))
        path.write_bytes(gzip.compress(("\n".join(out) + "\n").encode(), mtime=0))
    return originals


def median_limit(dsn: str) -> tuple[int, float, float]:
    """physical_limit three times: the rows and the COPY and index seconds of the run whose
    total is the median (the figure swings by ±30% on this machine)."""
    runs = sorted((physical_limit(dsn) for _ in range(3)), key=lambda r: r[1] + r[2])
    return runs[1]


def peak_rss(server: Any, market: Path, end: str, *, start: str = "2024-01-02",
             template: str = "bench_ref") -> dict[str, Any]:
    """Peak RSS of a prices_daily run start..end in its own process, on a fresh database."""
    dsn = fresh_database(server, "bench_rss", template=template)
    probe = Path(__file__).with_name("rss_probe.py")
    out = subprocess.run([sys.executable, str(probe), dsn, str(market), start, end],
                         check=True, capture_output=True, text=True).stdout
    measured: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return measured


def read_paths(dsn: str) -> dict[str, float]:
    with connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE prices_daily")
        ids = [r[0] for r in conn.execute("SELECT security_id FROM securities ORDER BY random() "
                                          "LIMIT 50")]
        days = [r[0] for r in conn.execute("SELECT d FROM (SELECT DISTINCT trade_date AS d "
                                           "FROM prices_daily) x ORDER BY random() LIMIT 50")]
        hist = median_ms(lambda i: read_prices_daily(conn, security_ids=[i]), ids)
        cross = median_ms(lambda d: read_prices_daily(conn, trade_date=d), days)
    return {"security_history_ms": round(hist, 2), "date_cross_section_ms": round(cross, 2)}


def api_reads(dsn: str) -> dict[str, float]:
    """stocksdb.read_prices' path (api.read_prices_frame, adjusted by crsp factors, by FIGI):
    one security's year (median of 50) and 500 securities' year (median of 5)."""
    from stocksdb.api import read_prices_frame

    with connect(dsn, autocommit=True) as conn:
        figis = [r[0] for r in conn.execute("SELECT composite_figi FROM securities "
                                            "ORDER BY random() LIMIT 550")]
        one = median_ms(lambda f: read_prices_frame(conn, figis=[f]), figis[:50])
        many = median_ms(lambda i: read_prices_frame(conn, figis=figis[i:i + 500]),
                         list(range(5)))
    return {"api_security_history_ms": round(one, 2), "api_500_securities_ms": round(many, 1)}


__all__ = ["DATA", "api_reads", "bare_copy", "dump_days", "executemany", "load", "median_limit",
           "peak_rss", "prepare_reference", "read_paths", "republish", "to_sql"]


def factors(dsn: str, market: Path) -> dict[str, float]:
    """Corporate actions, then the factor job (first run, then an unchanged re-run), and the
    post-gate alone; the baseline is a bare COPY of the same number of factor rows."""
    from stocksdb.domain.adjustments import AdjustmentMethod
    from stocksdb.gates.gate import run_gate
    from stocksdb.jobs.registry import get_job

    crsp = AdjustmentMethod.CRSP
    run_job(Settings(), dsn, RunRequest(job="corporate_actions", path=market))
    with timed() as first:
        report = run_job(Settings(), dsn, RunRequest(job="adjustment_factors_daily",
                                                     method=crsp))
    with timed() as rerun:
        run_job(Settings(), dsn, RunRequest(job="adjustment_factors_daily", method=crsp))
    with connect(dsn, autocommit=True) as conn:
        with timed() as gate:
            job = get_job("adjustment_factors_daily")
            run_gate(conn, job.post_gate, "post", job.gate_context(method=crsp))
        buf = io.BytesIO()
        with conn.cursor().copy("COPY (SELECT * FROM adjustment_factors_daily) TO STDOUT") as cp:
            for chunk in cp:
                buf.write(chunk)
        conn.execute("CREATE TABLE bench_factors (LIKE adjustment_factors_daily INCLUDING ALL)")
        with timed() as copy, conn.transaction(), \
                conn.cursor().copy("COPY bench_factors FROM STDIN") as cp:
            cp.write(buf.getvalue())
        conn.execute("DROP TABLE bench_factors")
    rows = int(report.counts["inserted"])
    return {"rows": rows, "first_s": first(), "rerun_s": rerun(), "post_gate_s": gate(),
            "bare_copy_s": copy()}
