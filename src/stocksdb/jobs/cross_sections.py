"""cross_sections job: each date's bars and factors kept as one row, for fast cross-sections.

Reads:  stocks_research.prices_daily, adjustment_factors_daily (under SHARE locks)
Writes: stocks_research.cross_sections (the copies of the dates that have none, for every
        method with factors; db.cross_sections)
A copy is deleted by the statement that changes its date's bars or factors (migration 0018's
triggers), so a run after a load rebuilds exactly the dates that load touched; a re-run with
nothing changed writes nothing.
"""

from __future__ import annotations

from typing import Any

import psycopg

from stocksdb.db.cross_sections import BAR_VALUES, FACTOR_VALUES, build_cross_sections
from stocksdb.db.lineage import Layer, Table
from stocksdb.domain.adjustments import AdjustmentMethod
from stocksdb.domain.reasons import GateReason
from stocksdb.gates import checks as c
from stocksdb.gates.base import Found, GateContext, gate_check
from stocksdb.jobs.base import JobContext, Outcome
from stocksdb.jobs.registry import Job

_BAR_BYTES = 8 * (1 + len(BAR_VALUES))
_FACTOR_BYTES = 8 * len(FACTOR_VALUES)
_MISMATCHED = f"""
SELECT c.trade_date, c.method, octet_length(c.bars) / {_BAR_BYTES}, p.n, c.factor_rows, f.n
  FROM stocks_research.cross_sections c
 CROSS JOIN LATERAL (SELECT count(*) AS n FROM stocks_research.prices_daily
                      WHERE trade_date = c.trade_date) p
 CROSS JOIN LATERAL (SELECT count(*) AS n FROM stocks_research.adjustment_factors_daily a
                       JOIN stocks_research.prices_daily b USING (security_id, trade_date)
                      WHERE a.trade_date = c.trade_date AND a.method = c.method) f
 WHERE c.run_id = %(run_id)s
   AND (octet_length(c.bars) <> p.n * {_BAR_BYTES} OR octet_length(c.transactions) <> p.n * 8
        OR octet_length(c.factors) <> p.n * {_FACTOR_BYTES} OR c.factor_rows <> f.n)
"""


@gate_check("cross_sections.match_rows", GateReason.CROSS_SECTION_MISMATCH)
def copies_match_rows(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """Each copy this run wrote holds as many bars as its date has rows, and as many factors
    as those bars have factor rows of its method."""
    bad = conn.execute(_MISMATCHED, {"run_id": ctx.run_id}).fetchall()
    return Found(len(bad), [f"{d} {m}: {b} bars for {pn} rows, {f} factors for {fn} bars with one"
                            for d, m, b, pn, f, fn in bad])


def run_cross_sections(ctx: JobContext, _: None) -> Outcome:
    """The job body (the runner wraps it and its post-gate in one transaction)."""
    # A method with no factors has no date to build (build_cross_sections asks per date).
    return Outcome(counts=build_cross_sections(ctx.conn, [m.value for m in AdjustmentMethod],
                                               ctx.run_id))


JOB = Job[None](
    name="cross_sections",
    summary="Each date's bars and factors as one row per adjustment method, so a date's "
            "cross-section reads in milliseconds; builds the dates that have no copy.",
    run=run_cross_sections,
    pre_gate=(c.schema_is_latest,),
    post_gate=(copies_match_rows,),
    atomic=True,
    depends_on=("adjustment_factors_daily",),
    writes=("cross_sections",),
    reads=("prices_daily", "adjustment_factors_daily"),
    tables=(Table(
        "cross_sections", layer=Layer.DERIVED,
        freshness="after each run of adjustment_factors_daily; until then a changed date has "
                  "no copy and is read from its rows",
        completeness="at most one row per date and method; a row holds every bar of its date "
                     "and every factor of its method that date, exactly as stored",
        retention="until a statement changes its date's bars or factors (a trigger deletes "
                  "it then)"),),
)
