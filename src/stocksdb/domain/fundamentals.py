"""Quarterly revenue and diluted EPS from raw filing periods, point in time.

In:  `RawPeriod`s of one security (one filing's facts for one start/end period).
Out: `QuarterVersion`s (one per fiscal quarter and filed date at which what was known changed)
     and `YoyVersion`s (the same fiscal quarter a year earlier, as known at that filed date).
Rules (reference/formats.md section 7): a quarter is a duration of 80-100 days; periods are
keyed on start/end, never on fy/fp; Q4 = FY - 9-month YTD (else FY - Q1 - Q2 - Q3) as known
when the FY filing was filed, flagged derived (EPS also approximate); a reported quarter wins
over a derived one from its filed date on; YoY matches period ends one year apart +- 7 days.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

REVENUE_TAGS = ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax",
                "RevenueFromContractWithCustomerIncludingAssessedTax", "SalesRevenueNet")
EPS_TAGS = ("EarningsPerShareDiluted", "EarningsPerShareBasicAndDiluted")
TAXONOMY = "us-gaap"
# The unit each metric tag must be reported in; other units are rejected (unknown_unit).
METRIC_UNITS = {**dict.fromkeys(REVENUE_TAGS, "USD"), **dict.fromkeys(EPS_TAGS, "USD/shares")}
QUARTER_DAYS = (80, 100)
NINE_MONTH_DAYS = (250, 290)
YEAR_DAYS = (340, 390)
MATCH_DAYS = 7          # tolerance when matching period starts and ends


@dataclass(frozen=True)
class RawPeriod:
    """The facts one filing states for one period (instants have start == end)."""

    accession: str
    period_start: date
    period_end: date
    fiscal_year: int | None
    fiscal_period: str | None
    form: str
    filed_date: date
    payload: dict[str, Any] = field(hash=False, compare=False)   # {taxonomy: {tag: {unit: v}}}

    @property
    def payload_sha256(self) -> str:
        """sha256 of the canonical JSON of the payload (sorted keys, no spaces)."""
        return payload_sha256(self.payload)


@dataclass(frozen=True)
class Version:
    """One metric value of one period as stated (or derived) at one filed date."""

    start: date
    end: date
    filed: date
    accession: str
    value: Decimal
    derived: bool = False


@dataclass(frozen=True)
class QuarterVersion:
    """A fiscal quarter as known from `filed_date` on (a row of fundamentals_quarterly)."""

    period_start: date
    period_end: date
    filed_date: date
    fiscal_year: int | None
    fiscal_quarter: int | None
    revenue: Decimal | None
    eps_diluted: Decimal | None
    revenue_derived: bool
    eps_derived: bool
    eps_approximate: bool
    source_accession: str


@dataclass(frozen=True)
class YoyVersion:
    """Year-over-year change of a quarter version (a row of fundamentals_quarterly_yoy)."""

    period_end: date
    filed_date: date
    prior_period_end: date
    revenue_yoy: Decimal | None
    eps_diluted_yoy: Decimal | None


def payload_sha256(payload: dict[str, Any]) -> str:
    """sha256 hex digest of `payload` as canonical JSON (sorted keys, compact separators)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _days(start: date, end: date) -> int:
    return (end - start).days + 1


def _within(start: date, end: date, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= _days(start, end) <= bounds[1]


def _metric_value(payload: dict[str, Any], tags: Sequence[str]) -> Decimal | None:
    facts = payload.get(TAXONOMY, {})
    for tag in tags:
        value = facts.get(tag, {}).get(METRIC_UNITS[tag])
        if value is not None:
            return Decimal(str(value))
    return None


def compute_versions(periods: Iterable[RawPeriod], tags: Sequence[str]
                     ) -> dict[tuple[date, date], list[Version]]:
    """Every stated value of the metric per (start, end), in filing order."""
    out: dict[tuple[date, date], list[Version]] = {}
    for p in periods:
        value = _metric_value(p.payload, tags)
        if value is not None and p.period_start < p.period_end:
            out.setdefault((p.period_start, p.period_end), []).append(
                Version(p.period_start, p.period_end, p.filed_date, p.accession, value))
    for versions in out.values():
        versions.sort(key=lambda v: (v.filed, v.accession))
    return out


def _known(versions: Sequence[Version], on: date) -> Version | None:
    """The latest version filed on or before `on`."""
    i = bisect_right([v.filed for v in versions], on)
    return versions[i - 1] if i else None


def _find(series: dict[tuple[date, date], list[Version]], start: date, bounds: tuple[int, int],
          on: date) -> Version | None:
    """The known version of a period starting near `start` with a duration within bounds."""
    for (s, e), versions in sorted(series.items()):
        if abs((s - start).days) <= MATCH_DAYS and _within(s, e, bounds):
            known = _known(versions, on)
            if known is not None:
                return known
    return None


def _ytd_before_q4(series: dict[tuple[date, date], list[Version]], fy: Version
                   ) -> tuple[date, Decimal] | None:
    """(end, value) of the first three quarters as known when `fy` was filed."""
    nine = _find(series, fy.start, NINE_MONTH_DAYS, fy.filed)
    if nine is not None:
        return nine.end, nine.value
    total, start = Decimal(0), fy.start
    for _ in range(3):
        quarter = _find(series, start, QUARTER_DAYS, fy.filed)
        if quarter is None:
            return None
        total, start = total + quarter.value, quarter.end + timedelta(days=1)
    return start - timedelta(days=1), total


def compute_derived_q4(series: dict[tuple[date, date], list[Version]]) -> list[Version]:
    """Q4 = FY - first three quarters, one version per FY version (known when the FY is)."""
    out: list[Version] = []
    for (start, end), versions in series.items():
        if not _within(start, end, YEAR_DAYS):
            continue
        for fy in versions:
            ytd = _ytd_before_q4(series, fy)
            if ytd is None or not _within(ytd[0] + timedelta(days=1), end, QUARTER_DAYS):
                continue
            out.append(Version(ytd[0] + timedelta(days=1), end, fy.filed, fy.accession,
                               fy.value - ytd[1], derived=True))
    return out


def compute_quarter_timeline(series: dict[tuple[date, date], list[Version]]
                             ) -> dict[date, list[Version]]:
    """Per quarter end, the resolved version at each filed date where it changed: a reported
    quarter wins over a derived Q4 from its filed date on."""
    by_end: dict[date, list[Version]] = {}
    for (start, end), versions in series.items():
        if _within(start, end, QUARTER_DAYS):
            by_end.setdefault(end, []).extend(versions)
    for q4 in compute_derived_q4(series):
        by_end.setdefault(q4.end, []).append(q4)
    return {end: _resolve(versions) for end, versions in by_end.items()}


def _resolve(versions: list[Version]) -> list[Version]:
    reported = sorted((v for v in versions if not v.derived), key=lambda v: (v.filed, v.accession))
    derived = sorted((v for v in versions if v.derived), key=lambda v: (v.filed, v.accession))
    out: list[Version] = []
    for day in sorted({v.filed for v in versions}):
        current = _known(reported, day) or _known(derived, day)
        if current is not None and (not out or (out[-1].value, out[-1].derived)
                                    != (current.value, current.derived)):
            out.append(Version(current.start, current.end, day, current.accession,
                               current.value, current.derived))
    return out


def compute_fiscal_labels(periods: Iterable[RawPeriod]) -> list[date]:
    """Fiscal-year ends: the ends of every full-year duration, sorted."""
    return sorted({p.period_end for p in periods
                   if p.period_start < p.period_end and _within(p.period_start, p.period_end,
                                                                YEAR_DAYS)})


def fiscal_label(end: date, year_ends: Sequence[date]) -> tuple[int | None, int | None]:
    """(fiscal year, quarter) of a quarter ending on `end`; the fiscal year is named after the
    calendar year its last day falls in. Years past the known ends are extrapolated."""
    if not year_ends:
        return None, None
    anchor = min(year_ends, key=lambda y: abs((y - end).days))
    year_end = anchor
    while (year_end - end).days < -MATCH_DAYS:
        year_end = _add_years(year_end, 1)
    while (year_end - end).days > 365 - MATCH_DAYS:
        year_end = _add_years(year_end, -1)
    quarter = 4 - round((year_end - end).days / 91.3)
    return (year_end.year, quarter) if 1 <= quarter <= 4 else (None, None)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:                       # 29 February
        return day.replace(year=day.year + years, day=28)


def compute_quarters(periods: Sequence[RawPeriod]) -> list[QuarterVersion]:
    """All quarter versions of one security's raw periods, ordered by (period_end, filed)."""
    revenue = compute_quarter_timeline(compute_versions(periods, REVENUE_TAGS))
    eps = compute_quarter_timeline(compute_versions(periods, EPS_TAGS))
    year_ends = compute_fiscal_labels(periods)
    out: list[QuarterVersion] = []
    for end in sorted(set(revenue) | set(eps)):
        out += _merge_metrics(revenue.get(end, []), eps.get(end, []),
                              fiscal_label(end, year_ends))
    return out


def _merge_metrics(revenue: list[Version], eps: list[Version],
                   label: tuple[int | None, int | None]) -> list[QuarterVersion]:
    out: list[QuarterVersion] = []
    for day in sorted({v.filed for v in revenue} | {v.filed for v in eps}):
        rev, per_share = _known(revenue, day), _known(eps, day)
        anchor = max((v for v in (rev, per_share) if v is not None),
                     key=lambda v: (v.filed, v.accession))
        out.append(QuarterVersion(
            (rev or anchor).start, anchor.end, day, label[0], label[1],
            rev.value if rev else None, per_share.value if per_share else None,
            bool(rev and rev.derived), bool(per_share and per_share.derived),
            bool(per_share and per_share.derived), anchor.accession))
    return out


def compute_yoy(quarters: Sequence[QuarterVersion]) -> list[YoyVersion]:
    """YoY of every quarter version against the quarter ending one year earlier (+- 7 days),
    as known at the version's filed date; versions without such a prior quarter get none."""
    by_end: dict[date, list[QuarterVersion]] = {}
    for q in quarters:
        by_end.setdefault(q.period_end, []).append(q)
    out: list[YoyVersion] = []
    for q in quarters:
        target = _add_years(q.period_end, -1)
        ends = [e for e in by_end if abs((e - target).days) <= MATCH_DAYS]
        if not ends:
            continue
        prior_end = min(ends, key=lambda e: abs((e - target).days))
        known = [p for p in by_end[prior_end] if p.filed_date <= q.filed_date]
        if not known:
            continue
        prior = known[-1]
        out.append(YoyVersion(q.period_end, q.filed_date, prior_end,
                              _change(q.revenue, prior.revenue),
                              _change(q.eps_diluted, prior.eps_diluted)))
    return out


def _change(value: Decimal | None, prior: Decimal | None) -> Decimal | None:
    if value is None or prior is None or prior == 0:
        return None
    return value / prior - 1
