"""Every hard case the manifest names is really in the files (SPEC section 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stocksdb.sample import SampleManifest
from tests.fix_sample import (
    figi_on,
    history,
    make_small_sample,
    neighbours,
    read_csv,
    read_day,
    read_json,
    rows_for,
    sessions_of,
)

Sample = tuple[Path, SampleManifest]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    """The small sample and its manifest."""
    out = tmp_path_factory.mktemp("cases") / "market"
    return out, make_small_sample(out)


def _one(root: Path, day: str, ticker: str) -> dict[str, str]:
    rows = rows_for(root, day, ticker)
    assert len(rows) == 1, f"expected one {ticker} row on {day}, found {rows}"
    return rows[0]


def _price(row: dict[str, str], column: str) -> float:
    return float(row[column])


def _actions(root: Path, name: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = read_json(root / "corporate_actions" / f"{name}.json")[
        "results"]
    return results


def test_manifest_names_every_hard_case(sample: Sample) -> None:
    """The cases object has every key of SPEC section 9 and of the loader's quarantine."""
    expected = {"renamed", "reused_ticker", "ipo", "delisted", "halted", "unknown_tickers",
                "duplicate_rows", "bad_bars", "wrong_window_start", "forward_split",
                "reverse_split", "special_dividend", "split_and_dividend_same_day",
                "quarterly_dividend", "fiscal_year_january", "restatement"}
    assert expected <= set(sample[1].cases)


def test_renamed_security_continues_under_its_new_ticker(sample: Sample) -> None:
    """Same FIGI; old ticker until the change date, new ticker from it, prices continuous."""
    root, case = sample[0], sample[1].cases["renamed"]
    day = case["change_date"]
    before, _ = neighbours(root, day)
    assert figi_on(root, case["old_ticker"], before) == case["composite_figi"]
    assert figi_on(root, case["new_ticker"], day) == case["composite_figi"]
    assert figi_on(root, case["old_ticker"], day) is None
    old, new = _one(root, before, case["old_ticker"]), _one(root, day, case["new_ticker"])
    assert not rows_for(root, day, case["old_ticker"])
    assert 0.8 < _price(new, "open") / _price(old, "close") < 1.25, (old, new)


def test_reused_ticker_names_two_securities_with_a_gap(sample: Sample) -> None:
    """Two intervals, two FIGIs, no overlap, and no rows while the ticker names nothing."""
    root, case = sample[0], sample[1].cases["reused_ticker"]
    spans = sorted((r["valid_from"], r["valid_to"], r["composite_figi"]) for r in history(root)
                   if r["ticker"] == case["ticker"])
    assert [s[2] for s in spans] == [case["first_figi"], case["second_figi"]]
    assert case["first_figi"] != case["second_figi"]
    assert spans[0][1] == case["first_valid_to"] < spans[1][0] == case["second_valid_from"]
    gap = [d for d in sessions_of(root) if case["first_valid_to"] <= d < case["second_valid_from"]]
    assert len(gap) >= 2
    assert all(not rows_for(root, d, case["ticker"]) for d in gap)
    before, _ = neighbours(root, case["first_valid_to"])
    assert rows_for(root, before, case["ticker"])
    assert rows_for(root, case["second_valid_from"], case["ticker"])


def test_ipos_trade_from_their_list_date(sample: Sample) -> None:
    """An IPO has no row before its list date and a row on it; securities.csv agrees."""
    root = sample[0]
    listed = {r["composite_figi"]: r for r in read_csv(root / "reference" / "securities.csv")}
    for case in sample[1].cases["ipo"]:
        before, _ = neighbours(root, case["list_date"])
        assert listed[case["composite_figi"]]["list_date"] == case["list_date"]
        assert not rows_for(root, before, case["ticker"]) or (
            figi_on(root, case["ticker"], before) != case["composite_figi"])
        assert _one(root, case["list_date"], case["ticker"])


def test_delisted_securities_stop_on_their_delist_date(sample: Sample) -> None:
    """Rows up to last_session, none from delist_date; securities.csv says inactive."""
    root = sample[0]
    listed = {r["composite_figi"]: r for r in read_csv(root / "reference" / "securities.csv")}
    for case in sample[1].cases["delisted"]:
        row = listed[case["composite_figi"]]
        assert (row["delist_date"], row["active"]) == (case["delist_date"], "false")
        assert _one(root, case["last_session"], case["ticker"])
        assert figi_on(root, case["ticker"], case["delist_date"]) != case["composite_figi"]
        assert not rows_for(root, case["delist_date"], case["ticker"])


def test_halted_security_misses_one_session(sample: Sample) -> None:
    """A listed security has rows the session before and after but none on the halt day."""
    root = sample[0]
    for case in sample[1].cases["halted"]:
        before, after = neighbours(root, case["date"])
        assert figi_on(root, case["ticker"], case["date"]) == case["composite_figi"]
        assert not rows_for(root, case["date"], case["ticker"])
        assert _one(root, before, case["ticker"]) and _one(root, after, case["ticker"])


def test_unknown_tickers_are_in_files_but_not_in_history(sample: Sample) -> None:
    """Planted tickers appear once on their day and nowhere in ticker_history."""
    root = sample[0]
    known = {r["ticker"] for r in history(root)}
    cases = sample[1].cases["unknown_tickers"]
    assert len(cases) >= 2
    for case in cases:
        assert case["ticker"] not in known
        assert _one(root, case["date"], case["ticker"])


def test_duplicate_row_is_an_exact_copy(sample: Sample) -> None:
    """The duplicated ticker has two identical rows in that day's file."""
    root = sample[0]
    for case in sample[1].cases["duplicate_rows"]:
        rows = rows_for(root, case["date"], case["ticker"])
        assert len(rows) == 2 and rows[0] == rows[1], rows
    all_days = {d: read_day(root, d) for d in sessions_of(root)}
    duplicated = {(d, r["ticker"]) for d, rows in all_days.items() for r in rows
                  if sum(x["ticker"] == r["ticker"] for x in rows) > 1}
    assert duplicated == {(c["date"], c["ticker"]) for c in sample[1].cases["duplicate_rows"]}


def test_bad_bar_has_high_below_low(sample: Sample) -> None:
    """The planted bar is the only one whose high is below its low."""
    root = sample[0]
    (case,) = sample[1].cases["bad_bars"]
    row = _one(root, case["date"], case["ticker"])
    assert case["problem"] == "high_below_low" and _price(row, "high") < _price(row, "low")


def test_wrong_window_start_points_to_the_next_session(sample: Sample) -> None:
    """The planted row's window_start is the following session's New York midnight."""
    root = sample[0]
    (case,) = sample[1].cases["wrong_window_start"]
    _, after = neighbours(root, case["date"])
    assert case["window_start_date"] == after
    assert _one(root, case["date"], case["ticker"])["window_start"] == str(case["window_start"])
    assert _one(root, after, case["ticker"])["window_start"] == str(case["window_start"])


@pytest.mark.parametrize("name", ["forward_split", "reverse_split", "split_and_dividend_same_day"])
def test_raw_price_jumps_by_the_split_ratio(sample: Sample, name: str) -> None:
    """On the execution date the raw open is the previous close times split_from / split_to."""
    root, case = sample[0], sample[1].cases[name]
    day = case["execution_date"]
    before, _ = neighbours(root, day)
    previous = _price(_one(root, before, case["ticker"]), "close")
    opened = _price(_one(root, day, case["ticker"]), "open")
    cash = case.get("cash_amount", 0.0)
    expected = previous * case["split_from"] / case["split_to"] - cash
    assert abs(opened / expected - 1) < 0.03, (previous, opened, expected)
    split = [s for s in _actions(root, "splits") if (s["ticker"], s["execution_date"]) ==
             (case["ticker"], day)]
    assert [(s["split_from"], s["split_to"]) for s in split] == [
        (case["split_from"], case["split_to"])]


def test_split_and_dividend_share_one_ex_date(sample: Sample) -> None:
    """A split and a regular cash dividend of one ticker take effect on the same session."""
    root, case = sample[0], sample[1].cases["split_and_dividend_same_day"]
    dividends = [d for d in _actions(root, "dividends") if (d["ticker"], d["ex_dividend_date"])
                 == (case["ticker"], case["date"])]
    assert [(d["dividend_type"], d["cash_amount"]) for d in dividends] == [
        ("CD", case["cash_amount"])]


def test_special_dividend_drops_the_price_by_about_its_amount(sample: Sample) -> None:
    """An SC dividend of ~8% of the price: the ex-date open is the previous close minus it."""
    root, case = sample[0], sample[1].cases["special_dividend"]
    day = case["ex_dividend_date"]
    before, _ = neighbours(root, day)
    previous = _price(_one(root, before, case["ticker"]), "close")
    opened = _price(_one(root, day, case["ticker"]), "open")
    drop = previous - opened
    assert abs(drop - case["cash_amount"]) < 0.3 * case["cash_amount"], (previous, opened, case)
    found = [d for d in _actions(root, "dividends") if d["ticker"] == case["ticker"]
             and d["ex_dividend_date"] == day]
    assert [(d["dividend_type"], d["frequency"]) for d in found] == [("SC", 0)]


def test_quarterly_dividends_are_regular_cash(sample: Sample) -> None:
    """The example payer's ex-dates are sessions, typed CD with frequency 4."""
    root, case = sample[0], sample[1].cases["quarterly_dividend"]
    assert case["ex_dividend_dates"]
    found = [d for d in _actions(root, "dividends") if d["ticker"] == case["ticker"]]
    assert [d["ex_dividend_date"] for d in found] == case["ex_dividend_dates"]
    assert all((d["dividend_type"], d["frequency"]) == ("CD", 4) for d in found)
    assert set(case["ex_dividend_dates"]) <= set(sessions_of(root))


def test_january_fiscal_year_ends_on_31_january(sample: Sample) -> None:
    """The retailer-style filer's 10-K years end on 31 January."""
    root, case = sample[0], sample[1].cases["fiscal_year_january"]
    doc = read_json(root / "fundamentals" / "companyfacts" / f"CIK{case['cik']}.json")
    facts = doc["facts"]["us-gaap"]["RevenueFromContractWithCustomerExcludingAssessedTax"]
    annual = [f for f in facts["units"]["USD"] if f["form"] == "10-K"]
    assert annual and all(f["end"][5:] == "01-31" and f["start"][5:] == "02-01" for f in annual)


def test_restated_quarter_has_two_values_under_two_filings(sample: Sample) -> None:
    """The restated period is reported first with one value and later with another."""
    root, case = sample[0], sample[1].cases["restatement"]
    doc = read_json(root / "fundamentals" / "companyfacts" / f"CIK{case['cik']}.json")
    facts = doc["facts"]["us-gaap"][case["tag"]]["units"][case["unit"]]
    same = sorted((f["filed"], f["accn"], f["val"]) for f in facts
                   if (f["start"], f["end"]) == (case["start"], case["end"]))
    assert same[0] == (case["original_filed"], case["original_accn"], case["original_val"])
    assert (case["restated_filed"], case["restated_accn"], case["restated_val"]) in same
    assert case["restated_val"] != case["original_val"]
    assert case["original_filed"] < case["restated_filed"]
