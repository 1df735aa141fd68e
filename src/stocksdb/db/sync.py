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
    parts = _Parts.build(target, stage, key, values, scope=scope, stamp=stamp or {},
                         pin=pin or {}, null_safe=null_safe)
    if staged is None:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(parts.stage)).fetchone()
        staged = int(row[0]) if row else 0
    deleted = (conn.execute(parts.delete(), parts.params).rowcount
               if scope is not None else 0)
    updated = conn.execute(parts.update(), parts.params).rowcount if values else 0
    inserted = conn.execute(parts.insert(insert_order), parts.params).rowcount
    return MergeCounts(inserted=inserted, updated=updated, deleted=deleted,
                       unchanged=staged - inserted - updated)


def table_identifier(table: Table) -> sql.Identifier:
    """`table` as an identifier; a str is split on its dots."""
    return table if isinstance(table, sql.Identifier) else sql.Identifier(*table.split("."))


def _cols(alias: str | None, names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(alias, c) if alias else sql.Identifier(c)
                              for c in names)


def _and(terms: Sequence[sql.Composable]) -> sql.Composable:
    return sql.SQL(" AND ").join(terms) if terms else sql.SQL("true")


@dataclass(frozen=True)
class _Parts:
    """The pieces of the three statements, composed once per merge."""

    target: sql.Identifier
    stage: sql.Identifier
    key: tuple[str, ...]
    values: tuple[str, ...]
    stamp: Mapping[str, sql.Composable]
    match: sql.Composable      # staged row s is stored row t (key, plus pins)
    in_scope: sql.Composable   # stored row t is in scope
    params: dict[str, object]

    @classmethod
    def build(cls, target: Table, stage: Table, key: Sequence[str], values: Sequence[str], *,
              scope: Scope | None, stamp: Mapping[str, sql.Composable],
              pin: Mapping[str, object], null_safe: Collection[str]) -> _Parts:
        scope = scope or Scope()
        params: dict[str, object] = {}
        match: list[sql.Composable] = [
            sql.SQL("{} IS NOT DISTINCT FROM {}" if c in null_safe else "{} = {}").format(
                sql.Identifier("t", c), sql.Identifier("s", c)) for c in key if c not in pin]
        for i, (col, value) in enumerate(pin.items()):
            params[f"pin{i}"] = value
            match.append(sql.SQL("{} = {}").format(sql.Identifier("t", col),
                                                   sql.Placeholder(f"pin{i}")))
        in_scope: list[sql.Composable] = []
        for i, (col, value) in enumerate(scope.equal.items()):
            params[f"eq{i}"] = value
            in_scope.append(sql.SQL("{} = {}").format(sql.Identifier("t", col),
                                                      sql.Placeholder(f"eq{i}")))
        for i, (col, excluded) in enumerate(scope.exclude.items()):
            params[f"ex{i}"] = list(excluded)
            in_scope.append(sql.SQL("NOT ({} = ANY({}))").format(sql.Identifier("t", col),
                                                                 sql.Placeholder(f"ex{i}")))
        stage_id = table_identifier(stage)
        if scope.staged:
            in_scope.append(sql.SQL("({}) IN (SELECT {} FROM {} s)").format(
                _cols("t", scope.staged), _cols("s", scope.staged), stage_id))
        return cls(table_identifier(target), stage_id, tuple(key), tuple(values), stamp,
                   _and(match), _and(in_scope), params)

    def delete(self) -> sql.Composed:
        return sql.SQL("DELETE FROM {dst} t WHERE {scope} AND NOT EXISTS "
                       "(SELECT 1 FROM {stage} s WHERE {match})").format(
            dst=self.target, scope=self.in_scope, stage=self.stage, match=self.match)

    def update(self) -> sql.Composed:
        sets = [sql.SQL("{} = {}").format(sql.Identifier(c), sql.Identifier("s", c))
                for c in self.values]
        sets += [sql.SQL("{} = {}").format(sql.Identifier(c), expr)
                 for c, expr in self.stamp.items()]
        return sql.SQL("UPDATE {dst} t SET {sets} FROM {stage} s WHERE {match} "
                       "AND ({t_vals}) IS DISTINCT FROM ({s_vals})").format(
            dst=self.target, sets=sql.SQL(", ").join(sets), stage=self.stage, match=self.match,
            t_vals=_cols("t", self.values), s_vals=_cols("s", self.values))

    def insert(self, order: Sequence[str]) -> sql.Composed:
        cols = [*self.key, *self.values]
        exprs: list[sql.Composable] = [sql.Identifier("s", c) for c in cols]
        exprs += list(self.stamp.values())
        query = sql.SQL("INSERT INTO {dst} ({cols}) SELECT {exprs} FROM {stage} s "
                        "WHERE NOT EXISTS (SELECT 1 FROM {dst} t WHERE {match})").format(
            dst=self.target, cols=_cols(None, [*cols, *self.stamp]),
            exprs=sql.SQL(", ").join(exprs), stage=self.stage, match=self.match)
        if order:
            query += sql.SQL(" ORDER BY {}").format(_cols("s", order))
        return query
