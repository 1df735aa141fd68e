"""Make a table agree with a staged batch: the one merge every job's write uses.

Reads:  a stage table the caller filled (usually a temporary table loaded with COPY)
Writes: the target table the caller names; nothing else
The merge is set-based SQL composed with psycopg.sql, three statements at most, in the
caller's transaction: DELETE the stored rows in scope whose key the stage lacks, UPDATE the
stored rows whose key is staged and whose values differ, INSERT the staged keys not stored.
Unchanged rows are not rewritten, so a re-run over the same batch writes nothing and keeps
their bookkeeping (run_id, *_at) as it was.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import psycopg
from psycopg import sql

# A table: sql.Identifier("schema", "table"), or its dotted name "schema.table" ("table" alone
# for a temporary table).
Table = str | sql.Identifier


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did to the target's rows.

    unchanged counts staged rows whose stored row already held their values. stored_before is
    filled by callers that count the stored rows before merging (the prices loader counts a
    session's bars to guard deletions); it is 0 otherwise.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    stored_before: int = 0

    @property
    def stored_after(self) -> int:
        """Rows stored after the merge, counted like stored_before."""
        return self.stored_before + self.inserted - self.deleted

    def __add__(self, other: MergeCounts) -> MergeCounts:
        return MergeCounts(self.inserted + other.inserted, self.updated + other.updated,
                           self.unchanged + other.unchanged, self.deleted + other.deleted,
                           self.stored_before + other.stored_before)

    def as_dict(self) -> dict[str, int]:
        """The four row counts, as jobs report them."""
        return {"inserted": self.inserted, "updated": self.updated, "deleted": self.deleted,
                "unchanged": self.unchanged}


@dataclass(frozen=True)
class Scope:
    """The stored rows a stage is authoritative for: those matching every condition.

    equal:    column -> value the stored row must hold (trade_date = the session).
    exclude:  column -> values the stored row must not hold (the securities to keep).
    staged:   columns whose stored values must occur in the stage (the securities covered).
    Scope() is the whole table.
    """

    equal: Mapping[str, object] = field(default_factory=dict)
    exclude: Mapping[str, Sequence[object]] = field(default_factory=dict)
    staged: tuple[str, ...] = ()


def sync_from_stage(conn: psycopg.Connection[Any], target: Table, key: Sequence[str],
                    values: Sequence[str], scope: Scope | None, *, stage: Table,
                    stamp: Mapping[str, sql.Composable] | None = None,
                    pin: Mapping[str, object] | None = None, insert_order: Sequence[str] = (),
                    null_safe: Collection[str] = (), staged: int | None = None) -> MergeCounts:
    """Make `target` agree with `stage` for the rows `scope` names; returns the counts.

    target:       the table written (see Table).
    key:          columns naming one row in both tables; a staged row and a stored row with
                  equal key values are the same row. Usually the target's primary key.
    values:       columns compared and copied: a stored row whose values differ from its
                  staged row's (IS DISTINCT FROM, so NULLs compare equal) is updated. () means
                  a row is its key: rows are only inserted and deleted.
    scope:        the stored rows the stage speaks for (see Scope). A row in scope whose key
                  is not staged is deleted; rows out of scope are never deleted, but a staged
                  key always writes its row (the key names one row, whatever its scope).
                  None: nothing is deleted (an upsert).
    stage:        the table holding the batch, with every key and value column; the caller
                  creates, fills and drops it.
    stamp:        bookkeeping columns written on insert and on update but never compared,
                  as SQL expressions: {"run_id": sql.Literal(run_id)}, {"updated_at":
                  sql.SQL("clock_timestamp()")}, or a stage column {"run_id":
                  sql.Identifier("s", "run_id")} (the stage is aliased s).
    pin:          key columns -> the one value every staged row holds in them (the session of a
                  day's bars). Stored rows are matched on the value instead of on the staged
                  column, so an index on it serves the merge and the planner does not mistake
                  the stage for a handful of rows.
    insert_order: ORDER BY of the insert, for targets whose identity ids follow it.
    null_safe:    key columns that may be NULL, matched with IS NOT DISTINCT FROM (which no
                  index serves, so name only the columns that need it).
    staged:       the stage's row count when the caller knows it (else it is counted), used
                  for `unchanged`.
    """
    shape = _Shape(
        target=table_identifier(target).as_string(conn),
        stage=table_identifier(stage).as_string(conn),
        key=tuple(key), values=tuple(values), scope=_scope_shape(scope),
        stamp=tuple((c, e.as_string(conn)) for c, e in (stamp or {}).items()),
        pin=tuple(pin or {}), null_safe=tuple(c for c in key if c in null_safe),
        order=tuple(insert_order))
    statements = _statements(shape)
    params = _params(scope, pin or {})
    if staged is None:
        row = conn.execute(statements.count).fetchone()
        staged = int(row[0]) if row else 0
    deleted = conn.execute(statements.delete, params).rowcount if statements.delete else 0
    updated = conn.execute(statements.update, params).rowcount if statements.update else 0
    inserted = conn.execute(statements.insert, params).rowcount
    return MergeCounts(inserted=inserted, updated=updated, deleted=deleted,
                       unchanged=staged - inserted - updated)


def table_identifier(table: Table) -> sql.Identifier:
    """`table` as an identifier; a str is split on its dots."""
    return table if isinstance(table, sql.Identifier) else sql.Identifier(*table.split("."))


# The statements depend only on names, so they are composed once per shape and reused (the
# prices loader merges hundreds of sessions with the same three statements); the values
# of a scope and of pins travel as parameters.
@dataclass(frozen=True)
class _Shape:
    target: str                       # rendered identifiers and stamp expressions
    stage: str
    key: tuple[str, ...]
    values: tuple[str, ...]
    scope: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None  # equal, exclude, staged
    stamp: tuple[tuple[str, str], ...]
    pin: tuple[str, ...]
    null_safe: tuple[str, ...]
    order: tuple[str, ...]


@dataclass(frozen=True)
class _Statements:
    count: str
    delete: str | None
    update: str | None
    insert: str


def _scope_shape(scope: Scope | None
                 ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
    return None if scope is None else (tuple(scope.equal), tuple(scope.exclude), scope.staged)


def _params(scope: Scope | None, pin: Mapping[str, object]) -> dict[str, object]:
    params = {f"pin{i}": v for i, v in enumerate(pin.values())}
    if scope is not None:
        params.update({f"eq{i}": v for i, v in enumerate(scope.equal.values())})
        params.update({f"ex{i}": list(v) for i, v in enumerate(scope.exclude.values())})
    return params


def _cols(alias: str | None, names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(alias, c) if alias else sql.Identifier(c)
                              for c in names)


def _and(terms: Sequence[sql.Composable]) -> sql.Composable:
    return sql.SQL(" AND ").join(terms) if terms else sql.SQL("true")


def _match(shape: _Shape) -> sql.Composable:
    """Staged row s is stored row t: equal keys (pinned ones against their value)."""
    terms: list[sql.Composable] = [
        sql.SQL("{} IS NOT DISTINCT FROM {}" if c in shape.null_safe else "{} = {}").format(
            sql.Identifier("t", c), sql.Identifier("s", c))
        for c in shape.key if c not in shape.pin]
    terms += [sql.SQL("{} = {}").format(sql.Identifier("t", c), sql.Placeholder(f"pin{i}"))
              for i, c in enumerate(shape.pin)]
    return _and(terms)


def _in_scope(shape: _Shape) -> sql.Composable:
    """Stored row t is in the scope."""
    assert shape.scope is not None
    equal, exclude, staged = shape.scope
    terms: list[sql.Composable] = [
        sql.SQL("{} = {}").format(sql.Identifier("t", c), sql.Placeholder(f"eq{i}"))
        for i, c in enumerate(equal)]
    terms += [sql.SQL("NOT ({} = ANY({}))").format(sql.Identifier("t", c),
                                                   sql.Placeholder(f"ex{i}"))
              for i, c in enumerate(exclude)]
    if staged:
        terms.append(sql.SQL("({}) IN (SELECT {} FROM {} s)").format(
            _cols("t", staged), _cols("s", staged), sql.SQL(shape.stage)))
    return _and(terms)


@lru_cache(maxsize=64)
def _statements(shape: _Shape) -> _Statements:
    dst, stage, match = sql.SQL(shape.target), sql.SQL(shape.stage), _match(shape)
    stamp = [(sql.Identifier(c), sql.SQL(expr)) for c, expr in shape.stamp]
    delete = update = None
    if shape.scope is not None:
        delete = sql.SQL("DELETE FROM {} t WHERE {} AND NOT EXISTS "
                         "(SELECT 1 FROM {} s WHERE {})").format(dst, _in_scope(shape), stage,
                                                                 match)
    if shape.values:
        sets = [sql.SQL("{} = {}").format(sql.Identifier(c), sql.Identifier("s", c))
                for c in shape.values]
        sets += [sql.SQL("{} = {}").format(c, expr) for c, expr in stamp]
        update = sql.SQL("UPDATE {} t SET {} FROM {} s WHERE {} "
                         "AND ({}) IS DISTINCT FROM ({})").format(
            dst, sql.SQL(", ").join(sets), stage, match, _cols("t", shape.values),
            _cols("s", shape.values))
    cols = [*shape.key, *shape.values]
    insert = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} s "
                     "WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE {})").format(
        dst, sql.SQL(", ").join([*map(sql.Identifier, cols), *(c for c, _ in stamp)]),
        sql.SQL(", ").join([_cols("s", cols), *(e for _, e in stamp)]), stage, dst, match)
    if shape.order:
        insert += sql.SQL(" ORDER BY {}").format(_cols("s", shape.order))
    count = sql.SQL("SELECT count(*) FROM {}").format(stage)
    return _Statements(count.as_string(), delete.as_string() if delete else None,
                       update.as_string() if update else None, insert.as_string())
