"""The sample's macro folder: FRED answers as FRED would give them on the sample's last day.

In:  the sample's first and last dates.
Out: under macro/ (docs/macro.md):
       observations/<ID>.json  all-vintages answers (realtime_start=1776-07-04) of GDP,
                               CPIAUCSL and FEDFUNDS, periods from a year before the start
       series/<ID>.json        GET /fred/series answers
       release_dates.json      GET /fred/releases/dates for start..end, with no-data dates
     and the manifest's `macro` case: a revised GDP quarter (both vintages) and the quarter
     that is "." in every vintage, as GDP's 1946 quarters are at FRED.

No randomness: values are simple functions of the period, so any seed writes the same macro
folder. Publication lags are round numbers of days after the period ends (GDP: advance +30,
second +60, third +90 days; CPI +12; FEDFUNDS +1), moved on to the Monday when they fall on
a weekend. GDP's second estimate revises the advance
one and the third repeats it, so FRED's merging of equal consecutive vintages shows too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from stocksdb.domain.macro import REALTIME_FIRST, REALTIME_LAST, Vintage, compute_vintages
from stocksdb.sample.writer import write_json

MACRO = Path("macro")
# FRED stamps last_updated in Central time ("2020-03-26 08:10:46-05").
_CENTRAL = ZoneInfo("America/Chicago")

# (release date, value or None) of the period with index k starting on `period`.
Releases = Callable[[int, date], list[tuple[date, float | None]]]


@dataclass(frozen=True)
class MacroSpec:
    """One sample series: FRED's metadata and how its periods are released."""

    series_id: str
    title: str
    frequency: str               # FRED's frequency; "Quarterly" or "Monthly"
    units: str
    seasonal_adjustment: str
    release_id: int
    release_name: str
    decimals: int
    releases: Releases


def _period_end(period: date, months: int) -> date:
    year, month = divmod(period.month - 1 + months, 12)
    return date(period.year + year, month + 1, 1) - timedelta(days=1)


def _weekday(day: date, days_later: int) -> date:
    """`days_later` days after `day`, moved on to a Monday when that is a weekend."""
    out = day + timedelta(days=days_later)
    return out + timedelta(days=max(0, 7 - out.weekday()) if out.weekday() >= 5 else 0)


def _gdp(k: int, period: date) -> list[tuple[date, float | None]]:
    end = _period_end(period, 3)
    advance = None if k == 0 else 26000.0 + 310.5 * k
    second = None if advance is None else advance + 12.25
    return [(_weekday(end, 30), advance), (_weekday(end, 60), second),
            (_weekday(end, 90), second)]


def _cpi(k: int, period: date) -> list[tuple[date, float | None]]:
    return [(_weekday(_period_end(period, 1), 12), 300.0 + 0.75 * k)]


def _fedfunds(_: int, period: date) -> list[tuple[date, float | None]]:
    return [(_weekday(_period_end(period, 1), 1), 5.33)]


SPECS = (
    MacroSpec("GDP", "Gross Domestic Product", "Quarterly", "Billions of Dollars",
              "Seasonally Adjusted Annual Rate", 53, "Gross Domestic Product", 3, _gdp),
    MacroSpec("CPIAUCSL", "Consumer Price Index for All Urban Consumers: All Items in U.S. "
              "City Average", "Monthly", "Index 1982-1984=100", "Seasonally Adjusted", 10,
              "Consumer Price Index", 3, _cpi),
    MacroSpec("FEDFUNDS", "Federal Funds Effective Rate", "Monthly", "Percent",
              "Not Seasonally Adjusted", 18, "H.15 Selected Interest Rates", 2, _fedfunds),
)


def _periods(spec: MacroSpec, first: date, last: date) -> list[date]:
    """Period starts from the one holding `first` whose first release is on or before
    `last`."""
    step = 3 if spec.frequency == "Quarterly" else 1
    month = (first.month - 1) // step * step + 1
    period = date(first.year, month, 1)
    out: list[date] = []
    while spec.releases(len(out), period)[0][0] <= last:
        out.append(period)
        period = _period_end(period, step) + timedelta(days=1)
    return out


def series_vintages(spec: MacroSpec, start: date, end: date) -> tuple[list[Vintage],
                                                                      list[date]]:
    """Every vintage known on `end` of the periods from a year before `start`, and the days
    the series was released."""
    rows: list[Vintage] = []
    days: list[date] = []
    for k, period in enumerate(_periods(spec, start - timedelta(days=365), end)):
        known = [(day, value) for day, value in spec.releases(k, period) if day <= end]
        rows += compute_vintages(period, known)
        days += [day for day, _ in known]
    return rows, days


def _text(value: float | None, decimals: int) -> str:
    return "." if value is None else f"{value:.{decimals}f}"


def observations_answer(spec: MacroSpec, rows: list[Vintage]) -> dict[str, Any]:
    """FRED's all-vintages answer for the rows."""
    return {"realtime_start": REALTIME_FIRST.isoformat(),
            "realtime_end": REALTIME_LAST.isoformat(),
            "observation_start": "1600-01-01", "observation_end": "9999-12-31",
            "units": "lin", "output_type": 1, "file_type": "json",
            "order_by": "observation_date", "sort_order": "asc", "count": len(rows),
            "offset": 0, "limit": 100000,
            "observations": [{"realtime_start": v.realtime_start.isoformat(),
                              "realtime_end": v.realtime_end.isoformat(),
                              "date": v.obs_date.isoformat(),
                              "value": _text(v.value, spec.decimals)} for v in rows]}


def series_answer(spec: MacroSpec, rows: list[Vintage], end: date) -> dict[str, Any]:
    """FRED's GET /fred/series answer on `end`."""
    updated = datetime.combine(max(v.realtime_start for v in rows), time(7, 31), _CENTRAL)
    offset = updated.utcoffset()
    assert offset is not None
    stamp = f"{updated:%Y-%m-%d %H:%M:%S}{int(offset.total_seconds() // 3600):+03d}"
    return {"realtime_start": end.isoformat(), "realtime_end": end.isoformat(), "seriess": [{
        "id": spec.series_id, "realtime_start": end.isoformat(), "realtime_end": end.isoformat(),
        "title": spec.title, "observation_start": rows[0].obs_date.isoformat(),
        "observation_end": rows[-1].obs_date.isoformat(), "frequency": spec.frequency,
        "frequency_short": spec.frequency[0], "units": spec.units, "units_short": spec.units,
        "seasonal_adjustment": spec.seasonal_adjustment,
        "seasonal_adjustment_short": "SA" if spec.seasonal_adjustment.startswith("Seas")
        else "NSA", "last_updated": stamp, "popularity": 1,
        "notes": "Synthetic series of the stocksdb sample; not FRED data."}]}


def release_dates_answer(dates: list[tuple[date, int, str]], start: date,
                         end: date) -> dict[str, Any]:
    """FRED's releases/dates answer for start..end (sorted, one row per release and date)."""
    rows = sorted({(d, i, n) for d, i, n in dates if start <= d <= end})
    return {"realtime_start": start.isoformat(), "realtime_end": end.isoformat(),
            "order_by": "release_date", "sort_order": "asc", "count": len(rows), "offset": 0,
            "limit": 1000, "release_dates": [{"release_id": i, "release_name": n,
                                              "date": d.isoformat()} for d, i, n in rows]}


def write_macro(root: Path, start: date, end: date) -> tuple[int, dict[str, Any]]:
    """Write macro/ under `root`; returns the number of files and the manifest case."""
    dates: list[tuple[date, int, str]] = []
    case: dict[str, Any] = {"series": [s.series_id for s in SPECS]}
    for spec in SPECS:
        rows, days = series_vintages(spec, start, end)
        write_json(root / MACRO / "observations" / f"{spec.series_id}.json",
                   observations_answer(spec, rows))
        write_json(root / MACRO / "series" / f"{spec.series_id}.json",
                   series_answer(spec, rows, end))
        dates += [(day, spec.release_id, spec.release_name) for day in days]
        if spec.series_id == "GDP":
            case.update(_gdp_case(rows))
    write_json(root / MACRO / "release_dates.json", release_dates_answer(dates, start, end))
    return 2 * len(SPECS) + 1, case


def _gdp_case(rows: list[Vintage]) -> dict[str, Any]:
    """The first revised GDP quarter (its two vintages) and the quarter that is "."."""
    def row(v: Vintage) -> dict[str, Any]:
        return {"realtime_start": v.realtime_start.isoformat(),
                "realtime_end": v.realtime_end.isoformat(), "value": v.value}

    dots = [v for v in rows if v.value is None]
    revised = next(v for v in rows if v.value is not None and v.realtime_end != REALTIME_LAST)
    later = next(v for v in rows if v.obs_date == revised.obs_date
                 and v.realtime_start > revised.realtime_start)
    return {"missing": {"series_id": "GDP", "date": dots[0].obs_date.isoformat(),
                        **row(dots[0])},
            "revised": {"series_id": "GDP", "date": revised.obs_date.isoformat(),
                        "first": row(revised), "revised": row(later)}}
