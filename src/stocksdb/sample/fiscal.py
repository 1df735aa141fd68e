"""Fiscal calendars and filing timetables of synthetic SEC filers.

In:  a fiscal year `fy` (named by the calendar year in which it ends) and the month in which
     fiscal years end (12 = December; 1 = January, like US retailers).
Out: quarter and year-to-date periods (SEC style: `start` and `end` both inclusive), the
     10-Q / 10-K filings of that year with their filing dates, the periods each filing
     reports, and the SEC `frame` label of a period.

Like real filers: three 10-Qs (Q2 and Q3 also report 6- and 9-month year-to-date figures),
a 10-K for the whole year and no Q4 10-Q, each with the same period of the prior year.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

TEN_Q_DAYS = 40     # a 10-Q is filed this many days after its quarter ends
TEN_K_DAYS = 60     # a 10-K is filed this many days after the fiscal year ends


@dataclass(frozen=True)
class Period:
    """A reporting period, `start` and `end` inclusive (as in SEC companyfacts)."""

    start: date
    end: date


@dataclass(frozen=True)
class Filing:
    """One periodic report: `quarter` 1-3 for a 10-Q, 4 for the 10-K."""

    form: str
    fy: int
    fp: str
    quarter: int
    filed: date


@dataclass(frozen=True)
class Span:
    """Quarters `first`..`last` of fiscal year `fy`: one quarter, a year-to-date or the year."""

    fy: int
    first: int
    last: int


def quarter_end(fy: int, quarter: int, fye_month: int) -> date:
    """Last day of fiscal quarter `quarter` (1-4) of fiscal year `fy`."""
    months = fy * 12 + (fye_month - 1) - 3 * (4 - quarter)
    year, month = divmod(months, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def span_period(span: Span, fye_month: int) -> Period:
    """The dates a span of quarters covers."""
    before = quarter_end(span.fy, span.first - 1, fye_month) if span.first > 1 else (
        quarter_end(span.fy - 1, 4, fye_month)
    )
    return Period(before + timedelta(days=1), quarter_end(span.fy, span.last, fye_month))


def year_filings(fy: int, fye_month: int) -> list[Filing]:
    """The three 10-Qs and the 10-K of fiscal year `fy`, in filing order."""
    filings = [
        Filing("10-Q", fy, f"Q{q}", q, _weekday(quarter_end(fy, q, fye_month), TEN_Q_DAYS))
        for q in (1, 2, 3)
    ]
    filings.append(Filing("10-K", fy, "FY", 4, _weekday(quarter_end(fy, 4, fye_month),
                                                          TEN_K_DAYS)))
    return filings


def reported_spans(filing: Filing) -> list[Span]:
    """Spans a filing reports: its quarter or year, year-to-date, and the prior-year twins."""
    q, fy = filing.quarter, filing.fy
    if q == 4:
        return [Span(fy, 1, 4), Span(fy - 1, 1, 4)]
    spans = [Span(fy, q, q), Span(fy - 1, q, q)]
    if q > 1:
        spans += [Span(fy, 1, q), Span(fy - 1, 1, q)]
    return spans


def frame_label(period: Period) -> str | None:
    """SEC frame of a quarter ('CY2024Q1') or year ('CY2024') by its midpoint; else None."""
    days = (period.end - period.start).days + 1
    middle = period.start + timedelta(days=days // 2)
    if 80 <= days <= 100:
        return f"CY{middle.year}Q{(middle.month - 1) // 3 + 1}"
    if 350 <= days <= 380:
        return f"CY{middle.year}"
    return None


def _weekday(day: date, after: int) -> date:
    """The first weekday at least `after` days after `day`."""
    filed = day + timedelta(days=after)
    while filed.weekday() >= 5:
        filed += timedelta(days=1)
    return filed
