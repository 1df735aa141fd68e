"""Table checksums: content decides, physical order and audit columns do not."""

from __future__ import annotations

from typing import Any

import psycopg

from stocksdb.db.checksum import database_checksums, table_checksum

ROWS = [("BBG000B9XRY4", "Apple"), ("BBG000MM2P62", "Meta"), ("BBG000BLNNH6", "IBM")]


def insert(conn: psycopg.Connection[Any], rows: list[tuple[str, str]]) -> None:
    for figi, name in rows:
        conn.execute("INSERT INTO securities (security_id, composite_figi, name) "
                     "OVERRIDING SYSTEM VALUE VALUES (%s, %s, %s)",
                     ({"Apple": 1, "Meta": 2, "IBM": 3}[name], figi, name))


def test_same_content_in_other_order_has_same_digest(pg_server: Any, template_db: str) -> None:
    """Two databases with the same rows inserted in different orders have equal digests."""
    from stocksdb.db.connection import connect

    names = [pg_server.clone(template_db), pg_server.clone(template_db)]
    try:
        sums = []
        for name, rows in zip(names, (ROWS, ROWS[::-1]), strict=True):
            with connect(pg_server.dsn(name), autocommit=True) as c:
                insert(c, rows)
                sums.append(database_checksums(c))
        assert sums[0] == sums[1]
    finally:
        for name in names:
            pg_server.drop(name)


def test_changed_value_changes_digest(conn: psycopg.Connection[Any]) -> None:
    """One changed name changes the table digest; the row count stays."""
    insert(conn, ROWS)
    before = table_checksum(conn, "securities")
    conn.execute("UPDATE securities SET name = 'Apple Inc.' WHERE name = 'Apple'")
    after = table_checksum(conn, "securities")
    assert before.rows == after.rows == 3
    assert before.digest != after.digest


def test_audit_columns_do_not_change_digest(conn: psycopg.Connection[Any]) -> None:
    """Touching updated_at (when a row was written, not what it holds) keeps the digest."""
    insert(conn, ROWS)
    before = table_checksum(conn, "securities")
    conn.execute("UPDATE securities SET updated_at = updated_at + interval '1 day'")
    assert table_checksum(conn, "securities") == before


def test_every_data_table_has_a_digest(conn: psycopg.Connection[Any]) -> None:
    """The checksum covers every base table of stocks_research."""
    sums = database_checksums(conn)
    assert {"securities", "ticker_history", "prices_daily", "corporate_actions"} <= set(sums)
    assert all(s.rows == 0 for s in sums.values())


def test_digest_of_a_condition_is_that_of_a_table_holding_only_its_rows(
        conn: psycopg.Connection[Any]) -> None:
    """table_checksum(where=...) over Apple and Meta equals the whole table's digest once IBM
    is deleted (what an export's range digest relies on)."""
    from psycopg import sql

    insert(conn, ROWS)
    part = table_checksum(conn, "securities", where=sql.SQL("security_id <= 2"))
    whole_before = table_checksum(conn, "securities")
    conn.execute("DELETE FROM securities WHERE security_id = 3")
    whole_after = table_checksum(conn, "securities")
    assert part == whole_after and part.rows == 2
    assert part != whole_before
