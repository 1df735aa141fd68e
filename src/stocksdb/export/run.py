"""`export_dataset`: one dataset of the warehouse as Hive-partitioned Parquet plus a manifest.

Reads:  the dataset's tables (export.datasets), all in one REPEATABLE READ read-only
        transaction, so the rows and the source checksum describe the same warehouse state.
Writes: files under `out` only (built beside it, moved into place when complete).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stocksdb import __version__
from stocksdb.db.checksum import table_checksum
from stocksdb.db.connection import connect
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod, parse_adjustment_method
from stocksdb.errors import DateOutOfRangeError, InputError
from stocksdb.export.datasets import (
    DATASET_NAMES,
    DatasetSpec,
    dataset_spec,
    date_bounds,
    range_condition,
)
from stocksdb.export.manifest import ExportFile, ExportManifest, SourceChecksum
from stocksdb.export.target import check_target, publish, staging_dir

log = logging.getLogger("stocksdb.export")
CHUNK_SECURITIES = 1000   # per chunk: ~250,000 bars a year, ~30 MB of CSV and as much Arrow


def export_dataset(dsn: str, dataset: str, out: Path, *, start: date | None = None,
                   end: date | None = None, adjusted: bool = False,
                   method: AdjustmentMethod | str | None = None, overwrite: bool = False,
                   chunk_securities: int = CHUNK_SECURITIES) -> ExportManifest:
    """Write `dataset` (prices, factors or fundamentals) rows dated start..end (inclusive,
    either open) to `out` as year=YYYY/part-0.parquet files and `_manifest.json`.

    `adjusted` (prices only) adds each bar's factors of `method` (default crsp) and its
    adjusted prices and volume. An empty range writes only the manifest, with a warning.
    Rows are read `chunk_securities` securities by one year at a time (the memory bound);
    each chunk is a row group of its year's file.

    Raises:
        InputError: unknown dataset, `adjusted` for another dataset, an unknown method, or no
            factors of the method stored.
        DateOutOfRangeError: `end` before `start`.
        ExportTargetError: `out` is a file or a non-empty directory that is no export.
        ExportNotConfirmedError: `out` holds an export and `overwrite` is false.
    """
    spec, chosen = _spec(dataset, adjusted, method)
    _check_bounds(start, end, chunk_securities)
    out = Path(out).resolve()   # '.' or 'x/..' have no name to build a sibling from
    previous = check_target(out, overwrite=overwrite)
    with connect(dsn) as conn, _snapshot(conn), staging_dir(out) as tmp:
        if chosen is not None:
            _require_factors(conn, chosen)
        bounds = date_bounds(conn, spec, start, end)
        files = _write_files(conn, spec, bounds, tmp, chunk_securities) \
            if bounds is not None else []
        manifest = ExportManifest(
            out=out, dataset=spec.name, table=spec.table, date_column=spec.date_column,
            created_at=datetime.now(UTC), start=start, end=end, adjusted=chosen is not None,
            method=chosen.value if chosen is not None else None,
            rows_by_year={f.year: f.rows for f in files}, files=tuple(files),
            schema=_schema_strings(spec), source=_source_checksum(conn, spec, start, end),
            first_date=bounds[0] if bounds else None, last_date=bounds[1] if bounds else None,
            stocksdb_version=__version__,
            warnings=_warnings(conn, spec, chosen, empty=not files, start=start, end=end),
            replaced=previous)
        manifest.write(tmp)
        publish(tmp, out, previous)
    for warning in manifest.warnings:
        log.warning("export %s: %s", spec.name, warning)
    return manifest


def _check_bounds(start: date | None, end: date | None, chunk_securities: int) -> None:
    if start is not None and end is not None and end < start:
        raise DateOutOfRangeError(f"parameter `end` is {end}, earlier than `start` ({start}); "
                                  "pass an end on or after the start")
    if chunk_securities < 1:
        raise InputError(f"parameter `chunk_securities` is {chunk_securities!r}, expected at "
                         "least 1")


def _spec(dataset: str, adjusted: bool, method: AdjustmentMethod | str | None
          ) -> tuple[DatasetSpec, AdjustmentMethod | None]:
    if dataset not in DATASET_NAMES:
        raise InputError(f"parameter `dataset` is {dataset!r}, expected one of "
                         f"{list(DATASET_NAMES)}")
    if adjusted and dataset != "prices":
        raise InputError(f"--adjusted applies to the prices dataset, not {dataset!r}; drop it "
                         "(the factors dataset holds every factor)")
    if not adjusted:
        return dataset_spec(dataset), None
    try:
        chosen = parse_adjustment_method(method) if method else DEFAULT_METHOD
    except ValueError as exc:
        raise InputError(f"parameter `method`: {exc}") from None
    return dataset_spec(dataset, method=chosen.value), chosen


@contextmanager
def _snapshot(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """One read-only snapshot; floats printed exactly (shortest round-trip), dates ISO."""
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    with conn.transaction():
        conn.execute("SET LOCAL extra_float_digits = 3")
        conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        yield


def _require_factors(conn: psycopg.Connection[Any], method: AdjustmentMethod) -> None:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM stocks_research.adjustment_factors_daily "
                       "WHERE method = %s)", (method.value,)).fetchone()
    if not (row and row[0]):
        raise InputError(f"no adjustment factors stored for method {method.value!r}; run "
                         f"`stocksdb run adjustment_factors_daily --method {method.value}` or "
                         "export without --adjusted")


def _write_files(conn: psycopg.Connection[Any], spec: DatasetSpec, bounds: tuple[date, date],
                 root: Path, chunk_securities: int) -> list[ExportFile]:
    """One file per year of `bounds` (first and last date with rows), chunk by chunk."""
    from stocksdb.export.read import arrow_schema, id_ranges, read_chunks
    from stocksdb.export.write import write_year

    ranges, schema, files = id_ranges(conn, chunk_securities), arrow_schema(spec), []
    for year in range(bounds[0].year, bounds[1].year + 1):
        first, last = max(bounds[0], date(year, 1, 1)), min(bounds[1], date(year, 12, 31))
        written = write_year(root, year, read_chunks(conn, spec, first, last, ranges), schema)
        if written is not None:
            log.info("export %s: %s, %d rows", spec.name, written.path, written.rows)
            files.append(written)
    return files


def _schema_strings(spec: DatasetSpec) -> dict[str, str]:
    from stocksdb.export.read import arrow_schema

    return {f.name: str(f.type) for f in arrow_schema(spec)}


def _source_checksum(conn: psycopg.Connection[Any], spec: DatasetSpec, start: date | None,
                     end: date | None) -> SourceChecksum:
    row = conn.execute("SELECT max(version) FROM ingestion.schema_migrations").fetchone()
    tables = {t: table_checksum(conn, t) for t in spec.reads}
    # An open range is the whole table: the same digest, not a second pass over it.
    whole = start is None and end is None
    return SourceChecksum(
        tables=tables, range=tables[spec.table] if whole else table_checksum(
            conn, spec.table, where=range_condition(spec, start, end, qualified=False)),
        schema_version=row[0] if row else None)


def _warnings(conn: psycopg.Connection[Any], spec: DatasetSpec, method: AdjustmentMethod | None,
              *, empty: bool, start: date | None, end: date | None) -> tuple[str, ...]:
    """An empty range; adjusted bars without a factor (their adj_* columns are null)."""
    if empty:
        span = f"{start or 'the first date'} .. {end or 'the last date'}"
        return (f"no rows of {spec.table} with {spec.date_column} in {span}; the export holds "
                "only _manifest.json",)
    if method is None:
        return ()
    query = sql.SQL("SELECT count(*) FROM stocks_research.prices_daily p WHERE {} AND NOT EXISTS "
                    "(SELECT 1 FROM stocks_research.adjustment_factors_daily f WHERE "
                    "(f.security_id, f.trade_date, f.method) = (p.security_id, p.trade_date, {}))"
                    ).format(range_condition(spec, start, end), sql.Literal(method.value))
    row = conn.execute(query).fetchone()
    missing = int(row[0]) if row else 0
    return (f"{missing} bar(s) have no {method.value} factor, so null price_factor and adj_* "
            f"columns; run `stocksdb run adjustment_factors_daily --method {method.value}` and "
            "export again",) if missing else ()
