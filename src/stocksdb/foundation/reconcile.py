"""Reconciling two answers for the same symbols: our warehouse's and a vendor's.

In:  two VendorFrames over one window, `ours` already on the same price basis as `theirs`
     (ops/reconcile.py brings the warehouse's raw bars there with our splits).
Out: a Reconciliation: the drift validator's findings per symbol (CrossSourceDriftValidator,
     ours the reference), one DriftRow per session whose closes differ by more than the warning
     tolerance, and `events` findings for dividends and splits only one side reports. Pure.
The relative difference of a session is (theirs - ours) / ours; its severity is judged on the
absolute value, as the drift validator does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from stocksdb.foundation.aggregator import AggregationInput, ProviderSnapshot
from stocksdb.foundation.base import Dividend, Split, SymbolEvents, VendorFrame
from stocksdb.foundation.calendar import bar_dates
from stocksdb.foundation.findings import (
    DataQualitySeverity,
    QualityFinding,
    highest_severity,
)
from stocksdb.foundation.validators import CrossSourceDriftValidator

WAREHOUSE = "warehouse"     # our side's provider name in findings
EVENTS_FINDING = "events"   # the validator name of a dividend or split only one side has
AMOUNT_TOLERANCE = 0.01     # relative: dividends within 1 % (or splits' ratios) are the same


@dataclass(frozen=True)
class DriftRow:
    """One session where the two closes differ by more than the warning tolerance."""

    symbol: str
    session: date
    ours: float
    theirs: float
    relative_difference: float          # (theirs - ours) / ours
    severity: DataQualitySeverity

    def as_json(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "session": self.session.isoformat(), "ours": self.ours,
                "theirs": self.theirs, "relative_difference": self.relative_difference,
                "severity": self.severity.value}


@dataclass(frozen=True)
class Reconciliation:
    """Findings (drift per symbol, events), the drifting sessions, and the worst severity."""

    vendor: str
    price_basis: str
    findings: tuple[QualityFinding, ...]
    rows: tuple[DriftRow, ...]

    @property
    def status(self) -> DataQualitySeverity:
        return highest_severity(self.findings)

    def as_json(self) -> dict[str, Any]:
        return {"vendor": self.vendor, "price_basis": self.price_basis,
                "status": self.status.value, "rows": [r.as_json() for r in self.rows],
                "findings": [f.as_json() for f in self.findings]}


def reconcile_frames(symbols: Sequence[str], start: date, end: date, ours: VendorFrame,
                     theirs: VendorFrame, *, tolerance: float = 0.01,
                     warn_tolerance: float | None = None) -> Reconciliation:
    """Compare `theirs` with `ours` (the reference) on the sessions both have, and their
    dividends and splits in start..end.

    Raises:
        InputError: tolerances out of order (CrossSourceDriftValidator).
    """
    validator = CrossSourceDriftValidator(tolerance, warn_tolerance)
    snapshots = (ProviderSnapshot(WAREHOUSE, 0, ours, len(ours.bars), None, 0.0),
                 ProviderSnapshot(theirs.vendor, 1, theirs, len(theirs.bars), None, 0.0))
    batch = AggregationInput(tuple(symbols), start, end, ours.bars, snapshots)
    findings = validator.validate(batch)
    rows: list[DriftRow] = []
    for symbol in symbols:
        if ours.price_basis == theirs.price_basis:
            rows += compute_drift_rows(symbol, ours.bars, theirs.bars, validator)
        findings += compare_events(symbol, theirs.vendor, ours.events.get(symbol),
                                   theirs.events.get(symbol), start=start, end=end)
    return Reconciliation(theirs.vendor, theirs.price_basis, tuple(findings), tuple(rows))


def compute_drift_rows(symbol: str, ours: pd.DataFrame, theirs: pd.DataFrame,
                       validator: CrossSourceDriftValidator) -> list[DriftRow]:
    """The sessions of `symbol` whose closes differ by more than `validator.warn_at`."""
    sides = [pd.DataFrame({"session": bar_dates(b.loc[b["symbol"] == symbol, "ts"]),
                           "close": b.loc[b["symbol"] == symbol, "close"]})
             for b in (ours, theirs)]
    both = sides[0].merge(sides[1], on="session", suffixes=("_ours", "_theirs"))
    both = both.assign(rel=(both["close_theirs"] - both["close_ours"]) / both["close_ours"])
    out = []
    above = both[both["rel"].abs() > validator.warn_at].sort_values("session")
    for r in above.to_dict("records"):
        rel = float(r["rel"])
        severity = (DataQualitySeverity.ERROR if abs(rel) > validator.tolerance
                    else DataQualitySeverity.WARNING)
        out.append(DriftRow(symbol, r["session"], float(r["close_ours"]),
                            float(r["close_theirs"]), round(rel, 8), severity))
    return out


def compare_events(symbol: str, vendor: str, ours: SymbolEvents | None,
                   theirs: SymbolEvents | None, *, start: date, end: date) -> list[QualityFinding]:
    """A `warning` per dividend or split in start..end that only one side reports (same
    ex-date and amount or ratio within AMOUNT_TOLERANCE). A side that reported no events for
    the symbol (None) is not compared: absent is not the same as none."""
    if ours is None or theirs is None:
        return []
    found = []
    for kind, mine, other in (("dividend", ours.dividends, theirs.dividends),
                              ("split", ours.splits, theirs.splits)):
        for side, events, against in ((WAREHOUSE, mine, other), (vendor, other, mine)):
            for event in events:
                if start <= event.ex_date <= end and not _matched(event, against):
                    found.append(_only_one_side(symbol, kind, event, side))
    return found


def _value(event: Dividend | Split) -> float:
    return event.amount if isinstance(event, Dividend) else event.ratio


def _matched(event: Dividend | Split, against: Sequence[Dividend | Split]) -> bool:
    return any(e.ex_date == event.ex_date
               and abs(_value(e) - _value(event)) <= AMOUNT_TOLERANCE * abs(_value(event))
               for e in against)


def _only_one_side(symbol: str, kind: str, event: Dividend | Split,
                   side: str) -> QualityFinding:
    what = "amount" if kind == "dividend" else "ratio"
    return QualityFinding(
        EVENTS_FINDING, DataQualitySeverity.WARNING, symbol,
        f"{symbol}: {kind} on {event.ex_date} ({what} {_value(event):g}) is reported only by "
        f"{side}", {"kind": kind, "ex_date": event.ex_date, what: _value(event),
                    "only_in": side})
