"""SEC companyfacts documents of the synthetic filers.

In:  the `Universe` (which companies file, their CIKs and names), a numpy Generator and the
     last date of the range (no filing is dated after it).
Out: one `{"cik", "entityName", "facts": {"dei": ..., "us-gaap": ...}}` document per company,
     with revenue (`RevenueFromContractWithCustomerExcludingAssessedTax`, USD), diluted EPS
     (`EarningsPerShareDiluted`, USD/shares) and shares outstanding (dei), as filed in 10-Qs
     and 10-Ks with prior-year comparatives; plus the restatement and January-year cases.

Every figure is "as known at the filing": one quarter of one company is revised from a later
filing on, so the same period carries two values under two accession numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from stocksdb.sample.fiscal import (
    Filing,
    Period,
    Span,
    frame_label,
    reported_spans,
    span_period,
    year_filings,
)
from stocksdb.sample.universe import Universe

REVENUE_TAG = "RevenueFromContractWithCustomerExcludingAssessedTax"
EPS_TAG = "EarningsPerShareDiluted"
SHARES_TAG = "EntityCommonStockSharesOutstanding"
LABELS = {
    REVENUE_TAG: ("Revenue from Contract with Customer, Excluding Assessed Tax",
                  "Amount of revenue from satisfaction of performance obligation."),
    EPS_TAG: ("Earnings Per Share, Diluted",
              "Amount of net income (loss) per outstanding share of common stock."),
    SHARES_TAG: ("Entity Common Stock, Shares Outstanding",
                 "Number of shares of common stock outstanding at the latest date."),
}
OTHER_YEAR_ENDS = (12, 12, 12, 12, 12, 12, 9, 6)   # fiscal year end months, drawn in turn
RESTATEMENT_FACTOR = 0.96                          # the revised quarter is 4% lower
YEARS_BEFORE_START = 2                             # history begins this many years earlier


@dataclass(frozen=True)
class Restatement:
    """Quarter `quarter` of `fy` is reported x `factor` in filings from `effective` on."""

    fy: int
    quarter: int
    factor: float
    effective: date


@dataclass(frozen=True)
class CompanyModel:
    """The true business of one filer; arrays are indexed [fy - first_fy, quarter - 1]."""

    cik: int
    name: str
    fye_month: int
    first_fy: int
    revenue: np.ndarray        # quarterly revenue, USD
    net_income: np.ndarray     # quarterly net income, USD
    shares: np.ndarray         # diluted shares per fiscal year
    restatement: Restatement | None = None

    def span_values(self, span: Span, filed: date) -> tuple[int, float]:
        """(revenue, diluted EPS) of a span as a filing made on `filed` reports them."""
        row = span.fy - self.first_fy
        quarters = slice(span.first - 1, span.last)
        revenue = self.revenue[row, quarters].copy()
        r = self.restatement
        if r is not None and r.fy == span.fy and span.first <= r.quarter <= span.last and (
            filed >= r.effective
        ):
            revenue[r.quarter - span.first] *= r.factor
        eps = self.net_income[row, quarters].sum() / self.shares[row]
        return int(round(revenue.sum(), -3)), round(float(eps), 2) + 0.0  # no -0.0


def build_models(
    rng: np.random.Generator, universe: Universe, first_fy: int, last_fy: int
) -> list[CompanyModel]:
    """One model per filing company; the January filer and the restated one included."""
    scenario = universe.scenario
    models = []
    for k, security in enumerate(scenario.fundamentals):
        cik = universe.cik[security]
        assert cik is not None  # fundamentals companies are common stocks, which have CIKs
        fye = 1 if security == scenario.fiscal_january else OTHER_YEAR_ENDS[k % 8]
        model = _draw_model(rng, cik, universe.name[security], fye=fye, years=(first_fy, last_fy))
        if security == scenario.restated:
            model = _with_restatement(model)
        models.append(model)
    return models


def _draw_model(
    rng: np.random.Generator, cik: int, name: str, *, fye: int, years: tuple[int, int]
) -> CompanyModel:
    """Revenue with growth, seasonality and noise; margins around a company level."""
    first_fy, n_years = years[0], years[1] - years[0] + 1
    base = np.exp(rng.uniform(np.log(5e7), np.log(2e10)))
    growth = rng.uniform(-0.05, 0.15)
    season = rng.uniform(0.85, 1.15, size=4)
    t = np.arange(n_years)[:, None] + np.arange(4)[None, :] / 4
    noise = rng.uniform(0.95, 1.05, size=(n_years, 4))
    revenue = base * (1 + growth) ** t * season * noise
    margin = rng.uniform(-0.05, 0.25) + rng.normal(0, 0.03, size=(n_years, 4))
    revenue_per_share = rng.uniform(5.0, 120.0)     # yearly revenue per diluted share, USD
    shares = 4 * base / revenue_per_share * (1 + 0.01 * np.arange(n_years))
    return CompanyModel(cik, name, fye, first_fy, np.round(revenue, -3),
                        np.round(revenue * margin, -3), np.round(shares))


def _with_restatement(model: CompanyModel) -> CompanyModel:
    """Revise Q1 of the first reported year from the next year's Q1 10-Q on."""
    fy = model.first_fy + 1
    effective = year_filings(fy + 1, model.fye_month)[0].filed
    restatement = Restatement(fy, 1, RESTATEMENT_FACTOR, effective)
    return CompanyModel(model.cik, model.name, model.fye_month, model.first_fy, model.revenue,
                        model.net_income, model.shares, restatement)


def restatement_case(model: CompanyModel, document: dict[str, Any]) -> dict[str, Any]:
    """Where the restated quarter sits in `document`: its period and both reported values."""
    r = model.restatement
    if r is None:
        raise ValueError(f"company {model.cik} has no restatement")
    period = span_period(Span(r.fy, r.quarter, r.quarter), model.fye_month)
    facts = document["facts"]["us-gaap"][REVENUE_TAG]["units"]["USD"]
    same = [f for f in facts if (f["start"], f["end"]) == (period.start.isoformat(),
                                                          period.end.isoformat())]
    original = min(same, key=lambda f: f["filed"])
    restated = min((f for f in same if f["val"] != original["val"]), key=lambda f: f["filed"])
    return {
        "cik": f"{model.cik:010d}", "tag": REVENUE_TAG, "unit": "USD",
        "start": period.start.isoformat(), "end": period.end.isoformat(),
        "original_val": original["val"], "original_accn": original["accn"],
        "original_filed": original["filed"], "restated_val": restated["val"],
        "restated_accn": restated["accn"], "restated_filed": restated["filed"],
    }


def company_filings(model: CompanyModel, last_filed: date) -> list[Filing]:
    """Every filing from the second modelled year on, up to `last_filed`."""
    filings: list[Filing] = []
    for fy in range(model.first_fy + 1, model.first_fy + len(model.shares)):
        filings += [f for f in year_filings(fy, model.fye_month) if f.filed <= last_filed]
    return filings


def accession(model: CompanyModel, filing: Filing, serial: int) -> str:
    """An accession number shaped like the SEC's: filer-YY-serial (serial within the year)."""
    return f"{model.cik:010d}-{filing.filed.year % 100:02d}-{serial:06d}"


def companyfacts(model: CompanyModel, last_filed: date) -> dict[str, Any]:
    """The companyfacts document of `model` with every filing up to `last_filed`."""
    revenue: list[dict[str, Any]] = []
    eps: list[dict[str, Any]] = []
    shares: list[dict[str, Any]] = []
    serials: dict[int, int] = {}
    for filing in company_filings(model, last_filed):
        serials[filing.filed.year] = serials.get(filing.filed.year, 0) + 1
        accn = accession(model, filing, serials[filing.filed.year])
        head = {"accn": accn, "fy": filing.fy, "fp": filing.fp, "form": filing.form,
                "filed": filing.filed.isoformat()}
        for span in reported_spans(filing):
            period = span_period(span, model.fye_month)
            rev, per_share = model.span_values(span, filing.filed)
            dates = {"start": period.start.isoformat(), "end": period.end.isoformat()}
            revenue.append({**dates, "val": rev, **head})
            eps.append({**dates, "val": per_share, **head})
        as_of = (filing.filed - timedelta(days=10)).isoformat()
        year_shares = int(model.shares[filing.fy - model.first_fy])
        shares.append({"end": as_of, "val": year_shares, **head})
    return {
        "cik": model.cik,
        "entityName": model.name,
        "facts": {
            "dei": {SHARES_TAG: _concept(SHARES_TAG, "shares", shares)},
            "us-gaap": {
                REVENUE_TAG: _concept(REVENUE_TAG, "USD", _with_frames(revenue)),
                EPS_TAG: _concept(EPS_TAG, "USD/shares", _with_frames(eps)),
            },
        },
    }


def _concept(tag: str, unit: str, facts: list[dict[str, Any]]) -> dict[str, Any]:
    label, description = LABELS[tag]
    ordered = sorted(facts, key=lambda f: (str(f["end"]), str(f.get("start", "")),
                                           str(f["filed"])))
    return {"label": label, "description": description, "units": {unit: ordered}}


def _with_frames(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each quarter or year's most recently filed fact its calendar `frame`."""
    latest: dict[tuple[object, object], dict[str, Any]] = {}
    for fact in facts:
        key = (fact["start"], fact["end"])
        if key not in latest or str(fact["filed"]) >= str(latest[key]["filed"]):
            latest[key] = fact
    for fact in latest.values():
        label = frame_label(_period_of(fact))
        if label is not None:
            fact["frame"] = label
    return facts


def _period_of(fact: dict[str, Any]) -> Period:
    return Period(date.fromisoformat(str(fact["start"])), date.fromisoformat(str(fact["end"])))
