"""Our factors reproduce real vendors' adjusted series: Yahoo (crsp), Alpha Vantage (exdate)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import (
    RESOURCES,
    dividend,
    load_settings,
    make_bar,
    make_interval,
    make_security,
    write_actions,
    write_day,
    write_reference,
)

pytestmark = pytest.mark.usefixtures("both_load_paths")

FIGI = "BBG000000016"  # a well-formed FIGI made for these tests


@dataclass(frozen=True)
class Series:
    """A vendor's daily series: raw OHLCV, dividends, and its adjusted close."""

    ticker: str
    bars: list[dict[str, object]]          # make_bar rows
    dividends: dict[str, float]            # ex-date -> amount
    adjusted: dict[str, float]             # date -> vendor adjusted close


def yahoo(name: str, ticker: str) -> Series:
    with (RESOURCES / "vendors/yahoo" / name).open() as fh:
        rows = list(csv.DictReader(fh))
    bars, divs, adj = [], {}, {}
    for r in rows:
        day = r["Datetime"][:10]
        bars.append(make_bar(ticker, day, float(r["Close"]), open=float(r["Open"]),
                             high=float(r["High"]), low=float(r["Low"]),
                             volume=int(float(r["Volume"]))))
        adj[day] = float(r["Adj Close"])
        if float(r["Dividends"]) > 0:
            divs[day] = float(r["Dividends"])
    return Series(ticker, bars, divs, adj)


def alpha_vantage() -> Series:
    data = json.loads((RESOURCES / "vendors/alpha_vantage/ibm_daily_adjusted.json").read_text())
    bars, divs, adj = [], {}, {}
    for day, r in sorted(data["Time Series (Daily)"].items()):
        bars.append(make_bar("IBM", day, float(r["4. close"]), open=float(r["1. open"]),
                             high=float(r["2. high"]), low=float(r["3. low"]),
                             volume=int(r["6. volume"])))
        adj[day] = float(r["5. adjusted close"])
        if float(r["7. dividend amount"]) > 0:
            divs[day] = float(r["7. dividend amount"])
    return Series("IBM", bars, divs, adj)


def our_adjusted(db: str, root: Path, series: Series, method: str) -> dict[str, float]:
    """Load the series through every job and return close x price_factor per date."""
    write_reference(root, [make_security(FIGI)], [make_interval(FIGI, series.ticker,
                                                                "2000-01-03")])
    for bar in series.bars:
        write_day(root, _day(bar), [bar])
    write_actions(root, [], [dividend(series.ticker, d, a) for d, a in series.dividends.items()])
    days = sorted(series.adjusted)
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=root))
    prices = run_job(load_settings(), db, RunRequest(job="prices_daily", path=root,
                                                start=date.fromisoformat(days[0]),
                                                end=date.fromisoformat(days[-1])))
    assert prices.counts["rows_written"] == len(series.bars), prices.as_dict()
    for job, extra in (("corporate_actions", {"path": root}),
                       ("adjustment_factors_daily", {"method": method})):
        report = run_job(Settings(), db, RunRequest(job=job, **extra))
        assert report.status == "succeeded", report.as_dict()
    with connect(db) as c:
        rows = c.execute("SELECT trade_date::text, close FROM prices_daily_adjusted_v "
                         "WHERE method = %s", (method,)).fetchall()
    return {d: float(v) for d, v in rows}


def _day(bar: dict[str, object]) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    ns = int(str(bar["window_start"]))
    return datetime.fromtimestamp(ns / 1e9, tz=ZoneInfo("America/New_York")).date().isoformat()


def normalised(values: dict[str, float]) -> dict[str, float]:
    """Vendor adjusted series are anchored at download time: compare ratios to the last row."""
    last = values[max(values)]
    return {d: v / last for d, v in values.items()}


@pytest.mark.parametrize(("name", "ticker"), [("CALM-1d-no-bad-divs.csv", "CALM"),
                                              ("EWG-1d-no-bad-divs.csv", "EWG")])
def test_crsp_reproduces_yahoo_adj_close(db: str, tmp_path: Path, name: str,
                                         ticker: str) -> None:
    """method crsp gives Yahoo's Adj Close / Adj Close[last] to 1e-6 on every row."""
    series = yahoo(name, ticker)
    assert len(series.dividends) >= 5
    ours = normalised(our_adjusted(db, tmp_path, series, "crsp"))
    theirs = normalised(series.adjusted)
    assert ours.keys() == theirs.keys()
    worst = max(abs(ours[d] / theirs[d] - 1) for d in theirs)
    assert worst < 1e-6, worst


def test_exdate_close_reproduces_alpha_vantage(db: str, tmp_path: Path) -> None:
    """method exdate_close gives IBM's `5. adjusted close` (normalised) to 1e-9 on every row."""
    series = alpha_vantage()
    assert series.dividends == {"2024-02-08": 1.66, "2024-05-09": 1.67}
    ours = normalised(our_adjusted(db, tmp_path, series, "exdate_close"))
    theirs = normalised(series.adjusted)
    worst = max(abs(ours[d] / theirs[d] - 1) for d in theirs)
    assert worst < 1e-9, worst


def test_crsp_differs_from_alpha_vantage_by_more_than_the_tolerance(db: str,
                                                                   tmp_path: Path) -> None:
    """The two methods really differ here, so the 1e-9 test above could fail."""
    series = alpha_vantage()
    ours = normalised(our_adjusted(db, tmp_path, series, "crsp"))
    theirs = normalised(series.adjusted)
    assert max(abs(ours[d] / theirs[d] - 1) for d in theirs) > 1e-7
