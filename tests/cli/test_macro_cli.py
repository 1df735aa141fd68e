"""`stocksdb macro` and `stocksdb.read_macro` over the recorded GDP answer (2024-10-30),
loaded from a files tree. Values are read by hand from
tests/resources/vendors/fred/gdp_observations.json."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

import stocksdb
from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_cli import stocksdb as run_cli
from tests.fix_http import VENDORS


@pytest.fixture
def gdp_db(db: str, tmp_path: Path) -> str:
    """The 2024-10-30 GDP recording stored through macro_observations --source files."""
    folder = tmp_path / "macro" / "observations"
    folder.mkdir(parents=True)
    shutil.copyfile(VENDORS / "fred" / "gdp_observations.json", folder / "GDP.json")
    report = run_job(Settings(), db, RunRequest(job="macro_observations", source="files",
                                                path=tmp_path))
    assert report.status == "succeeded", report.as_dict()
    return db


def test_macro_prints_csv_and_json_as_of_a_date(gdp_db: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """2024 as of 2024-10-30: three quarters (28624.069, 29016.714, 29349.924); the same
    window as of 2024-10-29 is empty (nothing was recorded as known that day)."""
    code, out, err = run_cli(capsys, "--dsn", gdp_db, "macro", "gdp", "--start", "2024-01-01",
                             "--as-of", "2024-10-30", "--format", "csv")
    assert code == 0, err
    assert out.splitlines() == [
        "series_id,date,value,missing,realtime_start,realtime_end",
        "GDP,2024-01-01,28624.069,False,2024-10-30,2024-10-30",
        "GDP,2024-04-01,29016.714,False,2024-10-30,2024-10-30",
        "GDP,2024-07-01,29349.924,False,2024-10-30,2024-10-30"]
    code, out, err = run_cli(capsys, "--dsn", gdp_db, "macro", "GDP", "--start", "2024-01-01",
                             "--as-of", "2024-10-29", "--format", "json")
    assert code == 0 and json.loads(out) == [], err


def test_macro_table_shows_dots_as_missing(gdp_db: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "--dsn", gdp_db, "macro", "GDP", "--end", "1946-01-01")
    assert code == 0 and "missing" in out and "1946-01-01" in out, out + err


def test_an_unknown_series_is_exit_2_naming_it(gdp_db: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "--dsn", gdp_db, "macro", "CPIAUCSL")
    assert code == 2 and "['CPIAUCSL'] not in macro_series" in err, err


def test_read_macro_is_public_and_keeps_dots_missing(gdp_db: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """stocksdb.read_macro('GDP'): 315 dates, the four 1946 quarters NaN and missing."""
    monkeypatch.setenv("STOCKSDB_DSN", gdp_db)
    frame = stocksdb.read_macro("GDP")
    assert len(frame) == 315 and int(frame["missing"].sum()) == 4
    first = frame.iloc[0]
    assert str(first["date"]) == "1946-01-01" and math.isnan(first["value"])
    assert "read_macro" in stocksdb.__all__
