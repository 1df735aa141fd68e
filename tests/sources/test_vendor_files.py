"""The `files` vendor: a real yfinance CSV read as is, small hand-made CSV and Parquet files,
events, the price-basis sidecar, and every unusable input named clearly."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from stocksdb.config import Settings
from stocksdb.errors import ConfigError, InputFileError
from stocksdb.foundation import BAR_COLUMNS, Dividend, Split, SymbolEvents, vendors
from stocksdb.sources.vendor_files import FilesProvider, make
from tests.fix_foundation import write_bars
from tests.fix_http import VENDORS

CALM = VENDORS / "yahoo" / "CALM-1d-no-bad-divs.csv"


def test_a_yfinance_csv_reads_as_is(files_dir: Path) -> None:
    """CALM's yfinance CSV (`Datetime` with a New York offset, `Adj Close`, extra columns)
    gives canonical bars in UTC; values are the file's first rows, read by hand."""
    shutil.copy(CALM, files_dir / "CALM.csv")
    frame = FilesProvider(files_dir).fetch(["calm"], date(2022, 1, 3), date(2022, 1, 5))
    assert (frame.vendor, frame.price_basis, dict(frame.missing)) == ("files", "raw", {})
    bars = frame.bars
    assert list(bars.columns) == list(BAR_COLUMNS)
    # CSV lines 2-4: 2022-01-03/04/05 00:00:00-05:00, i.e. 05:00 UTC
    assert [str(t) for t in bars["ts"]] == ["2022-01-03 05:00:00+00:00",
                                            "2022-01-04 05:00:00+00:00",
                                            "2022-01-05 05:00:00+00:00"]
    first = bars.iloc[0]
    assert (first["symbol"], first["open"], first["high"], first["low"], first["close"],
            first["adj_close"], first["volume"], first["vendor"]) == (
        "CALM", 37.029998779296875, 37.7599983215332, 36.31999969482422, 37.70000076293945,
        32.6307373046875, 707800.0, "files")
    assert list(bars["close"])[2] == 38.7400016784668, "line 4, Close"


def test_a_date_only_file_is_midnight_utc_and_volume_may_be_absent(files_dir: Path) -> None:
    """An FX file with `date` and no volume: bars at 00:00 UTC, volume and adj_close NaN."""
    (files_dir / "EURUSD=X.csv").write_text(
        "Date,Open,High,Low,Close\n2020-01-01,1.1215,1.1224,1.1215,1.1221\n"
        "2020-01-02,1.1221,1.1228,1.1164,1.1221\n", encoding="utf-8")
    bars = FilesProvider(files_dir).fetch(["EURUSD=X"], date(2020, 1, 1), date(2020, 1, 2)).bars
    assert [str(t) for t in bars["ts"]] == ["2020-01-01 00:00:00+00:00",
                                            "2020-01-02 00:00:00+00:00"]
    assert list(bars["low"]) == [1.1215, 1.1164]
    assert all(math.isnan(v) for v in [*bars["volume"], *bars["adj_close"]])


def test_a_parquet_file_reads_like_a_csv(files_dir: Path) -> None:
    """`SYMBOL.parquet` with a tz-aware `ts` column and `adj_close`: same canonical bars."""
    pd.DataFrame({"ts": pd.to_datetime(["2024-01-02T14:30:00Z", "2024-01-03T14:30:00Z"]),
                  "open": [10.0, 11.0], "high": [12.0, 13.0], "low": [9.0, 10.0],
                  "close": [11.0, 12.0], "volume": [100, 200], "adj_close": [10.5, 11.5]}
                 ).to_parquet(files_dir / "AAA.parquet")
    bars = FilesProvider(files_dir).fetch(["AAA"], date(2024, 1, 1), date(2024, 1, 31)).bars
    assert [str(t) for t in bars["ts"]] == ["2024-01-02 14:30:00+00:00",
                                            "2024-01-03 14:30:00+00:00"]
    assert list(bars["adj_close"]) == [10.5, 11.5]
    assert list(bars["volume"]) == [100.0, 200.0]


def test_the_window_is_inclusive_and_a_symbol_without_file_is_missing(files_dir: Path) -> None:
    """Bars dated start..end inclusive are kept; a symbol with no file is `missing`, with
    the reason, and has no bars."""
    write_bars(files_dir, "AAA", {"2024-01-02": 10, "2024-01-03": 11, "2024-01-04": 12,
                                  "2024-01-05": 13})
    frame = FilesProvider(files_dir).fetch(["AAA", "ZZZ"], date(2024, 1, 3), date(2024, 1, 4))
    assert list(frame.bars["close"]) == [11.0, 12.0]
    assert set(frame.bars["symbol"]) == {"AAA"}
    assert dict(frame.missing) == {"ZZZ": f"no file ZZZ.csv or ZZZ.parquet in {files_dir}"}


def test_rows_with_an_empty_price_are_dropped_and_counted(files_dir: Path) -> None:
    """A row with an empty close is not a bar: dropped, and `dropped` says how many."""
    (files_dir / "AAA.csv").write_text(
        "date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1,2,0.5,\n"
        "2024-01-04,1,2,0.5,1.7\n", encoding="utf-8")
    frame = FilesProvider(files_dir).fetch(["AAA"], date(2024, 1, 1), date(2024, 1, 31))
    assert list(frame.bars["close"]) == [1.5, 1.7]
    assert dict(frame.dropped) == {"AAA": 1}


def test_events_come_from_events_csv_by_symbol_and_window(files_dir: Path) -> None:
    """`events.csv` rows of the asked symbols inside the window become events, by date."""
    write_bars(files_dir, "AAPL", {"2020-08-28": 499.23})
    (files_dir / "events.csv").write_text(
        "symbol,date,kind,value\nAAPL,2020-11-06,dividend,0.205\naapl,2020-08-31,split,4\n"
        "AAPL,2020-08-07,dividend,0.82\nMSFT,2020-08-19,dividend,0.51\n", encoding="utf-8")
    frame = FilesProvider(files_dir).fetch(["AAPL"], date(2020, 8, 10), date(2020, 11, 30))
    assert dict(frame.events) == {"AAPL": SymbolEvents(
        dividends=(Dividend(date(2020, 11, 6), 0.205),),
        splits=(Split(date(2020, 8, 31), 4.0),))}


def test_a_bad_event_row_names_file_and_line(files_dir: Path) -> None:
    """An unknown kind is an InputFileError naming the file's line (header = line 1)."""
    (files_dir / "events.csv").write_text(
        "symbol,date,kind,value\nAAA,2024-01-02,dividend,1\nAAA,2024-01-03,bonus,2\n",
        encoding="utf-8")
    with pytest.raises(InputFileError, match=r"events.csv' line 3: kind 'bonus'"):
        FilesProvider(files_dir).fetch(["AAA"], date(2024, 1, 1), date(2024, 1, 31))


@pytest.mark.parametrize(("sidecar", "basis"), [(None, "raw"),
                                                ('{"price_basis": "split_adjusted"}',
                                                 "split_adjusted"),
                                                ('{"price_basis": "total_return"}',
                                                 "total_return")])
def test_the_sidecar_declares_the_price_basis(files_dir: Path, sidecar: str | None,
                                              basis: str) -> None:
    """`vendor.json` sets price_basis; without it the files are raw."""
    if sidecar is not None:
        (files_dir / "vendor.json").write_text(sidecar, encoding="utf-8")
    write_bars(files_dir, "AAA", {"2024-01-02": 10})
    provider = FilesProvider(files_dir)
    assert provider.price_basis == basis
    assert provider.fetch(["AAA"], date(2024, 1, 2), date(2024, 1, 2)).price_basis == basis


def test_an_unknown_price_basis_is_refused(files_dir: Path) -> None:
    """A sidecar naming another basis is an InputFileError listing the allowed ones."""
    (files_dir / "vendor.json").write_text('{"price_basis": "adjusted"}', encoding="utf-8")
    with pytest.raises(InputFileError, match="'adjusted'; expected one of raw, split_adjusted"):
        FilesProvider(files_dir)


def test_a_file_without_its_columns_names_them(files_dir: Path) -> None:
    """No time column and no `low`: the error lists both and the expected header."""
    (files_dir / "AAA.csv").write_text("day,open,high,close\n2024-01-02,1,2,1.5\n",
                                       encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        FilesProvider(files_dir).fetch(["AAA"], date(2024, 1, 1), date(2024, 1, 31))
    assert "lacks column(s) ['low', 'date|ts|datetime']" in str(caught.value)


def test_two_files_for_one_symbol_are_refused(files_dir: Path) -> None:
    """AAA.csv and AAA.parquet both present: ambiguous, so an error asking to keep one."""
    write_bars(files_dir, "AAA", {"2024-01-02": 10})
    pd.DataFrame({"date": ["2024-01-02"], "open": [1.0], "high": [1.0], "low": [1.0],
                  "close": [1.0]}).to_parquet(files_dir / "AAA.parquet")
    with pytest.raises(InputFileError, match="two vendor files"):
        FilesProvider(files_dir).fetch(["AAA"], date(2024, 1, 1), date(2024, 1, 31))


def test_a_missing_directory_fails_at_fetch_not_before(tmp_path: Path) -> None:
    """Building the provider touches nothing; fetching from a missing directory is an
    InputFileError naming it and the setting."""
    provider = FilesProvider(tmp_path / "nowhere")
    with pytest.raises(InputFileError, match="STOCKSDB_VENDOR_FILES_DIR"):
        provider.fetch(["AAA"], date(2024, 1, 1), date(2024, 1, 31))


def test_the_vendor_is_registered_and_needs_its_directory(tmp_path: Path) -> None:
    """`files` is in the registry; without STOCKSDB_VENDOR_FILES_DIR it is a ConfigError."""
    assert vendors()["files"].make is make
    with pytest.raises(ConfigError, match="STOCKSDB_VENDOR_FILES_DIR"):
        make(Settings())
    provider = make(Settings.from_env({"STOCKSDB_VENDOR_FILES_DIR": str(tmp_path)}))
    assert isinstance(provider, FilesProvider) and provider.root == tmp_path


def test_a_symbol_that_is_a_path_is_refused(files_dir: Path, tmp_path: Path) -> None:
    """`../AAA` would read outside the directory: an InputFileError, not a read."""
    write_bars(tmp_path, "AAA", {"2024-01-02": 10})
    with pytest.raises(InputFileError, match="is not a file name"):
        FilesProvider(files_dir).fetch(["../AAA"], date(2024, 1, 1), date(2024, 1, 31))
