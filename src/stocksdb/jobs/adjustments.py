"""adjustment_factors_daily job: cumulative backward factors for every bar, one SQL pass.

Reads:  stocks_research.corporate_actions, prices_daily (through the SQL function
        stocks_research.adjustment_factors(method), migration 0011: the formula of SPEC
        section 6, shared with the post-gate that recomputes the stored factors)
Writes: stocks_research.adjustment_factors_daily (rows of the run's method)
The same inputs give bit-identical factors. Unchanged rows are not rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from stocksdb.db.lineage import Layer, Table
from stocksdb.db.partitions import ensure_year_partitions
from stocksdb.db.sync import Scope, sync_from_stage
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod
from stocksdb.gates import checks as c
from stocksdb.jobs.base import JobContext, Outcome
from stocksdb.jobs.registry import Job

# Every bar with its factors (1 where no later event): the formula lives in SQL (migration
# 0011), so the post-gate recomputes exactly what the job stores.
FACTORS = "SELECT * FROM stocks_research.adjustment_factors(%(method)s)"

_HAS_ROWS = ("SELECT EXISTS (SELECT 1 FROM stocks_research.adjustment_factors_daily "
             "WHERE method = %(method)s)")
_INSERT_ALL = f"""
INSERT INTO stocks_research.adjustment_factors_daily (security_id, trade_date, method,
    price_factor, volume_factor, split_factor, dividend_factor, run_id)
SELECT x.*, %(run_id)s FROM ({FACTORS}) x
"""
_BAR_SPAN = "SELECT min(trade_date), max(trade_date) FROM stocks_research.prices_daily"
_EMPTY = "SELECT NOT EXISTS (SELECT 1 FROM stocks_research.adjustment_factors_daily)"
_DROP_DATE_INDEX = "DROP INDEX stocks_research.adjustment_factors_daily_date_idx"
_DATE_INDEX = ("CREATE INDEX adjustment_factors_daily_date_idx ON "
               "stocks_research.adjustment_factors_daily (method, trade_date, security_id) "
               "INCLUDE (price_factor, volume_factor)")   # as migration 0016 made it
_STAGE = f"CREATE TEMP TABLE stage_factors ON COMMIT DROP AS {FACTORS}"
_TARGET = sql.Identifier("stocks_research", "adjustment_factors_daily")
_KEY = ("security_id", "trade_date", "method")
_FACTOR_COLS = ("price_factor", "volume_factor", "split_factor", "dividend_factor")


def write_factors(conn: psycopg.Connection[Any], method: str, run_id: int) -> dict[str, int]:
    """Compute and store the method's factors for every bar; returns counts. A run that
    changed a tenth of the method's rows or more analyzes the table before it returns."""
    counts = _write(conn, method, run_id)
    changed = counts["inserted"] + counts["updated"] + counts["deleted"]
    if changed and 10 * changed >= counts["inserted"] + counts["updated"] + counts["unchanged"]:
        # In the run's transaction: its readers (the post-gate, then everyone after the
        # commit) plan with statistics of these rows. Until autovacuum got to it, a partition
        # analyzed before its factors were written sent a security's year to a 200 ms plan
        # (2 ms with statistics; docs/performance.md).
        conn.execute("ANALYZE stocks_research.adjustment_factors_daily")
    return counts


def _write(conn: psycopg.Connection[Any], method: str, run_id: int) -> dict[str, int]:
    params = {"method": method, "run_id": run_id}
    span = conn.execute(_BAR_SPAN).fetchone()
    if span is not None and span[0] is not None:
        ensure_year_partitions(conn, "adjustment_factors_daily", span[0], span[1])
    row = conn.execute(_HAS_ROWS, params).fetchone()
    if not (row and row[0]):
        empty = conn.execute(_EMPTY).fetchone()
        if empty and empty[0]:
            # No factor of any method: the date index (migration 0016) is built once after
            # the insert instead of taking the rows one by one in another order than the
            # job writes them (1 year: 16.6 s against 26-34 s). Its DROP holds the table
            # (empty until this commits) until then; a rollback restores it.
            conn.execute(_DROP_DATE_INDEX)
            inserted = conn.execute(_INSERT_ALL, params).rowcount
            conn.execute(_DATE_INDEX)
        else:
            inserted = conn.execute(_INSERT_ALL, params).rowcount
        return {"inserted": inserted, "updated": 0, "deleted": 0, "unchanged": 0}
    conn.execute(_STAGE, params)
    counts = sync_from_stage(conn, _TARGET, _KEY, _FACTOR_COLS, Scope(equal={"method": method}),
                             stage="stage_factors", stamp={"run_id": sql.Literal(run_id)},
                             pin={"method": method})
    return counts.as_dict()


@dataclass(frozen=True, kw_only=True)
class FactorsOutcome(Outcome):
    """The counts, and the method the factors were computed with."""

    method: AdjustmentMethod

    def recorded(self) -> dict[str, Any]:
        return {"method": self.method.value}


def run_adjustment_factors(ctx: JobContext, _: None) -> Outcome:
    """The job body (the runner wraps it and its post-gate in one transaction)."""
    method = AdjustmentMethod(ctx.request.method or DEFAULT_METHOD)
    return FactorsOutcome(counts=write_factors(ctx.conn, method, ctx.run_id), method=method)


JOB = Job[None](
    name="adjustment_factors_daily",
    summary="Cumulative backward price and volume factors for every bar, per method, in one "
            "SQL pass.",
    run=run_adjustment_factors,
    pre_gate=(c.schema_is_latest, c.prices_present, c.split_ratios_positive,
              c.dividends_have_previous_close, c.dividends_below_previous_close,
              c.dividends_have_exdate_close, c.no_orphans("corporate_actions")),
    post_gate=(c.factors_recompute_identically, c.adjusted_continuous,
               c.no_orphans("adjustment_factors_daily")),
    atomic=True,
    depends_on=("prices_daily", "corporate_actions"),
    writes=("adjustment_factors_daily",),
    reads=("prices_daily", "corporate_actions"),
    options=frozenset({"method"}),
    defaults={"method": DEFAULT_METHOD},
    tables=(Table(
        "adjustment_factors_daily", layer=Layer.DERIVED,
        freshness="by 06:00 New York on the next session, recomputed after that session's "
                  "prices and corporate actions (it depends on both)",
        completeness="one row per bar of prices_daily and method, equal bit for bit to a "
                     "recomputation from the stored bars and events",
        retention="as long as its bar: each run synchronises the method's rows with the bars "
                  "(a bar gone takes its factor row); the other method's rows stay"),),
)
