"""Phase gates: a named list of checks per job, before (pre) and after (post) it runs.

Writes: ingestion.gate_results (every result of a run's gates).
`stocksdb run` refuses a job whose pre-gate fails (exit 3, nothing written); there is no option
to skip a gate. `stocksdb validate JOB` runs the pre-gate alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stocksdb.gates import checks as c
from stocksdb.quality.result import CheckResult, Severity

Check = Callable[[psycopg.Connection[Any], c.GateContext], CheckResult]


@dataclass(frozen=True)
class Gate:
    """The checks guarding one job."""

    job: str
    pre: tuple[Check, ...]
    post: tuple[Check, ...]


GATES: dict[str, Gate] = {
    "securities_master": Gate(
        "securities_master",
        pre=(c.schema_is_latest,),
        post=(c.securities_present, c.securities_figis_valid)),
    "ticker_history": Gate(
        "ticker_history",
        pre=(c.schema_is_latest, c.securities_present),
        post=(c.ticker_intervals_disjoint, c.one_ticker_per_security,
              c.no_orphans("ticker_history"))),
    "prices_daily": Gate(
        "prices_daily",
        pre=(c.schema_is_latest, c.securities_present, c.ticker_history_present,
             c.ticker_intervals_disjoint, c.one_ticker_per_security),
        post=(c.no_orphans("prices_daily"), c.date_coverage, c.security_coverage)),
    "corporate_actions": Gate(
        "corporate_actions",
        pre=(c.schema_is_latest, c.securities_present, c.ticker_history_present),
        post=(c.no_conflicting_duplicates, c.split_ratios_positive,
              c.dividends_have_previous_close, c.dividends_below_previous_close,
              c.no_orphans("corporate_actions"))),
    "adjustment_factors_daily": Gate(
        "adjustment_factors_daily",
        pre=(c.schema_is_latest, c.prices_present, c.split_ratios_positive,
             c.dividends_have_previous_close, c.dividends_below_previous_close,
             c.dividends_have_exdate_close, c.no_orphans("corporate_actions")),
        post=(c.factors_recompute_identically, c.adjusted_continuous,
              c.no_orphans("adjustment_factors_daily"))),
    "fundamentals_quarterly_raw": Gate(
        "fundamentals_quarterly_raw",
        pre=(c.schema_is_latest, c.securities_present, c.securities_with_cik),
        post=(c.no_orphans("fundamentals_quarterly_raw"),)),
    "fundamentals_derived": Gate(
        "fundamentals_derived",
        pre=(c.schema_is_latest, c.fundamentals_raw_present),
        post=(c.raw_quarters_derived, c.yoy_where_prior_exists,
              c.no_orphans("fundamentals_quarterly"))),
}


@dataclass(frozen=True)
class GateReport:
    """Results of one phase of one job's gate."""

    job: str
    phase: str
    results: tuple[CheckResult, ...]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status is Severity.FAIL]

    @property
    def passed(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        """One line per failed check: name, reason, count, examples (the E4 recipe)."""
        lines = [f"  - {r.check} [{r.reason}]: {r.failed} failing, e.g. {list(r.examples[:3])}"
                 for r in self.failed]
        return (f"{self.phase}-gate of {self.job!r}: {len(self.failed)} of {len(self.results)} "
                "checks failed\n" + "\n".join(lines))


def run_gate(conn: psycopg.Connection[Any], job: str, phase: str,
             ctx: c.GateContext | None = None) -> GateReport:
    """Run a job's pre or post checks (read-only)."""
    gate = GATES[job]
    context = ctx or c.GateContext(job)
    checks = gate.pre if phase == "pre" else gate.post
    with conn.transaction(force_rollback=True):
        return GateReport(job, phase, tuple(check(conn, context) for check in checks))


def record_gate(conn: psycopg.Connection[Any], run_id: int, report: GateReport) -> None:
    """Store every result of a gate phase with its run."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ingestion.gate_results (run_id, phase, check_name, reason_code, status,"
            " failed_count, examples, observed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(run_id, report.phase, r.check, r.reason, r.status.value, r.failed,
              Jsonb(r.as_dict()["examples"]), Jsonb(r.observed)) for r in report.results])
