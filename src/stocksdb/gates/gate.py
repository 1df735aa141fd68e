"""Phase gates: a job's checks before (pre) and after (post) it runs, as its registry entry
declares them (jobs.registry).

Writes: ingestion.gate_results (every result of a run's gates).
`stocksdb run` refuses a job whose pre-gate fails (exit 3, nothing written); there is no option
to skip a gate. `stocksdb validate JOB` runs the pre-gate alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from stocksdb.gates import checks as c
from stocksdb.gates.base import GateCheck
from stocksdb.quality.result import CheckResult, Severity

if TYPE_CHECKING:
    from stocksdb.jobs.registry import Job

Check = GateCheck   # a check with its name and reason as data (gates.base)
Phase = Literal["pre", "post"]


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


def run_gate(conn: psycopg.Connection[Any], job: Job[Any], phase: Phase,
             ctx: c.GateContext | None = None) -> GateReport:
    """Run a job's pre or post checks (read-only)."""
    context = ctx or c.GateContext(job.name, method=job.defaults.get("method"))
    checks = job.pre_gate if phase == "pre" else job.post_gate
    with conn.transaction(force_rollback=True):
        return GateReport(job.name, phase, tuple(check(conn, context) for check in checks))


def record_gate(conn: psycopg.Connection[Any], run_id: int, report: GateReport) -> None:
    """Store every result of a gate phase with its run."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ingestion.gate_results (run_id, phase, check_name, reason_code, status,"
            " failed_count, examples, observed) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [(run_id, report.phase, r.check, r.reason, r.status.value, r.failed,
              Jsonb(r.as_dict()["examples"]), Jsonb(r.observed)) for r in report.results])
