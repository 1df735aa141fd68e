"""macro_observations: recorded GDP answers through the job on loopback, read point in time.

Expected values come from tests/resources/answers/gdp_vintages_as_of.csv (read by hand from
the recordings in tests/resources/vendors/fred/), never from the code under test.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from stocksdb.api_macro import read_macro_frame
from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.errors import GateFailedError, MissingCredentialError
from stocksdb.jobs.base import JobReport
from stocksdb.jobs.registry import get_job
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.ops.bootstrap import BootstrapOptions, job_step
from stocksdb.sample.macro import write_macro
from tests.fix_data import RESOURCES
from tests.fix_http import FAKE_KEY, vendor_bytes
from tests.fix_pg import checksums, count_rows

ANSWERS = RESOURCES / "answers" / "gdp_vintages_as_of.csv"
RECORDED = {"2024-10-30": "fred/gdp_observations.json",
            "2024-12-19": "fred/gdp_observations_2024-12-19.json"}


class Fred:
    """A loopback FRED whose observations answer is the recording of `day` (the series
    request answers 404: no GDP series answer was recorded)."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.day = "2024-10-30"
        self.settings = Settings(fred_url=httpserver.url_for("/").rstrip("/"),
                                 fred_api_key=FAKE_KEY)
        httpserver.expect_request("/fred/series/observations").respond_with_handler(
            self._observations)
        httpserver.expect_request("/fred/series").respond_with_data("", status=404)

    def _observations(self, request: Request) -> Response:
        if request.args["series_id"] != "GDP":
            return Response(json.dumps({"error_code": 400, "error_message":
                                        "Bad Request.  The series does not exist."}),
                            status=400, content_type="application/json")
        return Response(vendor_bytes(RECORDED[self.day]), content_type="application/json")

    def run(self, db: str, day: str, **options: Any) -> JobReport:
        """macro_observations --source fred as FRED answered on `day`."""
        self.day = day
        request = RunRequest(job="macro_observations", source="fred",
                             **{"series": ("GDP",), **options})
        return run_job(self.settings, db, request)


@pytest.fixture
def fred(httpserver: HTTPServer) -> Fred:
    """FRED on loopback, serving the recorded GDP answers."""
    return Fred(httpserver)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def test_gdp_vintages_read_as_of_match_the_answer_file(db: str, fred: Fred) -> None:
    """Both recordings stored (315 rows each, 4 of them "."), then every answer row holds."""
    for recorded_on in RECORDED:
        report = fred.run(db, recorded_on)
        assert report.status == "succeeded", report.as_dict()
        assert (report.counts["vintages"], report.counts["missing_values"],
                report.counts["inserted"]) == (315, 4, 315), report.counts
    assert count_rows(db, "stocks_research.macro_observations") == 630
    assert count_rows(db, "stocks_research.macro_observations", "value = 0") == 0
    with ANSWERS.open(newline="") as fh, connect(db) as conn:
        for row in csv.DictReader(fh):
            day = date.fromisoformat(row["date"])
            frame = read_macro_frame(conn, ["gdp"], start=day, end=day,
                                     as_of=_day(row["as_of"]))
            if not row["realtime_start"]:
                assert frame.empty, (row, frame)
                continue
            [got] = frame.to_dict("records")
            expected_missing = row["missing"] == "true"
            assert got["missing"] == expected_missing, (row, got)
            assert (math.isnan(got["value"]) if expected_missing
                    else got["value"] == float(row["value"])), (row, got)
            assert (got["realtime_start"], got["realtime_end"]) == (
                _day(row["realtime_start"]), _day(row["realtime_end"])), (row, got)


def test_rerun_over_the_same_answer_leaves_every_checksum(db: str, fred: Fred) -> None:
    """Same answer twice: nothing inserted or updated, and `db checksum` does not move."""
    assert fred.run(db, "2024-10-30").status == "succeeded"
    before = checksums(db)
    again = fred.run(db, "2024-10-30")
    assert (again.counts["inserted"], again.counts["updated"], again.counts["closed"],
            again.counts["unchanged"]) == (0, 0, 0, 315), again.counts
    assert checksums(db) == before


def test_the_request_asks_for_every_vintage_in_the_window(db: str, fred: Fred,
                                                          httpserver: HTTPServer) -> None:
    """--start/--end bound the observation dates asked for; the realtime range is all of it.
    Rows of the answer outside the window are not stored (the loopback ignores the window)."""
    report = fred.run(db, "2024-10-30", start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert report.counts["vintages"] == 3, report.counts   # 2024-01-01, 04-01, 07-01
    args = httpserver.log[0][0].args
    assert (args["realtime_start"], args["realtime_end"], args["observation_start"],
            args["observation_end"]) == ("1776-07-04", "9999-12-31", "2024-01-01", "2024-12-31")
    assert FAKE_KEY not in json.dumps(report.as_dict())


def test_an_unknown_series_makes_the_run_partial_and_the_others_load(db: str,
                                                                     fred: Fred) -> None:
    report = fred.run(db, "2024-10-30", series=("GDP", "NOPE"))
    assert report.status == "partial" and "series NOPE" in (report.error or ""), report.as_dict()
    assert report.counts["series"] == 1


def test_the_fred_source_needs_the_key(db: str) -> None:
    with pytest.raises(MissingCredentialError, match="FRED_API_KEY"):
        run_job(Settings(), db, RunRequest(job="macro_observations", source="fred"))


def alfred(rows: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    """An all-vintages answer of GDP with (realtime_start, realtime_end, date, value) rows."""
    return {"realtime_start": "1776-07-04", "realtime_end": "9999-12-31", "count": len(rows),
            "offset": 0, "limit": 100000,
            "observations": [{"realtime_start": a, "realtime_end": b, "date": d, "value": v}
                             for a, b, d, v in rows]}


def run_files(db: str, root: Path, answer: dict[str, Any]) -> JobReport:
    """macro_observations --source files over a tree holding `answer` as GDP."""
    path = root / "macro" / "observations" / "GDP.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(answer))
    report = run_job(Settings(), db, RunRequest(job="macro_observations", source="files",
                                                path=root))
    assert report.status == "succeeded", report.as_dict()
    return report


def stored(db: str) -> list[tuple[Any, ...]]:
    with connect(db) as conn:
        return conn.execute("SELECT obs_date::text, realtime_start::text, realtime_end::text, "
                            "value FROM stocks_research.macro_observations "
                            "ORDER BY 1, 2").fetchall()


# The recorded 2024 Q3 values: advance 29349.924 (vintage 2024-10-30), third estimate
# 29374.914 (vintage 2024-12-19); the realtime ranges below are built, not recorded.
ADVANCE_OPEN = ("2024-10-30", "9999-12-31", "2024-07-01", "29349.924")
THIRD_OPEN = ("2024-12-19", "9999-12-31", "2024-07-01", "29374.914")


def test_a_new_vintage_closes_the_previous_one_as_fred_says(db: str, tmp_path: Path) -> None:
    """Later, FRED's own answer ends the advance estimate the day before the third one: the
    stored open row takes FRED's realtime_end (an update, nothing for the rule to close)."""
    run_files(db, tmp_path, alfred([ADVANCE_OPEN]))
    report = run_files(db, tmp_path, alfred([("2024-10-30", "2024-12-18", "2024-07-01",
                                              "29349.924"), THIRD_OPEN]))
    assert (report.counts["updated"], report.counts["inserted"], report.counts["closed"]) == (
        1, 1, 0), report.counts
    assert stored(db) == [("2024-07-01", "2024-10-30", "2024-12-18", 29349.924),
                          ("2024-07-01", "2024-12-19", "9999-12-31", 29374.914)]


def test_an_answer_without_the_open_vintage_still_closes_it(db: str, tmp_path: Path) -> None:
    """A trimmed answer bringing only the new vintage: the stored open one ends the day
    before, so one value holds each day; the post-gate agrees."""
    run_files(db, tmp_path, alfred([ADVANCE_OPEN]))
    report = run_files(db, tmp_path, alfred([THIRD_OPEN]))
    assert (report.counts["inserted"], report.counts["closed"]) == (1, 1), report.counts
    assert stored(db) == [("2024-07-01", "2024-10-30", "2024-12-18", 29349.924),
                          ("2024-07-01", "2024-12-19", "9999-12-31", 29374.914)]
    assert report.gates["post"][0]["status"] == "pass", report.gates


def test_overlapping_vintages_fail_the_post_gate(db: str, tmp_path: Path) -> None:
    """Two vintages of one date both holding on 2024-12-20, written past the job for a series
    the run does not touch, fail macro_observations.vintages_disjoint."""
    with connect(db) as conn:
        conn.execute("INSERT INTO stocks_research.macro_series (series_id) VALUES ('OTHER')")
        conn.execute("INSERT INTO stocks_research.macro_observations (series_id, obs_date, "
                     "realtime_start, realtime_end, value) VALUES "
                     "('OTHER', '2024-07-01', '2024-10-30', '2024-12-20', 1), "
                     "('OTHER', '2024-07-01', '2024-12-01', '9999-12-31', 2)")
    with pytest.raises(GateFailedError, match="vintages_disjoint"):
        run_files(db, tmp_path, alfred([ADVANCE_OPEN]))


def test_bootstrap_runs_the_job_only_with_input(db: str, tmp_path: Path) -> None:
    """A files tree without macro/ and a massive profile without FRED_API_KEY skip it; with
    input it runs, and a bootstrap's session range does not cut the series' history."""
    step = job_step(get_job("macro_observations"))
    skipped = step(db, Settings(), BootstrapOptions(source="files", path=tmp_path))
    assert skipped == {"skipped": "the source tree has no macro/observations folder"}
    assert step(db, Settings(), BootstrapOptions(source="massive")) == {
        "skipped": "FRED_API_KEY is not set"}
    run_files(db, tmp_path, alfred([ADVANCE_OPEN]))
    ran = step(db, Settings(), BootstrapOptions(source="files", path=tmp_path,
                                                start=date(2025, 1, 2), end=date(2025, 1, 31)))
    assert ran["counts"]["vintages"] == 1, ran


def test_sample_macro_loads_point_in_time_with_metadata(db: str, tmp_path: Path) -> None:
    """The sample's macro folder: the revised GDP quarter reads its first value as of its
    first vintage and the revision after; the "." quarter is missing; the series metadata
    comes from macro/series/; a re-run keeps every checksum."""
    _, case = write_macro(tmp_path, date(2024, 5, 1), date(2024, 7, 31))
    first = run_job(Settings(), db, RunRequest(job="macro_observations", source="files",
                                               path=tmp_path))
    assert first.status == "succeeded" and first.counts["series"] == 3, first.as_dict()
    revised, missing = case["revised"], case["missing"]
    day = date.fromisoformat(revised["date"])
    with connect(db) as conn:
        for vintage in (revised["first"], revised["revised"]):
            as_of = date.fromisoformat(vintage["realtime_start"])
            frame = read_macro_frame(conn, ["GDP"], start=day, end=day, as_of=as_of)
            assert list(frame["value"]) == [vintage["value"]], (vintage, frame)
        gone = date.fromisoformat(missing["date"])
        frame = read_macro_frame(conn, ["GDP"], start=gone, end=gone)
        assert list(frame["missing"]) == [True] and math.isnan(frame["value"][0])
        row = conn.execute("SELECT title, frequency, units FROM stocks_research.macro_series "
                           "WHERE series_id = 'GDP'").fetchone()
    assert row == ("Gross Domestic Product", "Quarterly", "Billions of Dollars")
    before = checksums(db)
    again = run_job(Settings(), db, RunRequest(job="macro_observations", source="files",
                                               path=tmp_path))
    assert (again.counts["inserted"], again.counts["updated"]) == (0, 0), again.counts
    assert checksums(db) == before
