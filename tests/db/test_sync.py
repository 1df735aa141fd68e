"""sync_from_stage on small hand-made tables: what it inserts, updates, deletes and leaves.

Every expected count and row below is worked out by hand from the rows the test writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql

from stocksdb.db.connection import connect
from stocksdb.db.sync import MergeCounts, Scope, sync_from_stage

D1, D2 = date(2024, 1, 2), date(2024, 1, 3)
QUOTES = """
CREATE SCHEMA lab;
CREATE TABLE lab.quotes (day date NOT NULL, id int NOT NULL, price numeric NOT NULL, note text,
    source text NOT NULL, run_id bigint, PRIMARY KEY (day, id));
CREATE TEMP TABLE stage_quotes (day date, id int, price numeric, note text, source text);
"""
# (day, id, price, note, source), all stored by run 7
STORED = [(D1, 1, 10, "a", "x"), (D1, 2, 20, None, "x"), (D1, 3, 30, "c", "x"),
          (D1, 4, 40, "d", "y"), (D2, 1, 50, "e", "x")]
# D1/1 as stored (unchanged), D1/2 with a new price (updated), D1/5 new (inserted);
# D1/3 is missing (deleted when in scope); D1/4 (source y) and D2/1 are not staged.
STAGED = [(D1, 1, 10, "a", "x"), (D1, 2, 21, None, "x"), (D1, 5, 55, "n", "x")]
KEY, VALUES = ("day", "id"), ("price", "note", "source")


@pytest.fixture
def lab(empty_db: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection with lab.quotes holding STORED and stage_quotes holding STAGED."""
    with connect(empty_db, autocommit=True) as c:
        c.execute(QUOTES)
        with c.cursor() as cur:
            cur.executemany("INSERT INTO lab.quotes VALUES (%s, %s, %s, %s, %s, 7)", STORED)
            cur.executemany("INSERT INTO stage_quotes VALUES (%s, %s, %s, %s, %s)", STAGED)
        yield c


def sync(conn: psycopg.Connection[Any], scope: Scope | None, **kw: Any) -> MergeCounts:
    return sync_from_stage(conn, "lab.quotes", KEY, VALUES, scope, stage="stage_quotes",
                           stamp={"run_id": sql.Literal(8)}, **kw)


def quotes(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    rows = conn.execute("SELECT day, id, price, note, source, run_id FROM lab.quotes "
                        "ORDER BY day, id").fetchall()
    return [(d, i, int(p), n, s, r) for d, i, p, n, s, r in rows]


@pytest.mark.parametrize("pin", [None, {"day": D1}])
def test_sync_inserts_updates_and_deletes_in_scope_only(lab: psycopg.Connection[Any],
                                                        pin: dict[str, object] | None) -> None:
    """Scope D1 of source x: D1/5 inserted, D1/2 updated, D1/3 deleted, D1/1 unchanged (its
    run_id stays 7); D1/4 (source y) and D2/1 are out of scope and untouched. Pinning the
    day (every staged row is D1) gives the same result."""
    counts = sync(lab, Scope(equal={"day": D1, "source": "x"}), pin=pin)
    assert counts == MergeCounts(inserted=1, updated=1, unchanged=1, deleted=1), counts
    assert quotes(lab) == [(D1, 1, 10, "a", "x", 7), (D1, 2, 21, None, "x", 8),
                           (D1, 4, 40, "d", "y", 7), (D1, 5, 55, "n", "x", 8),
                           (D2, 1, 50, "e", "x", 7)]


def test_a_rerun_writes_nothing(lab: psycopg.Connection[Any]) -> None:
    """The same stage again: all three staged rows unchanged, nothing else happens (a NULL
    note equals a NULL note)."""
    sync(lab, Scope(equal={"day": D1, "source": "x"}))
    before = quotes(lab)
    counts = sync(lab, Scope(equal={"day": D1, "source": "x"}))
    assert counts == MergeCounts(unchanged=3), counts
    assert quotes(lab) == before


def test_excluded_rows_are_kept(lab: psycopg.Connection[Any]) -> None:
    """Excluding id 3 from the scope keeps D1/3 although it is not staged."""
    counts = sync(lab, Scope(equal={"day": D1, "source": "x"}, exclude={"id": [3]}))
    assert (counts.deleted, counts.inserted, counts.updated) == (0, 1, 1), counts
    assert (D1, 3, 30, "c", "x", 7) in quotes(lab)


def test_no_scope_deletes_nothing(lab: psycopg.Connection[Any]) -> None:
    """scope None is an upsert: the five stored rows stay, D1/5 is added, D1/2 updated."""
    counts = sync(lab, None)
    assert counts == MergeCounts(inserted=1, updated=1, unchanged=1, deleted=0), counts
    assert len(quotes(lab)) == 6


def test_whole_table_scope_leaves_exactly_the_stage(lab: psycopg.Connection[Any]) -> None:
    """Scope(): every stored row not staged goes (D1/3, D1/4, D2/1), so the table equals
    the stage."""
    counts = sync(lab, Scope())
    assert counts == MergeCounts(inserted=1, updated=1, unchanged=1, deleted=3), counts
    assert [r[:5] for r in quotes(lab)] == [(d, i, p, n, s) for d, i, p, n, s in STAGED]


def test_staged_scope_covers_only_ids_in_the_stage(lab: psycopg.Connection[Any]) -> None:
    """Scope(staged=('id',)): ids 1, 2, 5 are covered, so D2/1 (id 1, not staged) goes
    while D1/3 and D1/4 (ids not in the stage) stay."""
    counts = sync(lab, Scope(staged=("id",)))
    assert counts.deleted == 1, counts
    assert (D2, 1, 50, "e", "x", 7) not in quotes(lab)
    assert {(d, i) for d, i, *_ in quotes(lab)} == {(D1, 1), (D1, 2), (D1, 3), (D1, 4), (D1, 5)}


def test_stored_after_and_sums() -> None:
    """stored_after = stored_before + inserted - deleted; sums add every field."""
    a = MergeCounts(inserted=2, updated=1, unchanged=4, deleted=1, stored_before=10)
    b = MergeCounts(inserted=1, deleted=3, stored_before=5)
    assert a.stored_after == 11 and b.stored_after == 3
    assert a + b == MergeCounts(inserted=3, updated=1, unchanged=4, deleted=4, stored_before=15)
    assert (a + b).stored_after == 14
    assert a.as_dict() == {"inserted": 2, "updated": 1, "deleted": 1, "unchanged": 4}


SPANS = """
CREATE TABLE lab.spans (span_id int GENERATED ALWAYS AS IDENTITY, name text NOT NULL,
    start_date date NOT NULL, stop_date date, run_id bigint);
INSERT INTO lab.spans (name, start_date, stop_date, run_id) VALUES ('A', '2024-01-01', NULL, 7);
CREATE TEMP TABLE stage_spans (name text, start_date date, stop_date date);
INSERT INTO stage_spans VALUES ('C', '2024-01-01', NULL), ('A', '2024-01-01', NULL),
                               ('B', '2024-01-01', '2024-02-01');
"""


def spans(conn: psycopg.Connection[Any], order: Sequence[str], null_safe: Sequence[str]
          ) -> tuple[MergeCounts, list[tuple[Any, ...]]]:
    conn.execute(SPANS)
    counts = sync_from_stage(conn, sql.Identifier("lab", "spans"),
                             ("name", "start_date", "stop_date"), (), Scope(),
                             stage=sql.Identifier("stage_spans"),
                             stamp={"run_id": sql.Literal(8)}, insert_order=order,
                             null_safe=null_safe, staged=3)
    rows = conn.execute("SELECT span_id, name, run_id FROM lab.spans ORDER BY span_id")
    return counts, rows.fetchall()


def test_null_safe_key_matches_null_and_insert_order_sets_ids(lab: psycopg.Connection[Any]
                                                             ) -> None:
    """With stop_date null-safe, the staged open span A is the stored one (unchanged, keeps
    id 1 and run 7); B and C are inserted in name order, so B gets id 2 and C id 3."""
    counts, rows = spans(lab, ("name",), ("stop_date",))
    assert counts == MergeCounts(inserted=2, unchanged=1), counts
    assert rows == [(1, "A", 7), (2, "B", 8), (3, "C", 8)]


def test_without_null_safe_a_null_key_never_matches(lab: psycopg.Connection[Any]) -> None:
    """Plain `=` on stop_date: NULL = NULL is not true, so stored A is deleted (in scope, not
    matched) and a new A inserted: 3 inserted, 1 deleted, 0 unchanged."""
    counts, rows = spans(lab, ("name",), ())
    assert counts == MergeCounts(inserted=3, deleted=1), counts
    assert [r[1] for r in rows] == ["A", "B", "C"]
