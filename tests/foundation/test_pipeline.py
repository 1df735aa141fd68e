"""PricingPipeline on the files vendor: the window, normalising, each quality check and its
numbers (worked out by hand on the small frames written here), and storing or refusing.

Calendar facts used below: 2024-01-01 (Mon) is New Year's Day, not an XNYS session but a
weekday; 2024-01-02..05 are Tue..Fri sessions; 2024-01-06/07 are a weekend.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from stocksdb.errors import InputError
from stocksdb.foundation import PricingCache, PricingQualityIssue
from stocksdb.foundation.quality import IssueCode
from tests.fix_foundation import make_pipeline, snapshot, write_bars
from tests.fix_http import VENDORS

WEEK = {"2024-01-02": 10.0, "2024-01-03": 11.0, "2024-01-04": 12.0, "2024-01-05": 13.0}


def codes(issues: tuple[PricingQualityIssue, ...]) -> list[tuple[str, str]]:
    """(code, symbol) of each issue, in order."""
    return [(i.code.value, i.symbol) for i in issues]


def test_a_clean_week_is_ok_and_summarised(files_dir: Path, cache: PricingCache) -> None:
    """Four sessions, four distinct closes: status ok, no issues, rows/first/last per symbol,
    and the dataset is in the cache."""
    write_bars(files_dir, "AAA", WEEK)
    result = make_pipeline(files_dir, cache).run("aaa", start=date(2024, 1, 1),
                                                 end=date(2024, 1, 5))
    assert (result.status, result.issues, result.rows) == ("ok", (), 4)
    assert result.as_json()["symbols"] == {"AAA": {"rows": 4, "first": "2024-01-02",
                                                   "last": "2024-01-05"}}
    assert result.dataset is not None and result.dataset.is_file()
    assert (result.format, result.cache.hit, result.price_basis) == ("parquet", False, "raw")


def test_the_summary_has_exactly_the_documented_keys(files_dir: Path,
                                                     cache: PricingCache) -> None:
    """as_json has dataset, format, rows, symbols, issues, status, cache{hit, evicted}."""
    write_bars(files_dir, "AAA", WEEK)
    summary = make_pipeline(files_dir, cache).run(["AAA"], lookback_days=4,
                                                  end=date(2024, 1, 5)).as_json()
    assert list(summary) == ["dataset", "format", "rows", "symbols", "issues", "status",
                             "cache"]
    assert summary["cache"] == {"hit": False, "evicted": 0}


def test_duplicate_rows_are_counted_per_extra_row(files_dir: Path, cache: PricingCache) -> None:
    """2024-01-03 three times: two extra rows on one date, a warning; the rows stay."""
    (files_dir / "AAA.csv").write_text(
        "date,open,high,low,close\n2024-01-02,1,2,0.5,1.1\n2024-01-03,1,2,0.5,1.2\n"
        "2024-01-03,1,2,0.5,1.3\n2024-01-03,1,2,0.5,1.4\n2024-01-04,1,2,0.5,1.5\n"
        "2024-01-05,1,2,0.5,1.6\n", encoding="utf-8")
    result = make_pipeline(files_dir, cache).run("AAA", start=date(2024, 1, 2),
                                                 end=date(2024, 1, 5))
    assert result.issues == (PricingQualityIssue(
        IssueCode.DUPLICATE_ROWS, "warning", "AAA",
        "2 extra row(s) on 1 date(s) that already have a bar", ("2024-01-03",)),)
    assert (result.status, result.rows) == ("warning", 6)


def test_missing_rows_of_an_equity_follow_xnys_sessions(files_dir: Path,
                                                        cache: PricingCache) -> None:
    """Window Jan 1..5: sessions are Jan 2..5 (Jan 1 is a holiday); no bar on Jan 4."""
    write_bars(files_dir, "AAA", {"2024-01-02": 10, "2024-01-03": 11, "2024-01-05": 13})
    result = make_pipeline(files_dir, cache).run("AAA", start=date(2024, 1, 1),
                                                 end=date(2024, 1, 5))
    assert result.issues == (PricingQualityIssue(
        IssueCode.MISSING_ROWS, "warning", "AAA",
        "1 of 4 XNYS sessions 2024-01-02..2024-01-05 have no bar", ("2024-01-04",)),)


@pytest.mark.parametrize("symbol", ["EURUSD=X", "ES=F"])
def test_missing_rows_of_fx_and_futures_follow_weekdays(files_dir: Path, cache: PricingCache,
                                                        symbol: str) -> None:
    """Same bars, window Jan 1..7: weekdays are Jan 1..5 (New Year's Day included, the
    weekend not), so Jan 1 and Jan 4 are missing."""
    write_bars(files_dir, symbol, {"2024-01-02": 10, "2024-01-03": 11, "2024-01-05": 13})
    result = make_pipeline(files_dir, cache).run(symbol, start=date(2024, 1, 1),
                                                 end=date(2024, 1, 7))
    assert result.issues == (PricingQualityIssue(
        IssueCode.MISSING_ROWS, "warning", symbol,
        "2 of 5 weekdays 2024-01-01..2024-01-05 have no bar", ("2024-01-01", "2024-01-04")),)


def test_flat_prices_need_n_equal_closes_in_a_row(files_dir: Path, cache: PricingCache) -> None:
    """Closes 1, 2, 2, 2, 2, 2, 3 on weekdays Jan 1..9: one stretch of five 2s (Jan 2..8);
    with n = 6 it is not flat."""
    closes = [1, 2, 2, 2, 2, 2, 3]
    days = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05",
            "2024-01-08", "2024-01-09"]
    write_bars(files_dir, "EURUSD=X", dict(zip(days, closes, strict=True)))
    five = make_pipeline(files_dir, cache).run("EURUSD=X", start=date(2024, 1, 1),
                                               end=date(2024, 1, 9))
    assert five.issues == (PricingQualityIssue(
        IssueCode.FLAT_PRICES, "warning", "EURUSD=X",
        "1 stretch(es) of at least 5 equal closes in a row, the longest 5 bars",
        ("2024-01-02..2024-01-08",)),)
    six = make_pipeline(files_dir, cache, flat_run=6).run(
        "EURUSD=X", start=date(2024, 1, 1), end=date(2024, 1, 9), refresh=True)
    assert six.issues == ()


def test_a_series_ending_early_is_stale_unless_the_window_ends_today(
        files_dir: Path, cache: PricingCache) -> None:
    """Bars to Jan 4, window to Jan 5: stale (and Jan 5 missing) when run later; run on Jan 5
    itself, today's bar is not expected yet, so neither."""
    write_bars(files_dir, "AAA", {"2024-01-02": 10, "2024-01-03": 11, "2024-01-04": 12})
    later = make_pipeline(files_dir, cache).run("AAA", start=date(2024, 1, 2),
                                                end=date(2024, 1, 5))
    assert codes(later.issues) == [("missing_rows", "AAA"), ("stale_series", "AAA")]
    assert later.issues[1] == PricingQualityIssue(
        IssueCode.STALE_SERIES, "warning", "AAA",
        "last bar is 2024-01-04, older than the window's last XNYS session 2024-01-05",
        ("2024-01-04",))
    same_day = make_pipeline(files_dir, cache, today="2024-01-05").run(
        "AAA", start=date(2024, 1, 2), end=date(2024, 1, 5), refresh=True)
    assert same_day.issues == ()


def test_a_symbol_without_data_is_an_error_but_still_stored(files_dir: Path,
                                                            cache: PricingCache) -> None:
    """ZZZ has no file: a no_data error with the vendor's reason, status error; without
    fail_on_quality the dataset (AAA's four bars) is stored."""
    write_bars(files_dir, "AAA", WEEK)
    result = make_pipeline(files_dir, cache).run("AAA,ZZZ", start=date(2024, 1, 2),
                                                 end=date(2024, 1, 5))
    assert result.issues == (PricingQualityIssue(
        IssueCode.NO_DATA, "error", "ZZZ", f"no file ZZZ.csv or ZZZ.parquet in {files_dir}"),)
    assert result.status == "error"
    assert result.dataset is not None and result.dataset.is_file()
    assert result.as_json()["symbols"]["ZZZ"] == {"rows": 0, "first": None, "last": None}


def test_fail_on_quality_stores_nothing_on_an_error(files_dir: Path,
                                                    cache: PricingCache) -> None:
    """With fail_on_quality, no_data leaves the cache byte for byte as it was (an earlier
    dataset included) and the result has no dataset."""
    write_bars(files_dir, "AAA", WEEK)
    make_pipeline(files_dir, cache).run("AAA", start=date(2024, 1, 2), end=date(2024, 1, 5))
    before = snapshot(cache.root)
    assert len(before) == 3
    result = make_pipeline(files_dir, cache).run("AAA,ZZZ", start=date(2024, 1, 2),
                                                 end=date(2024, 1, 5), fail_on_quality=True)
    assert (result.status, result.dataset, result.format) == ("error", None, None)
    assert result.rows == 4, "the pulled bars are still reported"
    assert snapshot(cache.root) == before


def test_bars_outside_the_window_are_dropped(files_dir: Path, cache: PricingCache) -> None:
    """A file from Dec 29 to Jan 8 asked for Jan 2..5 gives only those four bars."""
    write_bars(files_dir, "AAA", {"2023-12-29": 9, **WEEK, "2024-01-08": 14})
    result = make_pipeline(files_dir, cache).run("AAA", start=date(2024, 1, 2),
                                                 end=date(2024, 1, 5))
    assert list(result.bars["close"]) == [10.0, 11.0, 12.0, 13.0]


def test_fx_bars_stamped_at_midnight_london_belong_to_the_london_day(
        files_dir: Path, cache: PricingCache) -> None:
    """Yahoo stamps FX bars at 00:00 Europe/London: 23:00 UTC the day before in summer.
    Bars at 2024-06-02T23:00Z and 2024-06-03T23:00Z are June 3 (Mon) and June 4 (Tue)."""
    (files_dir / "EURUSD=X.csv").write_text(
        "ts,open,high,low,close\n2024-06-02T23:00:00Z,1.08,1.09,1.07,1.085\n"
        "2024-06-03T23:00:00Z,1.085,1.09,1.08,1.088\n", encoding="utf-8")
    result = make_pipeline(files_dir, cache).run("EURUSD=X", start=date(2024, 6, 3),
                                                 end=date(2024, 6, 4))
    assert result.as_json()["symbols"] == {"EURUSD=X": {"rows": 2, "first": "2024-06-03",
                                                        "last": "2024-06-04"}}
    assert result.issues == ()


def test_a_real_month_of_calm_is_clean(files_dir: Path, cache: PricingCache) -> None:
    """CALM's yfinance file for January 2022: 20 rows = the month's 20 XNYS sessions
    (Jan 17 is MLK day), first Jan 3, last Jan 31 (counted in the CSV): ok, no issues."""
    shutil.copy(VENDORS / "yahoo" / "CALM-1d-no-bad-divs.csv", files_dir / "CALM.csv")
    result = make_pipeline(files_dir, cache).run("CALM", start=date(2022, 1, 1),
                                                 end=date(2022, 1, 31))
    assert (result.status, result.rows) == ("ok", 20)
    assert result.as_json()["symbols"]["CALM"] == {"rows": 20, "first": "2022-01-03",
                                                   "last": "2022-01-31"}


def test_lookback_days_counts_calendar_days_back_from_end(files_dir: Path,
                                                          cache: PricingCache) -> None:
    """lookback_days=3 ending Jan 5 is Jan 2..5: all four bars, nothing missing."""
    write_bars(files_dir, "AAA", WEEK)
    result = make_pipeline(files_dir, cache).run("AAA", lookback_days=3, end=date(2024, 1, 5))
    assert (result.rows, result.issues) == (4, ())
    stored = cache.entries()
    assert len(stored) == 1
    meta = (cache.root / f"{stored[0][1]}_metadata.json").read_text()
    assert '"start": "2024-01-02"' in meta and '"end": "2024-01-05"' in meta


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "pass exactly one of `start` and `lookback_days`"),
    ({"start": date(2024, 1, 2), "lookback_days": 3}, "pass exactly one of"),
    ({"lookback_days": 0}, "`lookback_days` is 0; expected >= 1"),
    ({"start": date(2024, 1, 6), "end": date(2024, 1, 5)}, "`start` is 2024-01-06, after"),
])
def test_a_bad_window_is_an_input_error(files_dir: Path, cache: PricingCache,
                                        kwargs: dict[str, object], message: str) -> None:
    """Neither or both of start/lookback_days, a zero lookback, start after end: InputError
    (exit 2) naming the parameter."""
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        make_pipeline(files_dir, cache).run("AAA", **kwargs)  # type: ignore[arg-type]


def test_no_symbols_is_an_input_error(files_dir: Path, cache: PricingCache) -> None:
    """' , ' holds no symbol: InputError with an example of the expected form."""
    with pytest.raises(InputError, match="expected at least one symbol"):
        make_pipeline(files_dir, cache).run(" , ", lookback_days=3)


@pytest.mark.parametrize("text", ["../etc/passwd", "A B", "AAPL;rm"])
def test_a_symbol_that_is_not_a_symbol_is_an_input_error(files_dir: Path, cache: PricingCache,
                                                         text: str) -> None:
    """Paths, spaces and punctuation are refused before any vendor call."""
    with pytest.raises(InputError, match="expected letters, digits"):
        make_pipeline(files_dir, cache).run(f"AAPL,{text}", lookback_days=3)


def test_a_cached_error_dataset_is_refused_under_fail_on_quality(
        files_dir: Path, cache: PricingCache) -> None:
    """A dataset stored with no_data (no flag), pulled again with fail_on_quality: a hit that
    is refused like a fresh pull (no dataset in the result) and the cache is unchanged."""
    write_bars(files_dir, "AAA", WEEK)
    pipeline = make_pipeline(files_dir, cache)
    pipeline.run("AAA,ZZZ", start=date(2024, 1, 2), end=date(2024, 1, 5))
    before = snapshot(cache.root)
    again = pipeline.run("AAA,ZZZ", start=date(2024, 1, 2), end=date(2024, 1, 5),
                         fail_on_quality=True)
    assert (again.cache.hit, again.status, again.dataset) == (True, "error", None)
    assert snapshot(cache.root) == before
