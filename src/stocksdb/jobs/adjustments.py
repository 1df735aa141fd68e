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

from dataclasses import dataclass
from typing import Any

import psycopg

from stocksdb.gates import checks as c
from stocksdb.jobs.base import JobContext, Outcome
from stocksdb.jobs.registry import Job

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
_DELETE = """
DELETE FROM stocks_research.adjustment_factors_daily a WHERE a.method = %(method)s
   AND NOT EXISTS (SELECT 1 FROM stage_factors s
                    WHERE s.security_id = a.security_id AND s.trade_date = a.trade_date)
"""
_UPDATE = """
UPDATE stocks_research.adjustment_factors_daily a
   SET price_factor = s.price_factor, volume_factor = s.volume_factor,
       split_factor = s.split_factor, dividend_factor = s.dividend_factor, run_id = %(run_id)s
  FROM stage_factors s
 WHERE a.method = %(method)s AND a.security_id = s.security_id AND a.trade_date = s.trade_date
   AND (a.price_factor, a.volume_factor, a.split_factor, a.dividend_factor) IS DISTINCT FROM
       (s.price_factor, s.volume_factor, s.split_factor, s.dividend_factor)
"""
_INSERT_NEW = """
INSERT INTO stocks_research.adjustment_factors_daily (security_id, trade_date, method,
    price_factor, volume_factor, split_factor, dividend_factor, run_id)
SELECT s.*, %(run_id)s FROM stage_factors s
 WHERE NOT EXISTS (SELECT 1 FROM stocks_research.adjustment_factors_daily a
                    WHERE a.method = %(method)s AND a.security_id = s.security_id
                      AND a.trade_date = s.trade_date)
"""


def write_factors(conn: psycopg.Connection[Any], method: str, run_id: int) -> dict[str, int]:
    """Compute and store the method's factors for every bar; returns counts."""
    params = {"method": method, "run_id": run_id}
    row = conn.execute(_HAS_ROWS, params).fetchone()
    if not (row and row[0]):
        inserted = conn.execute(_INSERT_ALL, params).rowcount
        return {"inserted": inserted, "updated": 0, "deleted": 0, "unchanged": 0}
    conn.execute(_STAGE, params)
    total = conn.execute("SELECT count(*) FROM stage_factors").fetchone()
    deleted = conn.execute(_DELETE, params).rowcount
    updated = conn.execute(_UPDATE, params).rowcount
    inserted = conn.execute(_INSERT_NEW, params).rowcount
    n = int(total[0]) if total else 0
    return {"inserted": inserted, "updated": updated, "deleted": deleted,
            "unchanged": n - inserted - updated}


@dataclass(frozen=True, kw_only=True)
class FactorsOutcome(Outcome):
    """The counts, and the method the factors were computed with."""

    method: str

    def recorded(self) -> dict[str, Any]:
        return {"method": self.method}


def run_adjustment_factors(ctx: JobContext, _: None) -> Outcome:
    """The job body (the runner wraps it and its post-gate in one transaction)."""
    method = ctx.request.method or "crsp"
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
    defaults={"method": "crsp"},
)
