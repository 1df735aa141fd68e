"""Reconciling two answers (foundation/reconcile.py): drift per session, one-sided events."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from stocksdb.foundation.base import Dividend, SymbolEvents, VendorFrame, canonical_bars
from stocksdb.foundation.findings import DataQualitySeverity
from stocksdb.foundation.reconcile import (
    EVENTS_FINDING,
    WAREHOUSE,
    DriftRow,
    reconcile_frames,
)

YAHOO = Path(__file__).resolve().parents[1] / "resources" / "vendors" / "yahoo"


def read_yfinance_csv(name: str, vendor: str) -> VendorFrame:
    """A yfinance CSV as a split-adjusted frame of SAND, its Dividends column as events."""
    raw = pd.read_csv(YAHOO / name)
    ts = pd.to_datetime(raw["Datetime"], utc=True)
    bars = canonical_bars(pd.DataFrame({
        "ts": ts, "symbol": "SAND", "open": raw["Open"], "high": raw["High"],
        "low": raw["Low"], "close": raw["Close"], "volume": raw["Volume"], "vendor": vendor}))
    days = ts.dt.tz_convert("America/New_York").dt.date
    dividends = tuple(Dividend(d, float(a))
                      for d, a in zip(days, raw["Dividends"], strict=True) if a > 0)
    return VendorFrame(vendor, "split_adjusted", bars, {"SAND": SymbolEvents(dividends, ())})


def test_the_duplicated_sand_dividend_is_a_finding() -> None:
    """Yahoo's raw SAND file vs yfinance's repaired one: the closes agree on every session,
    and the 2024-01-12 dividend (0.015, the duplicate of 2024-01-16's) is reported only by the
    raw file (Dividends column, line 511 of SAND-1d-bad-div.csv; 0.0 in the fixed file)."""
    fixed = read_yfinance_csv("SAND-1d-bad-div-fixed.csv", WAREHOUSE)
    delivered = read_yfinance_csv("SAND-1d-bad-div.csv", "yahoo")
    result = reconcile_frames(["SAND"], date(2022, 1, 3), date(2024, 8, 21), fixed, delivered)

    assert result.rows == ()
    drift = [f for f in result.findings if f.validator == "drift"]
    assert [(f.severity, f.metrics["shared"]) for f in drift] == [(DataQualitySeverity.OK, 662)]
    events = [f for f in result.findings if f.validator == EVENTS_FINDING]
    assert [(f.symbol, f.metrics["kind"], f.metrics["ex_date"], f.metrics["amount"],
             f.metrics["only_in"]) for f in events] == [
        ("SAND", "dividend", date(2024, 1, 12), 0.015, "yahoo")]
    assert result.status is DataQualitySeverity.WARNING


def _frame(vendor: str, closes: list[float]) -> VendorFrame:
    ts = pd.date_range("2024-03-04 14:30", periods=len(closes), freq="B", tz="UTC")
    bars = canonical_bars(pd.DataFrame({"ts": ts, "symbol": "ABC", "open": closes,
                                        "high": closes, "low": closes, "close": closes,
                                        "vendor": vendor}))
    return VendorFrame(vendor, "raw", bars)


def test_drift_rows_name_each_session_with_both_closes() -> None:
    """A 2 % and a 0.5 % difference, tolerance 1 % and warning at 0.4 %: one error row on
    2024-03-05, one warning row on 2024-03-07; events are not compared (none reported)."""
    ours = _frame(WAREHOUSE, [100.0, 50.0, 20.0, 10.0])
    theirs = _frame("massive", [100.0, 51.0, 20.0, 10.05])
    result = reconcile_frames(["ABC"], date(2024, 3, 4), date(2024, 3, 7), ours, theirs,
                              warn_tolerance=0.004)
    assert result.rows == (
        DriftRow("ABC", date(2024, 3, 5), 50.0, 51.0, 0.02, DataQualitySeverity.ERROR),
        DriftRow("ABC", date(2024, 3, 7), 10.0, 10.05, 0.005, DataQualitySeverity.WARNING))
    assert result.status is DataQualitySeverity.ERROR
    assert [f.validator for f in result.findings] == ["drift"]


def test_every_reconcile_code_is_documented() -> None:
    """docs/quality.md names the `events` validator and each check and reason code that
    `stocksdb reconcile` stores."""
    from stocksdb.ops.reconcile import (
        CLOSE_DRIFT,
        DRIFT_CHECK,
        EVENT_ONE_SIDE,
        EVENTS_CHECK,
        NOT_COMPARED,
    )

    text = (Path(__file__).resolve().parents[2] / "docs" / "quality.md").read_text()
    names = [EVENTS_FINDING, WAREHOUSE, DRIFT_CHECK, EVENTS_CHECK, CLOSE_DRIFT,
             NOT_COMPARED, EVENT_ONE_SIDE]
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"document these in docs/quality.md: {missing}"
