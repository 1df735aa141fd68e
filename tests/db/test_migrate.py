"""Migrations: applied in order, recorded with checksums, edits refused."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from stocksdb.db.connection import connect
from stocksdb.db.migrate import (
    LEDGER_DDL,
    available_migrations,
    migrate,
    migration_status,
    require_latest,
)
from stocksdb.errors import MigrationChecksumError, SchemaVersionError

# Every table and view of SPEC section 3.1 (names, not code under test).
SPEC_RELATIONS = {
    "stocks_research": {"securities", "ticker_history", "tickers", "prices_daily", "ohlcv_daily",
                        "corporate_actions", "adjustment_factors_daily",
                        "prices_daily_adjusted_v", "fundamentals_quarterly_raw",
                        "fundamentals_quarterly", "fundamentals_quarterly_yoy",
                        "trading_sessions", "macro_series", "macro_observations",
                        "macro_events"},
    "ingestion": {"schema_migrations", "job_runs", "gate_results", "rejected_rows",
                  "source_files", "quality_findings"},
}


def relations(conn: psycopg.Connection[Any], schema: str) -> set[str]:
    rows = conn.execute("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = %s", (schema,)).fetchall()
    return {r[0] for r in rows}


def test_empty_database_migrates_to_every_spec_relation(empty_db: str) -> None:
    """Migrating an empty database creates every table and view the SPEC lists."""
    with connect(empty_db, autocommit=True) as conn:
        applied = migrate(conn)
        assert applied == [m.name for m in available_migrations()]
        for schema, expected in SPEC_RELATIONS.items():
            missing = expected - relations(conn, schema)
            assert not missing, f"{schema} lacks {missing}"
        require_latest(conn)


def test_second_migrate_applies_nothing(conn: psycopg.Connection[Any]) -> None:
    """A migrated database reports no pending migration and migrate is a no-op."""
    assert migrate(conn) == []
    assert all(m.applied_at is not None for m in migration_status(conn))


def test_edited_applied_migration_is_an_error_naming_the_file(
        conn: psycopg.Connection[Any]) -> None:
    """A changed checksum in the ledger (as after editing a file) refuses to migrate."""
    conn.execute("UPDATE ingestion.schema_migrations SET checksum = 'x' WHERE version = 2")
    name = available_migrations()[1].name
    with pytest.raises(MigrationChecksumError, match=name):
        migrate(conn)
    with pytest.raises(MigrationChecksumError, match=name):
        require_latest(conn)


def test_pending_migration_blocks_jobs(empty_db: str) -> None:
    """An unmigrated database is refused with the command that fixes it."""
    with connect(empty_db) as conn, pytest.raises(SchemaVersionError, match="db migrate"):
        require_latest(conn)


def test_database_newer_than_code_is_an_error(conn: psycopg.Connection[Any]) -> None:
    """A migration recorded in the database but unknown to the code is refused."""
    conn.execute("INSERT INTO ingestion.schema_migrations (version, name, checksum) "
                 "VALUES (9999, '9999_future.sql', 'abc')")
    with pytest.raises(SchemaVersionError, match="9999_future.sql"):
        require_latest(conn)


def test_figi_check_in_database_matches_known_figis(conn: psycopg.Connection[Any]) -> None:
    """The SQL check-digit function accepts real FIGIs and refuses a one-character change."""
    row = conn.execute("SELECT stocks_research.figi_is_valid('BBG000B9XRY4'), "
                       "stocks_research.figi_is_valid('BBG000MM2P62'), "
                       "stocks_research.figi_is_valid('BBG000BLNNH6'), "
                       "stocks_research.figi_is_valid('BBG000B9XRY5'), "
                       "stocks_research.figi_is_valid('BBA000B9XRY4')").fetchone()
    assert row == (True, True, True, False, False)


def test_prices_check_constraints_refuse_insane_bars(conn: psycopg.Connection[Any]) -> None:
    """high < low is refused by the table itself."""
    conn.execute("INSERT INTO securities (composite_figi) VALUES ('BBG000B9XRY4')")
    conn.execute("SELECT ensure_year_partitions('prices_daily', '2024-01-02', '2024-01-02')")
    with pytest.raises(psycopg.errors.CheckViolation, match="high_bounds"):
        conn.execute("INSERT INTO prices_daily (security_id, trade_date, open, high, low, close, "
                     "volume, source) SELECT security_id, '2024-01-02', 10, 9, 9.5, 10, 1, 't' "
                     "FROM securities")


def test_never_written_job_steps_table_is_gone(conn: psycopg.Connection[Any]) -> None:
    """Migration 0012 drops ingestion.job_steps, which no job ever wrote."""
    assert "job_steps" not in relations(conn, "ingestion")


def test_partitioning_migration_keeps_every_bar_and_factor(empty_db: str) -> None:
    """Migration 0015 moves the bars and factors of a 0014 database into yearly partitions:
    the same rows, values and bookkeeping, each year in its own partition, and the views still
    read them (nothing is lost by upgrading)."""
    with connect(empty_db, autocommit=True) as conn:
        conn.execute(LEDGER_DDL)
        for mig in available_migrations():
            if mig.version > 14:
                break
            with conn.transaction():
                conn.execute(mig.sql.encode("utf-8"))
                conn.execute("INSERT INTO ingestion.schema_migrations (version, name, checksum) "
                             "VALUES (%s, %s, %s)", (mig.version, mig.name, mig.checksum))
        conn.execute("INSERT INTO securities (composite_figi) VALUES ('BBG000B9XRY4')")
        conn.execute("INSERT INTO prices_daily (security_id, trade_date, open, high, low, close, "
                     "volume, transactions, source, run_id, ingested_at) SELECT security_id, d, "
                     "10, 11, 9, 10.5, 100, NULL, 'files', 7, '2024-05-01T00:00:00Z' FROM "
                     "securities, unnest('{2021-12-31,2022-01-03,2024-02-29}'::date[]) d")
        conn.execute("INSERT INTO adjustment_factors_daily (security_id, trade_date, method, "
                     "price_factor, volume_factor, split_factor, dividend_factor, run_id) "
                     "SELECT security_id, trade_date, 'crsp', 0.5, 2, 0.5, 1, 8 "
                     "FROM prices_daily")
        applied = migrate(conn)
        assert applied == [m.name for m in available_migrations() if m.version >= 15]
        assert applied[0] == "0015_partition_by_year.sql"
        parts = conn.execute(
            "SELECT c.relname::text, count(*) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind = 'r' GROUP BY 1 "
            "ORDER BY 1").fetchall()
        bars = conn.execute("SELECT trade_date::text, close, transactions, source, run_id, "
                            "ingested_at::text FROM prices_daily ORDER BY 1").fetchall()
        adjusted = conn.execute("SELECT trade_date::text, close FROM prices_daily_adjusted_v "
                                "ORDER BY 1").fetchall()
        outside = conn.execute("SELECT count(*) FROM ONLY prices_daily").fetchone()
    # 3 years of bars (2023 has none but lies between): 4 partitions per table.
    assert [n for n, _ in parts] == [
        *(f"adjustment_factors_daily_y{y}" for y in (2021, 2022, 2023, 2024)),
        *(f"prices_daily_y{y}" for y in (2021, 2022, 2023, 2024))]
    assert bars == [(d, 10.5, None, "files", 7, "2024-05-01 00:00:00+00")
                    for d in ("2021-12-31", "2022-01-03", "2024-02-29")]
    assert adjusted == [("2021-12-31", 5.25), ("2022-01-03", 5.25), ("2024-02-29", 5.25)]
    assert outside == (0,)


def test_a_bar_outside_every_partition_is_refused(conn: psycopg.Connection[Any]) -> None:
    """There is no catch-all partition: a bar of a year without its partition is an error,
    never kept aside; ensure_year_partitions makes the year's partition."""
    conn.execute("INSERT INTO securities (composite_figi) VALUES ('BBG000B9XRY4')")
    insert = ("INSERT INTO prices_daily (security_id, trade_date, open, high, low, close, "
              "volume, source) SELECT security_id, '2031-03-03', 1, 1, 1, 1, 1, 't' "
              "FROM securities")
    with conn.transaction(), pytest.raises(psycopg.errors.CheckViolation,
                                           match="no partition"):
        conn.execute(insert)
    made = conn.execute("SELECT ensure_year_partitions('prices_daily', '2030-06-01', "
                        "'2031-03-03')").fetchone()
    again = conn.execute("SELECT ensure_year_partitions('prices_daily', '2031-01-01', "
                         "'2031-12-31')").fetchone()
    conn.execute(insert)
    assert (made, again) == ((2,), (0,))
    assert conn.execute("SELECT count(*) FROM prices_daily_y2031").fetchone() == (1,)
