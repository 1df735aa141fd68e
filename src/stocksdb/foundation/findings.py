"""Quality findings of the multi-source aggregator, as data (never exceptions).

In:  what a validator (foundation/validators.py) or the aggregator itself observed.
Out: `QualityFinding(validator, severity, symbol, message, metrics)`; the worst severity of a
     result is its status (`highest_severity`). Findings of every severity are kept, `ok` ones
     too: their metrics say what was measured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class DataQualitySeverity(StrEnum):
    """How bad a finding is: `ok` (measured, fine), `warning` (look at it), `error` (do not
    use the data as it is)."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for ok, 1 for warning, 2 for error (for max())."""
        return _RANK[self]


_RANK = {DataQualitySeverity.OK: 0, DataQualitySeverity.WARNING: 1, DataQualitySeverity.ERROR: 2}


@dataclass(frozen=True)
class QualityFinding:
    """What one validator found for one symbol (or for the whole request: symbol None)."""

    validator: str                    # "coverage", "staleness", "drift", "fetch", "stitch"
    severity: DataQualitySeverity
    symbol: str | None
    message: str
    metrics: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates and timestamps as ISO strings)."""
        return {"validator": self.validator, "severity": self.severity.value,
                "symbol": self.symbol, "message": self.message,
                "metrics": _json_ready(dict(self.metrics))}


def highest_severity(findings: Iterable[QualityFinding]) -> DataQualitySeverity:
    """The worst severity among `findings`; `ok` when there are none."""
    return max((f.severity for f in findings), key=lambda s: s.rank,
               default=DataQualitySeverity.OK)


def _json_ready(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
