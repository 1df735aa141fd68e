"""Phase gates: a job's checks before (pre) and after (post) it runs, as its registry entry
declares them (jobs.registry).

Writes: ingestion.gate_results (every result of a run's gates).
`stocksdb run` refuses a job whose pre-gate fails (exit 3, nothing written); there is no option
to skip a gate. `stocksdb validate JOB` runs the pre-gate alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from stocksdb.gates import checks as c
from stocksdb.gates.base import GateCheck
from stocksdb.quality.result import CheckResult, Phase, Severity

Check = GateCheck   # a check with its name and reason as data (gates.base)
__all__ = ["Check", "GateReport", "Phase", "record_gate", "run_gate"]


@dataclass(frozen=True)
class GateReport:
    """Results of one phase of one job's gate."""

    job: str
    phase: Phase
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


def run_gate(conn: psycopg.Connection[Any], checks: Sequence[Check], phase: Phase,
             ctx: c.GateContext) -> GateReport:
    """Run the checks of one phase of `ctx.job`'s gate (read-only, rolled back)."""
    with conn.transaction(force_rollback=True):
        return GateReport(ctx.job, phase, tuple(check(conn, ctx) for check in checks))


def record_gate(conn: psycopg.Connection[Any], run_id: int, report: GateReport) -> None:
    """Store every result of a gate phase with its run."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ingestion.gate_results (run_id, phase, check_name, reason_code, status,"
            " failed_count, examples, observed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(run_id, report.phase, r.check, r.reason, r.status.value, r.failed,
              Jsonb(r.as_dict()["examples"]), Jsonb(r.observed)) for r in report.results])
