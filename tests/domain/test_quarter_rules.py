"""Quarter derivation rules on small literal filings (expected values computed by hand)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from stocksdb.domain.fundamentals import (
    RawPeriod,
    compute_quarters,
    compute_yoy,
    fiscal_label,
    payload_sha256,
)


def make_period(start: str, end: str, filed: str, revenue: float | None = None,
                eps: float | None = None, accn: str = "a", tag: str = "Revenues") -> RawPeriod:
    """One filing's facts for one period; only the metrics under study."""
    facts: dict[str, Any] = {}
    if revenue is not None:
        facts[tag] = {"USD": revenue}
    if eps is not None:
        facts["EarningsPerShareDiluted"] = {"USD/shares": eps}
    return RawPeriod(accn, date.fromisoformat(start), date.fromisoformat(end), None, None,
                     "10-Q", date.fromisoformat(filed), {"us-gaap": facts})


YEAR = [make_period("2023-01-01", "2023-03-31", "2023-05-01", 10, 1.0, "q1"),
        make_period("2023-04-01", "2023-06-30", "2023-08-01", 20, 2.0, "q2"),
        make_period("2023-01-01", "2023-06-30", "2023-08-01", 30, 3.0, "q2"),
        make_period("2023-07-01", "2023-09-30", "2023-11-01", 30, 3.0, "q3"),
        make_period("2023-01-01", "2023-09-30", "2023-11-01", 60, 6.0, "q3"),
        make_period("2023-01-01", "2023-12-31", "2024-02-01", 100, 9.5, "fy")]


def test_ytd_facts_are_not_quarters_and_q4_is_fy_minus_nine_months() -> None:
    """Four quarters: Q4 = 100 - 60 = 40 (EPS 9.5 - 6.0 = 3.5, approximate), known 2024-02-01."""
    got: list[tuple[object, ...]] = [
        (str(q.period_start), str(q.period_end), q.revenue, q.revenue_derived, q.eps_diluted,
         q.eps_approximate, q.fiscal_quarter) for q in compute_quarters(YEAR)]
    assert got == [("2023-01-01", "2023-03-31", 10, False, Decimal("1.0"), False, 1),
                   ("2023-04-01", "2023-06-30", 20, False, Decimal("2.0"), False, 2),
                   ("2023-07-01", "2023-09-30", 30, False, Decimal("3.0"), False, 3),
                   ("2023-10-01", "2023-12-31", 40, True, Decimal("3.5"), True, 4)]
    assert compute_quarters(YEAR)[-1].filed_date == date(2024, 2, 1)


def test_q4_falls_back_to_fy_minus_three_quarters() -> None:
    """Without a 9-month YTD: 100 - 10 - 20 - 30 = 40."""
    year = [p for p in YEAR if (p.period_end - p.period_start).days < 100 or
            p.accession == "fy"]
    assert compute_quarters(year)[-1].revenue == 40


def test_reported_quarter_wins_over_derived_from_its_filed_date() -> None:
    """A later filing reporting Q4 = 41 replaces the derived 40 from 2025-02-01 on."""
    later = make_period("2023-10-01", "2023-12-31", "2025-02-01", 41, None, "fy2")
    q4 = [q for q in compute_quarters([*YEAR, later]) if q.period_end == date(2023, 12, 31)]
    got: list[tuple[object, ...]] = [(str(q.filed_date), q.revenue, q.revenue_derived,
                                      q.eps_derived) for q in q4]
    assert got == \
        [("2024-02-01", 40, True, True), ("2025-02-01", 41, False, True)]


def test_tag_priority_prefers_revenues() -> None:
    """Revenues wins over RevenueFromContract... in the same filing and period."""
    p = make_period("2023-01-01", "2023-03-31", "2023-05-01", 10)
    p.payload["us-gaap"]["RevenueFromContractWithCustomerExcludingAssessedTax"] = {"USD": 7}
    assert compute_quarters([p])[0].revenue == 10


def test_yoy_matches_period_ends_a_few_days_apart() -> None:
    """52/53-week quarters ending 2023-04-01 and 2024-03-30 match; 12/10 - 1 = 0.2."""
    quarters = compute_quarters([make_period("2023-01-01", "2023-04-01", "2023-05-01", 10),
                                 make_period("2023-12-31", "2024-03-30", "2024-05-01", 12)])
    [yoy] = compute_yoy(quarters)
    assert (yoy.prior_period_end, yoy.revenue_yoy) == (date(2023, 4, 1), Decimal("0.2"))


def test_fiscal_label_for_january_year_ends() -> None:
    """Year ending 2023-01-31 is fiscal 2023; 2022-04-30 is its Q1; later years extrapolate."""
    ends = [date(2022, 1, 31), date(2023, 1, 31)]
    assert fiscal_label(date(2022, 4, 30), ends) == (2023, 1)
    assert fiscal_label(date(2023, 1, 31), ends) == (2023, 4)
    assert fiscal_label(date(2024, 10, 31), ends) == (2025, 3)
    assert fiscal_label(date(2024, 10, 31), []) == (None, None)


def test_payload_digest_ignores_key_order() -> None:
    """Canonical JSON: sorted keys give one digest."""
    assert payload_sha256({"a": 1, "b": {"y": 2, "x": 1}}) == \
        payload_sha256({"b": {"x": 1, "y": 2}, "a": 1})
