"""The checks of the phase gates: each reads the database and returns a CheckResult.

Reads: the schema ledger, securities, ticker_history, prices_daily, corporate_actions,
adjustment_factors_daily (and the SQL function adjustment_factors), fundamentals tables,
trading_sessions (the sessions the coverage checks judge, where it covers the run).
Never writes, never raises for bad data (a broken invariant is a result, not an exception).
Each check is a GateCheck (gates/base.py): its name and GateReason are data, known without a
database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from stocksdb.db.tables import count_rows
from stocksdb.domain.adjustments import AdjustmentMethod
from stocksdb.domain.fundamentals import MATCH_DAYS, QUARTER_DAYS
from stocksdb.domain.reasons import GateReason
from stocksdb.errors import DatabaseStateError
from stocksdb.gates.base import Found, GateCheck, gate_check
from stocksdb.gates.base import GateContext as GateContext  # where runner and CLI import it
from stocksdb.gates.sessions import judged_sessions
from stocksdb.quality.result import Severity

log = logging.getLogger("stocksdb.gates")

COVERAGE_WARN = 0.90   # like the seeds' CoverageValidator
COVERAGE_FAIL = 0.75
MIN_SESSIONS_FOR_COVERAGE = 20  # a per-security ratio over fewer sessions says little
MIN_UNIVERSE_FOR_COVERAGE = 20  # a per-date ratio over fewer securities says little


def _rows(conn: psycopg.Connection[Any], query: str, params: Any = None) -> list[Any]:
    return conn.execute(query, params).fetchall()


@gate_check("schema.latest_migration", GateReason.SCHEMA_NOT_LATEST)
def schema_is_latest(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """Every shipped migration is applied and unedited."""
    from stocksdb.db.migrate import require_latest

    try:
        require_latest(conn)
    except DatabaseStateError as exc:
        return Found(1, [str(exc)])
    return Found(0)


@gate_check("securities.non_empty", GateReason.NO_SECURITIES)
def securities_present(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """There is at least one security."""
    n = count_rows(conn, "stocks_research", "securities")
    return Found(0 if n else 1, ["securities is empty; run securities_master first"],
                 observed={"rows": n})


@gate_check("securities.figi_valid", GateReason.INVALID_FIGI)
def securities_figis_valid(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """Every composite FIGI is well formed (also a CHECK constraint; this proves it)."""
    bad = _rows(conn, "SELECT composite_figi FROM stocks_research.securities "
                      "WHERE NOT stocks_research.figi_is_valid(composite_figi) ORDER BY 1")
    return Found(len(bad), [b[0] for b in bad])


@gate_check("ticker_history.non_empty", GateReason.NO_TICKER_HISTORY)
def ticker_history_present(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """There is at least one ticker interval (prices cannot be resolved without one)."""
    n = count_rows(conn, "stocks_research", "ticker_history")
    return Found(0 if n else 1, ["ticker_history is empty; run ticker_history first"],
                 observed={"rows": n})


_OVERLAP = """
SELECT a.{key}, a.ticker, a.valid_from, b.ticker, b.valid_from
  FROM stocks_research.ticker_history a
  JOIN stocks_research.ticker_history b
    ON a.{key} = b.{key} AND (a.ticker, a.valid_from) < (b.ticker, b.valid_from)
   AND daterange(a.valid_from, a.valid_to) && daterange(b.valid_from, b.valid_to)
 ORDER BY 1, 2, 3
"""


@gate_check("ticker_history.no_overlaps", GateReason.TICKER_INTERVAL_OVERLAP)
def ticker_intervals_disjoint(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """No two intervals of one ticker overlap."""
    bad = _rows(conn, _OVERLAP.format(key="ticker"))
    return Found(len(bad), [(r[1], str(r[2]), str(r[4])) for r in bad])


@gate_check("ticker_history.one_ticker_at_a_time", GateReason.SECURITY_TICKER_OVERLAP)
def one_ticker_per_security(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """No security has two tickers on the same day."""
    bad = _rows(conn, _OVERLAP.format(key="security_id"))
    return Found(len(bad), [(r[0], r[1], r[3]) for r in bad])


# Distinct security_ids by a skip scan of the index that leads with security_id: one probe per
# security instead of reading every row (every table checked has such an index).
_DISTINCT_IDS = """
WITH RECURSIVE ids AS (
  (SELECT security_id FROM stocks_research.{table} ORDER BY security_id LIMIT 1)
  UNION ALL
  SELECT (SELECT t.security_id FROM stocks_research.{table} t
           WHERE t.security_id > ids.security_id ORDER BY t.security_id LIMIT 1)
    FROM ids WHERE ids.security_id IS NOT NULL)
SELECT security_id FROM ids WHERE security_id IS NOT NULL
"""


def no_orphans(table: str) -> GateCheck:
    """A check that every security_id of `table` resolves to a security."""
    def check(conn: psycopg.Connection[Any], _: GateContext) -> Found:
        used = {r[0] for r in _rows(conn, _DISTINCT_IDS.format(table=table))}
        known = {r[0] for r in _rows(conn, "SELECT security_id FROM stocks_research.securities")}
        bad = sorted(used - known)
        return Found(len(bad), bad)
    check.__doc__ = f"Every security_id in {table} is a security."
    return GateCheck(f"{table}.no_orphans", GateReason.ORPHAN_ROWS, check)


_RUN_COUNTS = """
SELECT security_id, trade_date, count(*) FROM stocks_research.prices_daily
 WHERE trade_date BETWEEN %s AND %s
 GROUP BY GROUPING SETS ((security_id), (trade_date))
"""


@dataclass(frozen=True)
class RunCounts:
    """Bars of a run's date range by security and by date (one scan, shared by checks).
    `span`: the first and last date they count, when a job counted them while writing
    (GateContext.cache; used only for the span the checks judge)."""

    by_security: dict[int, int]
    by_date: dict[date, int]
    span: tuple[date, date] | None = None


def judged(conn: psycopg.Connection[Any], ctx: GateContext) -> tuple[tuple[date, ...], str]:
    """The run's sessions the coverage checks judge, checked against trading_sessions where it
    covers them (gates/sessions.py), computed once per gate; and where they come from."""
    if "judged" not in ctx.cache:
        ctx.cache["judged"] = judged_sessions(conn, ctx)
    found: tuple[tuple[date, ...], str] = ctx.cache["judged"]
    return found


def run_counts(conn: psycopg.Connection[Any], ctx: GateContext) -> RunCounts:
    """Counts over the run's sessions, computed once per gate (or as the job counted them,
    when it counted the span judged)."""
    sessions, _ = judged(conn, ctx)
    facts = ctx.cache.get("run_counts")
    if isinstance(facts, RunCounts) and facts.span is not None:
        if sessions and facts.span == (min(sessions), max(sessions)):
            log.info("post-gate: bars counted as the run wrote them (no scan)")
        else:
            del ctx.cache["run_counts"]
    if "run_counts" not in ctx.cache:
        by_security: dict[int, int] = {}
        by_date: dict[date, int] = {}
        if sessions:
            for sid, day, n in _rows(conn, _RUN_COUNTS, (min(sessions), max(sessions))):
                if sid is not None:
                    by_security[sid] = n
                else:
                    by_date[day] = n
        ctx.cache["run_counts"] = RunCounts(by_security, by_date)
    counts: RunCounts = ctx.cache["run_counts"]
    return counts


def _lives(conn: psycopg.Connection[Any]) -> list[tuple[int, date, date]]:
    """(security, from, to) spans when a security had a ticker and was listed."""
    rows = _rows(conn, """
        SELECT th.security_id, greatest(th.valid_from, coalesce(s.list_date, th.valid_from)),
               least(coalesce(th.valid_to, '9999-12-31'::date),
                     coalesce(s.delist_date, '9999-12-31'::date))
          FROM stocks_research.ticker_history th
          JOIN stocks_research.securities s USING (security_id)""")
    return [(sid, lo, hi) for sid, lo, hi in rows if lo < hi]


def _positions(sessions: Any, days: list[date]) -> Any:
    import numpy as np

    return np.searchsorted(sessions, np.array(days, dtype="datetime64[D]"), side="left")


@gate_check("prices_daily.date_coverage", GateReason.LOW_DATE_COVERAGE,
            {"warn_below": COVERAGE_WARN, "fail_below": COVERAGE_FAIL,
             "min_securities": MIN_UNIVERSE_FOR_COVERAGE})
def date_coverage(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """Per session of the run: bars loaded / securities with a ticker that day
    (< 90% warn, < 75% fail); days with fewer than 20 such securities are not judged."""
    import numpy as np

    iv = _rows(conn, "SELECT valid_from, coalesce(valid_to, '9999-12-31'::date) "
                     "FROM stocks_research.ticker_history")
    starts = np.sort(np.array([a for a, _ in iv], dtype="datetime64[D]"))
    ends = np.sort(np.array([b for _, b in iv],
                            dtype="datetime64[D]"))
    sessions, origin = judged(conn, ctx)
    days = np.array(sorted(sessions), dtype="datetime64[D]")
    expected = np.searchsorted(starts, days, side="right") - np.searchsorted(ends, days,
                                                                             side="right")
    got = run_counts(conn, ctx).by_date
    ratios = [(d, got.get(d, 0) / e) for d, e in zip(sorted(sessions), expected.tolist(),
                                                      strict=True)
              if e >= MIN_UNIVERSE_FOR_COVERAGE]
    return _coverage([(str(d), r) for d, r in ratios], sessions=len(ratios),
                     sessions_from=origin)


@gate_check("prices_daily.security_coverage", GateReason.LOW_SECURITY_COVERAGE,
            {"warn_below": COVERAGE_WARN, "fail_below": COVERAGE_FAIL,
             "min_sessions": MIN_SESSIONS_FOR_COVERAGE})
def security_coverage(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """Per security over the run's sessions inside its listed life: bars / sessions
    (< 90% warn, < 75% fail); securities with fewer than 20 such sessions are not judged."""
    import numpy as np

    judged_days, origin = judged(conn, ctx)
    sessions = np.array(sorted(judged_days), dtype="datetime64[D]")
    lives = _lives(conn)
    far = date(9999, 12, 31)
    lo = _positions(sessions, [a for _, a, _ in lives])
    hi = _positions(sessions, [min(b, far) for _, _, b in lives])
    expected: dict[int, int] = {}
    for (sid, _, _), n in zip(lives, (hi - lo).tolist(), strict=True):
        expected[sid] = expected.get(sid, 0) + n
    got = run_counts(conn, ctx).by_security
    ratios = [(sid, got.get(sid, 0) / e) for sid, e in sorted(expected.items())
              if e >= MIN_SESSIONS_FOR_COVERAGE]
    return _coverage(ratios, securities=len(ratios), sessions_from=origin)


def _coverage(ratios: list[tuple[Any, float]], **observed: Any) -> Found:
    low = sorted(((k, round(r, 3)) for k, r in ratios if r < COVERAGE_WARN),
                 key=lambda kr: (kr[1], str(kr[0])))
    worst = min((r for _, r in ratios), default=1.0)
    severity = Severity.FAIL if worst < COVERAGE_FAIL else Severity.WARN
    return Found(len(low), low, severity, {"worst": round(worst, 4), **observed})


@gate_check("prices.false_ticks", GateReason.FALSE_TICK)
def false_ticks_flagged(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """The false ticks the run stored in ingestion.quality_findings (jobs.prices_ticks), as
    a warning: never a failure."""
    bad = _rows(conn, "SELECT subject FROM ingestion.quality_findings WHERE run_id = %s AND "
                      "check_name = 'prices.false_ticks' ORDER BY finding_id",
                (ctx.run_id,)) if ctx.run_id else []
    return Found(len(bad), [(s["ticker"], s["trade_date"], s["kind"]) for (s,) in bad],
                 Severity.WARN)


@gate_check("corporate_actions.split_ratio_positive", GateReason.NON_POSITIVE_RATIO)
def split_ratios_positive(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """Every split, reverse split and stock dividend has split_from > 0 and split_to > 0."""
    bad = _rows(conn, "SELECT security_id, ex_date, split_from, split_to "
                      "FROM stocks_research.corporate_actions "
                      "WHERE action_type IN ('split', 'reverse_split', 'stock_dividend') "
                      "AND NOT (split_from > 0 AND split_to > 0) ORDER BY 1, 2")
    return Found(len(bad), [(r[0], str(r[1]), r[2], r[3]) for r in bad])


_JUDGED = ("ex_date > (SELECT min(trade_date) FROM stocks_research.prices_daily)")


@gate_check("corporate_actions.dividend_has_previous_close", GateReason.MISSING_PREVIOUS_CLOSE)
def dividends_have_previous_close(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """Every cash/special dividend dated after the first loaded session has a previous close
    for its security (the crsp factor needs it)."""
    bad = _rows(conn, "SELECT security_id, ex_date, cash_amount FROM "
                      f"stocks_research.dividend_context_v WHERE prev_close IS NULL AND {_JUDGED}"
                      " ORDER BY 1, 2")
    return Found(len(bad), [(r[0], str(r[1]), r[2]) for r in bad])


@gate_check("corporate_actions.dividend_below_previous_close",
            GateReason.DIVIDEND_NOT_BELOW_CLOSE)
def dividends_below_previous_close(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """Every dividend is below the previous close (per post-split share on a split day)."""
    bad = _rows(conn, "SELECT security_id, ex_date, cash_amount, "
                      "prev_close * same_day_split_factor FROM stocks_research.dividend_context_v "
                      "WHERE cash_amount >= prev_close * same_day_split_factor ORDER BY 1, 2")
    return Found(len(bad), [(r[0], str(r[1]), r[2], r[3]) for r in bad])


@gate_check("corporate_actions.no_conflicting_duplicates", GateReason.CONFLICTING_DUPLICATE)
def no_conflicting_duplicates(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """The run found no two different values for one security, action type and ex-date."""
    bad = _rows(conn, "SELECT subject FROM ingestion.quality_findings WHERE run_id = %s AND "
                      "check_name = 'corporate_actions.no_conflicting_duplicates' "
                      "ORDER BY finding_id", (ctx.run_id,)) if ctx.run_id else []
    return Found(len(bad), [r[0] for r in bad])


@gate_check("prices_daily.non_empty", GateReason.NO_PRICES)
def prices_present(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """There is at least one bar."""
    row = _rows(conn, "SELECT EXISTS (SELECT 1 FROM stocks_research.prices_daily)")[0]
    return Found(0 if row[0] else 1, ["prices_daily is empty; run prices_daily first"])


@gate_check("corporate_actions.dividend_has_exdate_close", GateReason.MISSING_EXDATE_CLOSE)
def dividends_have_exdate_close(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """With method exdate_close, every dividend has a raw close on its ex-date."""
    if ctx.method != AdjustmentMethod.EXDATE_CLOSE:
        return Found(0, observed={"method": ctx.method})
    bad = _rows(conn, "SELECT security_id, ex_date, cash_amount FROM "
                      f"stocks_research.dividend_context_v WHERE ex_close IS NULL AND {_JUDGED}"
                      " ORDER BY 1, 2")
    return Found(len(bad), [(r[0], str(r[1]), r[2]) for r in bad],
                 observed={"method": ctx.method})


@gate_check("adjustment_factors_daily.recompute_identical",
            GateReason.FACTORS_NOT_REPRODUCIBLE)
def factors_recompute_identically(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """Recomputing the factors from the stored inputs (the SQL function the job stores from)
    gives exactly the stored factors, and every bar has its factor row."""
    bad = _rows(conn, """
        SELECT coalesce(f.security_id, a.security_id), coalesce(f.trade_date, a.trade_date)
          FROM stocks_research.adjustment_factors(%(method)s) f
          FULL JOIN (SELECT * FROM stocks_research.adjustment_factors_daily
                      WHERE method = %(method)s) a
            ON a.security_id = f.security_id AND a.trade_date = f.trade_date
         WHERE f.security_id IS NULL OR a.security_id IS NULL
            OR (f.price_factor, f.volume_factor, f.split_factor, f.dividend_factor)
               IS DISTINCT FROM (a.price_factor, a.volume_factor, a.split_factor,
                                 a.dividend_factor)
         ORDER BY 1, 2""", {"method": ctx.method_or_default})
    return Found(len(bad), [(r[0], str(r[1])) for r in bad], observed={"method": ctx.method})


JUMP_TOLERANCE = 1.5  # adjusted previous close beyond 1.5x the ex-day's adjusted range


@gate_check("adjustment_factors_daily.continuous_at_events", GateReason.ADJUSTED_JUMP_AT_EVENT,
            {"tolerance": JUMP_TOLERANCE})
def adjusted_continuous(conn: psycopg.Connection[Any], ctx: GateContext) -> Found:
    """At every event, the adjusted previous close lies within the ex-day's adjusted low..high
    widened 1.5x: a missing or wrong split adjustment shows as a jump."""
    bad = _rows(conn, """
        WITH ev AS (SELECT DISTINCT security_id, ex_date FROM stocks_research.corporate_actions)
        SELECT ev.security_id, ev.ex_date, prev.close * fp.price_factor AS adj_prev,
               ex.low * fx.price_factor AS adj_low, ex.high * fx.price_factor AS adj_high
          FROM ev
          JOIN stocks_research.prices_daily ex
            ON ex.security_id = ev.security_id AND ex.trade_date = ev.ex_date
          JOIN LATERAL (SELECT p.trade_date, p.close FROM stocks_research.prices_daily p
                         WHERE p.security_id = ev.security_id AND p.trade_date < ev.ex_date
                         ORDER BY p.trade_date DESC LIMIT 1) prev ON true
          JOIN stocks_research.adjustment_factors_daily fp
            ON fp.security_id = ev.security_id AND fp.trade_date = prev.trade_date
           AND fp.method = %(method)s
          JOIN stocks_research.adjustment_factors_daily fx
            ON fx.security_id = ev.security_id AND fx.trade_date = ev.ex_date
           AND fx.method = %(method)s
         WHERE prev.close * fp.price_factor > ex.high * fx.price_factor * %(tol)s
            OR prev.close * fp.price_factor < ex.low * fx.price_factor / %(tol)s
         ORDER BY 1, 2""", {"method": ctx.method_or_default, "tol": JUMP_TOLERANCE})
    return Found(len(bad), [(r[0], str(r[1]), round(r[2], 4), round(r[3], 4), round(r[4], 4))
                            for r in bad], observed={"method": ctx.method})


@gate_check("securities.with_cik", GateReason.NO_CIK)
def securities_with_cik(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """At least one security has a CIK (fundamentals are matched on it)."""
    (n,) = _rows(conn, "SELECT count(*) FROM stocks_research.securities "
                       "WHERE cik IS NOT NULL")[0]
    return Found(0 if n else 1, ["no security has a CIK; add ciks to securities"],
                 observed={"securities_with_cik": n})


@gate_check("fundamentals_quarterly_raw.non_empty", GateReason.NO_RAW_FUNDAMENTALS)
def fundamentals_raw_present(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """There are raw fundamentals rows to derive from."""
    row = _rows(conn, "SELECT EXISTS (SELECT 1 FROM stocks_research.fundamentals_quarterly_raw)")
    return Found(0 if row[0][0] else 1, ["run fundamentals_quarterly_raw first"])


_METRIC_TAGS = ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax",
                "RevenueFromContractWithCustomerIncludingAssessedTax", "SalesRevenueNet",
                "EarningsPerShareDiluted", "EarningsPerShareBasicAndDiluted")


@gate_check("fundamentals_quarterly.covers_raw_periods", GateReason.RAW_PERIOD_NOT_DERIVED,
            {"quarter_min_days": QUARTER_DAYS[0], "quarter_max_days": QUARTER_DAYS[1]})
def raw_quarters_derived(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """Every raw quarterly period (80-100 days) carrying revenue or diluted EPS has a derived
    quarter for its security and period end."""
    bad = _rows(conn, """
        SELECT DISTINCT r.security_id, r.period_end
          FROM stocks_research.fundamentals_quarterly_raw r
         WHERE r.period_end - r.period_start BETWEEN %(shortest)s AND %(longest)s
           AND coalesce(r.payload->'us-gaap', '{}'::jsonb) ?| %(tags)s
           AND NOT EXISTS (SELECT 1 FROM stocks_research.fundamentals_quarterly q
                            WHERE q.security_id = r.security_id AND q.period_end = r.period_end)
         ORDER BY 1, 2""", {"tags": list(_METRIC_TAGS), "shortest": QUARTER_DAYS[0],
                            "longest": QUARTER_DAYS[1]})
    return Found(len(bad), [(r[0], str(r[1])) for r in bad])


@gate_check("fundamentals_quarterly_yoy.present_where_prior_exists", GateReason.MISSING_YOY,
            {"prior_min_days": 365 - MATCH_DAYS, "prior_max_days": 365 + MATCH_DAYS})
def yoy_where_prior_exists(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """Every derived quarter whose same quarter a year earlier exists has a YoY row."""
    bad = _rows(conn, """
        SELECT DISTINCT q.security_id, q.period_end FROM stocks_research.fundamentals_quarterly q
         WHERE EXISTS (SELECT 1 FROM stocks_research.fundamentals_quarterly p
                        WHERE p.security_id = q.security_id
                          AND p.period_end BETWEEN q.period_end - %(far)s
                                               AND q.period_end - %(near)s)
           AND NOT EXISTS (SELECT 1 FROM stocks_research.fundamentals_quarterly_yoy y
                            WHERE y.security_id = q.security_id AND y.period_end = q.period_end)
         ORDER BY 1, 2""", {"far": 365 + MATCH_DAYS, "near": 365 - MATCH_DAYS})
    return Found(len(bad), [(r[0], str(r[1])) for r in bad])
