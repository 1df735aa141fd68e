"""Check results as data (never exceptions): name, reason code, severity, counts, examples."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from stocksdb.domain.reasons import GateReason

# When a gate runs: before its job writes anything (pre) or after it (post).
Phase = Literal["pre", "post"]


class Severity(StrEnum):
    """Outcome of one check; a gate refuses when any check fails."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    """What one check found."""

    check: str                                   # stable name, e.g. "prices_daily.no_orphans"
    reason: GateReason                           # stable code, documented in docs/checks.md
    status: Severity
    failed: int = 0                              # offending rows/keys
    examples: tuple[Any, ...] = ()               # at most 5 offending keys
    observed: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "reason": self.reason.value, "status": self.status.value,
                "failed": self.failed, "examples": [list(e) if isinstance(e, tuple) else e
                                                    for e in self.examples],
                "observed": self.observed}


def result(check: str, reason: GateReason, failed: int, examples: list[Any], *,
           severity: Severity = Severity.FAIL, **observed: Any) -> CheckResult:
    """PASS when nothing failed, else `severity`, with at most five examples."""
    if failed == 0:
        return CheckResult(check, reason, Severity.PASS, 0, (), dict(observed))
    return CheckResult(check, reason, severity, failed, tuple(examples[:5]), dict(observed))
