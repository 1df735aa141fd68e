"""`stocksdb validate JOB`: run a job's pre-gate and show every check."""

from __future__ import annotations

import click

from stocksdb.cli import CliState, pass_state
from stocksdb.cli.options import adjustment_method_option, echo_report, format_option
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod


@click.command()
@click.argument("job")
@adjustment_method_option(
    default=None,
    help=f"Adjustment method to check for (adjustment_factors_daily; default {DEFAULT_METHOD}).")
@format_option(json_alias=True)
@pass_state
def validate(state: CliState, job: str, method: AdjustmentMethod | None, fmt: str) -> int:
    """Run JOB's pre-gate (read-only). Exit 0 when no check fails, 3 when one does. CSV: one
    row per check."""
    from stocksdb.db.connection import connect
    from stocksdb.gates.gate import run_gate
    from stocksdb.jobs.registry import get_job

    entry = get_job(job)
    with connect(state.dsn()) as conn:
        context = entry.gate_context(method=method)
        report = run_gate(conn, entry.pre_gate, "pre", context)
    results = [r.as_dict() for r in report.results]
    echo_report(fmt, document={"job": job, "phase": "pre", "passed": report.passed,
                               "results": results},
                rows=results, columns=["check", "status", "failed", "reason", "examples"],
                render=lambda: _render(report))
    return 0 if report.passed else 3


def _render(report: object) -> None:
    from stocksdb.cli.options import cell_text, echo_table, plain_value
    from stocksdb.gates.gate import GateReport

    assert isinstance(report, GateReport)
    colour = {"pass": "green", "warn": "yellow", "fail": "red"}
    rows = [[r.check, f"[{colour[r.status.value]}]{r.status.value}[/]", str(r.failed),
             r.reason, cell_text(plain_value(list(r.examples[:3])))] for r in report.results]
    echo_table(["check", "status", "failed", "reason", "examples"], rows,
               wrap=[False, False, False, False, True], right=[False, False, True, False, False],
               title=f"pre-gate of {report.job}", markup=True)
