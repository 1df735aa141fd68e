"""adjustment_factors_daily job: cumulative backward factors for every bar, one SQL pass.

Reads:  stocks_research.corporate_actions, prices_daily
Writes: stocks_research.adjustment_factors_daily (rows of the run's method)
SPEC section 6. For a security and date t the price factor is the product over its events with
ex_date > t of: split_from / split_to for splits (volume factor: the inverse), and for cash
dividends D on one ex-date either `crsp`: 1 - sum(D) / (C_prev * s), where C_prev is the previous
raw close and s the product of same-day split factors (a same-day dividend is per post-split
share), or `exdate_close`: C_ex / (C_ex + sum(D)), C_ex the raw close on the ex-date.
Products use the `product` aggregate (exact multiplication in ex-date order), so the same inputs
give bit-identical factors. Unchanged rows are not rewritten.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from stocksdb.db.sync import Scope, sync_from_stage
from stocksdb.jobs.base import JobReport

JOB = "adjustment_factors_daily"
METHODS = ("crsp", "exdate_close")

# Factor intervals per security: bars with prev_ex <= trade_date < ex_date get (cs, cd).
FACTOR_INTERVALS = """
WITH ev AS (
  SELECT security_id, ex_date,
         coalesce(stocks_research.product(split_from / split_to ORDER BY action_id)
                  FILTER (WHERE action_type IN ('split', 'reverse_split', 'stock_dividend')), 1)
             AS s,
         coalesce(sum(cash_amount)
                  FILTER (WHERE action_type IN ('cash_dividend', 'special_dividend')), 0) AS div
    FROM stocks_research.corporate_actions GROUP BY security_id, ex_date),
priced AS (
  SELECT ev.*, prev.close AS c_prev, ex.close AS c_ex
    FROM ev
    LEFT JOIN LATERAL (SELECT p.close FROM stocks_research.prices_daily p
                        WHERE p.security_id = ev.security_id AND p.trade_date < ev.ex_date
                        ORDER BY p.trade_date DESC LIMIT 1) prev ON true
    LEFT JOIN stocks_research.prices_daily ex
           ON ex.security_id = ev.security_id AND ex.trade_date = ev.ex_date),
f AS (
  SELECT security_id, ex_date, s,
         CASE WHEN div = 0 THEN 1.0
              WHEN %(method)s = 'crsp' THEN 1.0 - div / (c_prev * s)
              ELSE c_ex / (c_ex + div) END AS d
    FROM priced)
SELECT security_id, ex_date,
       lag(ex_date) OVER (PARTITION BY security_id ORDER BY ex_date) AS prev_ex,
       stocks_research.product(s) OVER later AS cs,
       stocks_research.product(d) OVER later AS cd
  FROM f
WINDOW later AS (PARTITION BY security_id ORDER BY ex_date DESC ROWS UNBOUNDED PRECEDING)
"""

# Every bar with its factors (1 where no later event).
FACTORS = f"""
WITH iv AS ({FACTOR_INTERVALS})
SELECT p.security_id, p.trade_date, %(method)s::text AS method,
       coalesce(iv.cs * iv.cd, 1.0) AS price_factor, coalesce(1.0 / iv.cs, 1.0) AS volume_factor,
       coalesce(iv.cs, 1.0) AS split_factor, coalesce(iv.cd, 1.0) AS dividend_factor
  FROM stocks_research.prices_daily p
  LEFT JOIN iv ON iv.security_id = p.security_id AND p.trade_date < iv.ex_date
              AND (iv.prev_ex IS NULL OR p.trade_date >= iv.prev_ex)
"""

_HAS_ROWS = ("SELECT EXISTS (SELECT 1 FROM stocks_research.adjustment_factors_daily "
             "WHERE method = %(method)s)")
_INSERT_ALL = f"""
INSERT INTO stocks_research.adjustment_factors_daily (security_id, trade_date, method,
    price_factor, volume_factor, split_factor, dividend_factor, run_id)
SELECT x.*, %(run_id)s FROM ({FACTORS}) x
"""
_STAGE = f"CREATE TEMP TABLE stage_factors ON COMMIT DROP AS {FACTORS}"
_TARGET = sql.Identifier("stocks_research", "adjustment_factors_daily")
_KEY = ("security_id", "trade_date", "method")
_FACTOR_COLS = ("price_factor", "volume_factor", "split_factor", "dividend_factor")


def write_factors(conn: psycopg.Connection[Any], method: str, run_id: int) -> dict[str, int]:
    """Compute and store the method's factors for every bar; returns counts."""
    params = {"method": method, "run_id": run_id}
    row = conn.execute(_HAS_ROWS, params).fetchone()
    if not (row and row[0]):
        inserted = conn.execute(_INSERT_ALL, params).rowcount
        return {"inserted": inserted, "updated": 0, "deleted": 0, "unchanged": 0}
    conn.execute(_STAGE, params)
    counts = sync_from_stage(conn, _TARGET, _KEY, _FACTOR_COLS, Scope(equal={"method": method}),
                             stage="stage_factors", stamp={"run_id": sql.Literal(run_id)},
                             pin={"method": method})
    return counts.as_dict()


def run_adjustment_factors(conn: psycopg.Connection[Any], method: str,
                           report: JobReport) -> JobReport:
    """The job body (the runner wraps it and its post-gate in one transaction)."""
    report.details["method"] = method
    report.counts.update(write_factors(conn, method, report.run_id))
    return report
