"""ReferenceDataLoader: the shipped defaults, memoization and refresh, and errors that name the
file, the line and the field.

Expected values are written by hand: NYSE's 2024 holidays and early closes from nyse.com
("Holidays & Trading Hours", as in tests/domain/test_sessions.py), AAPL's identifiers from the
recorded Massive payload (realdata polygon-client-python mocks/v3/reference/tickers/AAPL.json:
composite_figi BBG000B9XRY4, share_class_figi BBG001S5N8V8, cik 0000320193, list_date
1980-12-12).
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from datetime import date, time
from pathlib import Path

import pytest

from stocksdb.errors import ReferenceDataError
from stocksdb.foundation import ReferenceDataLoader
from stocksdb.foundation.reference import DEFAULT_DIR
from stocksdb.foundation.reference_build import holiday_records, session_records

ROOT = Path(__file__).resolve().parents[2]
NYSE_2024_CLOSED = ["2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27",
                    "2024-06-19", "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"]
NYSE_2024_EARLY = ["2024-07-03", "2024-11-29", "2024-12-24"]     # 13:00 New York

INSTRUMENTS = """{
  "instruments": [
    {"symbol": "AAA", "name": "A Corp", "asset_class": "equity", "currency": "USD"},
    {"symbol": "EURUSD", "name": "Euro / US Dollar", "asset_class": "fx",
     "base_currency": "EUR", "currency": "USD"}
  ]
}
"""


@pytest.fixture
def ref_dir(tmp_path: Path) -> Path:
    """A copy of the shipped sessions and holidays files with a two-instrument file."""
    for name in ("sessions.json", "holidays.json"):
        shutil.copy(DEFAULT_DIR / name, tmp_path / name)
    (tmp_path / "instruments.json").write_text(INSTRUMENTS)
    return tmp_path


def loader_for(root: Path) -> ReferenceDataLoader:
    return ReferenceDataLoader(root / "instruments.json", root / "sessions.json",
                               root / "holidays.json")


def test_default_dataset_looks_up_eurusd_as_in_the_seed() -> None:
    """`ReferenceDataLoader().load_all().instruments["EURUSD"]` works with no arguments."""
    dataset = ReferenceDataLoader().load_all()
    eurusd = dataset.instruments["EURUSD"]
    assert (eurusd.asset_class, eurusd.base_currency, eurusd.currency) == ("fx", "EUR", "USD")
    assert eurusd.vendor_symbols["yahoo"] == "EURUSD=X"
    assert dataset.instruments["ES"].asset_class == "future"
    aapl = dataset.instruments["AAPL"]
    assert (aapl.composite_figi, aapl.share_class_figi, aapl.cik, aapl.list_date) == (
        "BBG000B9XRY4", "BBG001S5N8V8", "0000320193", date(1980, 12, 12))


def test_default_sessions_and_holidays_are_nyse_s() -> None:
    """XNYS, XNAS and ARCX trade 09:30-16:00 New York; XNYS's 2024 closures and early closes
    are NYSE's published ones, and 2025-01-09 (national day of mourning) is closed."""
    dataset = ReferenceDataLoader().load_all()
    assert list(dataset.sessions) == ["XNYS", "XNAS", "ARCX"]
    xnys = dataset.sessions["XNYS"]
    assert (xnys.timezone, xnys.open, xnys.close, xnys.early_close, xnys.weekmask) == (
        "America/New_York", time(9, 30), time(16, 0), time(13, 0), "1111100")
    y2024 = [h for h in dataset.holidays["XNYS"] if h.day.year == 2024]
    assert [h.day.isoformat() for h in y2024 if h.kind == "closed"] == NYSE_2024_CLOSED
    early = [h for h in y2024 if h.kind == "early_close"]
    assert [h.day.isoformat() for h in early] == NYSE_2024_EARLY
    assert {h.close for h in early} == {time(13, 0)}
    carter = [h for h in dataset.holidays["XNYS"] if h.day == date(2025, 1, 9)]
    assert [h.kind for h in carter] == ["closed"]


def test_shipped_calendar_files_match_exchange_calendars() -> None:
    """sessions.json and holidays.json are what the installed exchange_calendars gives; when
    it learns of a new closure, regenerate them with
    `python -m stocksdb.foundation.reference_build`."""
    shipped = json.loads((DEFAULT_DIR / "holidays.json").read_text())
    assert shipped["holidays"] == holiday_records(), "regenerate the reference files"
    sessions = json.loads((DEFAULT_DIR / "sessions.json").read_text())
    assert sessions["exchanges"] == session_records(), "regenerate the reference files"


def test_reference_files_are_package_data() -> None:
    """pyproject ships the three files with the package (a wheel install finds them)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["stocksdb"]
    package = ROOT / "src" / "stocksdb"
    shipped = {p.name for g in globs for p in package.glob(g)}
    assert {"instruments.json", "sessions.json", "holidays.json"} <= shipped, globs
    assert package / "config" / "reference" == DEFAULT_DIR


def test_load_all_is_memoized_and_refresh_rereads_only_a_changed_file(ref_dir: Path) -> None:
    """The same dataset comes back until a file's content changes and refresh is asked for;
    touching a file (new mtime, same bytes) is not a change."""
    loader = loader_for(ref_dir)
    first = loader.load_all()
    assert loader.load_all() is first and loader.load_all(refresh=True) is first
    path = ref_dir / "instruments.json"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert loader.load_all(refresh=True) is first
    path.write_text(INSTRUMENTS.replace("A Corp", "A Corporation"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 9_000_000_000))
    assert loader.load_all() is first, "without refresh the memoized dataset stays"
    second = loader.load_all(refresh=True)
    assert second is not first
    assert second.instruments["AAA"].name == "A Corporation"
    assert loader.load_all(refresh=True) is second


def error_of(root: Path) -> ReferenceDataError:
    with pytest.raises(ReferenceDataError) as caught:
        loader_for(root).load_all()
    return caught.value


@pytest.mark.parametrize(("text", "line", "field", "says"), [
    # AAA's record is line 3; its FIGI, moved to line 4, has a wrong check digit
    # (BBG000B9XRY4 is valid)
    (INSTRUMENTS.replace('"currency": "USD"},', '"currency": "USD",\n'
                         '     "composite_figi": "BBG000B9XRY5"},', 1),
     4, "composite_figi", "is not a FIGI"),
    # the FX pair (lines 4-5) lacks its base currency: the record's first line is named
    (INSTRUMENTS.replace('"base_currency": "EUR", ', ""), 4, "base_currency",
     "required field is missing"),
    # a misspelt field is refused, not ignored
    (INSTRUMENTS.replace('"currency": "USD"}', '"curency": "USD"}', 1), 3, "curency",
     "unknown field"),
    (INSTRUMENTS.replace('"symbol": "EURUSD"', '"symbol": "AAA"'), 4, "symbol",
     "listed twice"),
    (INSTRUMENTS.replace('"asset_class": "fx"', '"asset_class": "forex"'), 4, "asset_class",
     "is not one of equity, etf, index, fx, future"),
])
def test_a_bad_instrument_names_the_file_line_and_field(
        ref_dir: Path, text: str, line: int, field: str, says: str) -> None:
    (ref_dir / "instruments.json").write_text(text)
    err = error_of(ref_dir)
    assert (err.path, err.line, err.field) == (ref_dir / "instruments.json", line, field)
    assert says in str(err)
    assert f"instruments.json, line {line}, field {field!r}: " in str(err)


def test_a_json_syntax_error_names_its_line(ref_dir: Path) -> None:
    """A missing comma on line 3 is reported where the parser stopped (line 4)."""
    (ref_dir / "instruments.json").write_text(INSTRUMENTS.replace('"USD"},', '"USD"}', 1))
    err = error_of(ref_dir)
    assert (err.line, err.field) == (4, None)
    assert "not valid JSON" in str(err)


def test_a_holiday_of_an_unknown_exchange_names_its_line(ref_dir: Path) -> None:
    """The holidays file's first record (line 6) moved to an exchange the sessions file lacks."""
    path = ref_dir / "holidays.json"
    lines = path.read_text().splitlines(keepends=True)
    assert '"date": "1990-01-01"' in lines[5]
    lines[5] = lines[5].replace('"XNYS"', '"XLON"')
    path.write_text("".join(lines))
    err = error_of(ref_dir)
    assert (err.path, err.line, err.field) == (path, 6, "exchange")
    assert "'XLON' is not an exchange of the sessions file" in str(err)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    err = error_of(tmp_path)
    assert err.path == tmp_path / "instruments.json" and "cannot be read" in str(err)
