"""What a gate check is: the run context it sees, what it found, its declared name and reason.

Pure data and a decorator; the checks themselves are in gates/checks.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg

from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod
from stocksdb.domain.reasons import GateReason
from stocksdb.quality.result import CheckResult, Severity, result


@dataclass(frozen=True)
class GateContext:
    """What a check may know about the run it guards."""

    job: str
    sessions: tuple[date, ...] = ()    # the sessions a prices_daily run covered
    source: str | None = None
    run_id: int | None = None
    method: AdjustmentMethod | None = None   # of an adjustment_factors_daily run
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def method_or_default(self) -> AdjustmentMethod:
        """The run's method, or the default one when the run named none."""
        return self.method if self.method is not None else DEFAULT_METHOD


@dataclass(frozen=True)
class Found:
    """What a check's body found; its GateCheck adds the name and reason code."""

    failed: int                                    # offending rows/keys (0: the check passes)
    examples: list[Any] = field(default_factory=list)
    severity: Severity = Severity.FAIL             # the status when failed > 0
    observed: dict[str, Any] = field(default_factory=dict)


CheckBody = Callable[[psycopg.Connection[Any], GateContext], Found]


@dataclass(frozen=True)
class GateCheck:
    """One check of a gate, called like a function: (conn, ctx) -> CheckResult. Its stable name,
    reason code and thresholds are attributes, so docs and tests list them without a database."""

    name: str                          # e.g. "prices_daily.no_orphans"
    reason: GateReason
    body: CheckBody = field(repr=False, compare=False)
    # The numbers the body judges by (the same constants it uses), e.g. {"warn_below": 0.9}.
    thresholds: Mapping[str, float] = field(default_factory=dict, compare=False)

    def __call__(self, conn: psycopg.Connection[Any], ctx: GateContext) -> CheckResult:
        found = self.body(conn, ctx)
        return result(self.name, self.reason, found.failed, found.examples,
                      severity=found.severity, **found.observed)


def gate_check(name: str, reason: GateReason, thresholds: Mapping[str, float] | None = None
               ) -> Callable[[CheckBody], GateCheck]:
    """Declare a check body under its stable name and reason code, with the thresholds it
    judges by (shown in docs/data_lineage.md)."""
    def declare(body: CheckBody) -> GateCheck:
        return GateCheck(name, reason, body, dict(thresholds or {}))
    return declare
