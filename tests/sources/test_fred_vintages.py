"""FredVintages and the macro files reader against recorded FRED answers on loopback.

Expected values are read by hand from tests/resources/vendors/fred/ (see its README).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from stocksdb.config import Settings
from stocksdb.domain.reasons import Reason
from stocksdb.errors import InputError, InputFileError, VendorResponseError
from stocksdb.sources.fred_vintages import (
    FredVintages,
    parse_series_id,
    parse_vintage_rows,
    read_series_answer,
    series_in_tree,
)
from tests.fix_http import VENDORS, FakeClock, load_vendor_json, vendor_bytes

OBSERVATIONS, SERIES = "/fred/series/observations", "/fred/series"
NO_SUCH_SERIES = json.dumps({"error_code": 400,
                             "error_message": "Bad Request.  The series does not exist."})
BAD_KEY = json.dumps({"error_code": 400, "error_message": "Bad Request.  The value for variable "
                      "api_key is not registered."})


def vintages(httpserver: HTTPServer, clock: FakeClock, key: str) -> FredVintages:
    """A FredVintages aimed at the loopback server, on fake time."""
    return FredVintages(Settings(fred_url=httpserver.url_for("/").rstrip("/"), fred_api_key=key),
                        clock=clock.clock, sleep=clock.sleep)


def serve(httpserver: HTTPServer, path: str, answers: dict[str, tuple[bytes | str, int]]
          ) -> None:
    """Answer `path` with the (body, status) registered for the request's series_id."""
    def handler(request: Request) -> Response:
        body, status = answers[request.args["series_id"]]
        return Response(body, status=status, content_type="application/json")
    httpserver.expect_request(path).respond_with_handler(handler)


def test_recorded_gdp_answer_parses_with_dots_missing_not_zero() -> None:
    """315 recorded observations: the four 1946 quarters are "." -> None; 1947-01-01 is
    243.164; every row covers 2024-10-30 only, as FRED said that day."""
    rows = load_vendor_json("fred/gdp_observations.json")["observations"]
    got, problems = parse_vintage_rows(rows)
    assert (len(got), problems) == (315, [])
    assert [v.obs_date for v in got if v.value is None] == [
        date(1946, 1, 1), date(1946, 4, 1), date(1946, 7, 1), date(1946, 10, 1)]
    assert all(v.value != 0 for v in got)
    assert (got[4].obs_date, got[4].value) == (date(1947, 1, 1), 243.164)
    assert {(v.realtime_start, v.realtime_end) for v in got} == {
        (date(2024, 10, 30), date(2024, 10, 30))}


def test_all_vintages_are_asked_for_with_the_key_and_a_404_series_keeps_no_metadata(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """One observations request with realtime 1776-07-04..9999-12-31, the window, JSON, the
    key and FRED's largest page; then the series request (404 here: not recorded)."""
    serve(httpserver, OBSERVATIONS, {"GDP": (vendor_bytes("fred/gdp_observations.json"), 200)})
    httpserver.expect_request(SERIES).respond_with_data("", status=404)
    [answer] = vintages(httpserver, fake_clock, fake_key).answers(
        ["GDP"], date(1946, 1, 1), None)
    assert (answer.series_id, len(answer.rows), answer.info, answer.missing) == (
        "GDP", 315, None, None)
    assert fake_key not in answer.source_key
    asked = [(r.path, dict(r.args)) for r, _ in httpserver.log]
    assert asked[0] == (OBSERVATIONS, {
        "series_id": "GDP", "realtime_start": "1776-07-04", "realtime_end": "9999-12-31",
        "observation_start": "1946-01-01", "file_type": "json", "api_key": fake_key,
        "limit": "100000", "offset": "0"})
    assert asked[1] == (SERIES, {"series_id": "GDP", "file_type": "json", "api_key": fake_key})


def test_series_metadata_comes_from_the_series_answer(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """GNPCA (fredr recordings): an empty observations answer (from 2050) and its metadata."""
    serve(httpserver, OBSERVATIONS,
          {"GNPCA": (vendor_bytes("fred/gnpca_observations_empty.json"), 200)})
    serve(httpserver, SERIES, {"GNPCA": (vendor_bytes("fred/gnpca_series.json"), 200)})
    [answer] = vintages(httpserver, fake_clock, fake_key).answers(
        ["GNPCA"], date(2050, 1, 1), None)
    assert answer.rows == [] and answer.info is not None
    info = answer.info
    assert (info.title, info.frequency, info.units, info.seasonal_adjustment) == (
        "Real Gross National Product", "Annual", "Billions of Chained 2012 Dollars",
        "Not Seasonally Adjusted")
    assert info.last_updated == datetime(2020, 3, 26, 8, 10, 46,
                                         tzinfo=timezone(timedelta(hours=-5)))
    assert info.notes == "BEA Account Code: A001RX\n\n"


def test_an_unknown_series_is_missing_and_a_bad_key_is_an_error_without_the_key(
        httpserver: HTTPServer, fake_clock: FakeClock, fake_key: str) -> None:
    """FRED's documented 400 for an unknown id marks the series missing; another 400 (a key
    FRED does not know) raises, and the key is not in the message."""
    serve(httpserver, OBSERVATIONS, {"NOPE": (NO_SUCH_SERIES, 400), "GDP": (BAD_KEY, 400)})
    source = vintages(httpserver, fake_clock, fake_key)
    [answer] = source.answers(["NOPE"], None, None)
    assert answer.missing is not None and "does not exist" in answer.missing
    with pytest.raises(VendorResponseError) as info:
        list(source.answers(["GDP"], None, None))
    assert "HTTP 400" in str(info.value) and fake_key not in str(info.value)


def test_files_tree_lists_series_and_refuses_a_partial_page(tmp_path: Path) -> None:
    """macro/observations/<ID>.json: GDP reads whole; GNPCA's recorded first page (count 91,
    20 observations) is refused; a series without a file is missing."""
    folder = tmp_path / "macro" / "observations"
    folder.mkdir(parents=True)
    shutil.copyfile(VENDORS / "fred" / "gdp_observations.json", folder / "GDP.json")
    shutil.copyfile(VENDORS / "fred" / "gnpca_observations_page1.json", folder / "GNPCA.json")
    assert series_in_tree(tmp_path) == ["GDP", "GNPCA"]
    gdp = read_series_answer(tmp_path, "GDP")
    assert (len(gdp.rows), gdp.info, gdp.source_key) == (315, None, str(folder / "GDP.json"))
    with pytest.raises(InputFileError, match="not a whole FRED observations answer"):
        read_series_answer(tmp_path, "GNPCA")
    assert read_series_answer(tmp_path, "CPIAUCSL").missing is not None


def test_unreadable_observations_are_problems_with_reasons() -> None:
    """Bad date, bad value, infinite value, inverted range and a repeated vintage."""
    good = {"realtime_start": "2024-10-30", "realtime_end": "9999-12-31", "date": "2024-07-01",
            "value": "29349.924"}
    rows: list[Any] = [good, {**good, "date": "Q3"}, {**good, "value": "n/a"},
                       {**good, "date": "2024-04-01", "value": "inf"},
                       {**good, "date": "2024-01-01", "realtime_end": "2024-10-29"}, good]
    got, problems = parse_vintage_rows(rows)
    assert [v.value for v in got] == [29349.924]
    assert [p[0] for p in problems] == [Reason.INVALID_DATE, Reason.UNPARSEABLE_VALUE,
                                        Reason.NON_FINITE_VALUE,
                                        Reason.INVERTED_REALTIME_RANGE, Reason.DUPLICATE_KEY]


def test_series_ids_are_checked_because_they_name_files() -> None:
    assert parse_series_id(" gdp ") == "GDP"
    with pytest.raises(InputError, match="not a FRED series id"):
        parse_series_id("../etc/passwd")
