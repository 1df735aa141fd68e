"""SEC EDGAR companyfacts client against real payloads served on loopback, and the files layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.errors import InputFileError, MissingCredentialError
from stocksdb.sources.sec_edgar import (
    fetch_company_facts,
    fetch_company_tickers,
    parse_company_facts,
    read_company_facts,
)
from tests.fix_http import FakeClock, load_vendor_json

AGENT = "stocksdb tests test@example.com"
TESLA = "0001318605"


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def test_missing_user_agent_is_refused_before_any_request(httpserver: HTTPServer) -> None:
    """Without Settings.sec_user_agent nothing is sent and the message says what to set."""
    with pytest.raises(MissingCredentialError, match="STOCKSDB_SEC_USER_AGENT"):
        fetch_company_facts(Settings(), [TESLA], data_url=base(httpserver))
    with pytest.raises(MissingCredentialError):
        fetch_company_tickers(Settings(sec_user_agent=" "), www_url=base(httpserver))
    assert httpserver.log == []


def test_company_facts_are_fetched_with_user_agent_and_404_skipped(
        httpserver: HTTPServer, fake_clock: FakeClock) -> None:
    """Tesla is served; an unknown CIK answers 404 and is skipped; requests are spaced 0.1 s."""
    httpserver.expect_request(f"/api/xbrl/companyfacts/CIK{TESLA}.json",
                              headers={"User-Agent": AGENT}).respond_with_json(
        load_vendor_json("sec/company_facts.json"))
    httpserver.expect_request("/api/xbrl/companyfacts/CIK0000000042.json").respond_with_data(
        "not found", status=404)
    got = list(fetch_company_facts(Settings(sec_user_agent=AGENT), [1318605, "42"],
                                   data_url=base(httpserver), clock=fake_clock.clock,
                                   sleep=fake_clock.sleep))
    assert [(c.cik, c.payload["entityName"]) for c in got] == [(TESLA, "Tesla, Inc.")]
    assert got[0].source_key.endswith(f"/api/xbrl/companyfacts/CIK{TESLA}.json")
    assert len(httpserver.log) == 2 and fake_clock.sleeps == [pytest.approx(0.1)]


def test_429_is_retried(httpserver: HTTPServer, fake_clock: FakeClock) -> None:
    """A 429 then a 200: one retry after a backoff wait."""
    path = f"/api/xbrl/companyfacts/CIK{TESLA}.json"
    httpserver.expect_ordered_request(path).respond_with_data("slow down", status=429)
    httpserver.expect_ordered_request(path).respond_with_json({"cik": 1318605, "facts": {}})
    got = list(fetch_company_facts(Settings(sec_user_agent=AGENT), [TESLA],
                                   data_url=base(httpserver), clock=fake_clock.clock,
                                   sleep=fake_clock.sleep))
    assert len(got) == 1 and len(httpserver.log) == 2
    assert fake_clock.sleeps and fake_clock.sleeps[0] >= 1.0, fake_clock.sleeps


def test_company_tickers_map_to_padded_ciks(httpserver: HTTPServer) -> None:
    """company_tickers.json (documented shape) maps tickers to 10-digit CIKs."""
    httpserver.expect_request("/files/company_tickers.json").respond_with_json(
        {"0": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."},
         "1": {"cik_str": 1318605, "ticker": "TSLA", "title": "Tesla, Inc."}})
    got = fetch_company_tickers(Settings(sec_user_agent=AGENT), www_url=base(httpserver))
    assert got == {"AAPL": "0000320193", "TSLA": TESLA}


def test_files_layout_is_read_in_cik_order(tmp_path: Path) -> None:
    """DIR/fundamentals/companyfacts/CIK##########.json; other names are ignored."""
    folder = tmp_path / "fundamentals" / "companyfacts"
    folder.mkdir(parents=True)
    (folder / f"CIK{TESLA}.json").write_text('{"cik": 1318605, "facts": {}}')
    (folder / "notes.txt").write_text("not a document")
    assert [c.cik for c in read_company_facts(tmp_path)] == [TESLA]
    with pytest.raises(InputFileError, match="companyfacts"):
        list(read_company_facts(tmp_path / "missing"))


def test_parse_groups_facts_by_accession_and_period() -> None:
    """Tesla's 10-Q of 2021-10-25 states the Q3 quarter and the 9-month YTD as two periods."""
    periods, problems = parse_company_facts(load_vendor_json("sec/company_facts.json"))
    assert problems == []
    mine = {(str(p.period_start), str(p.period_end)): p for p in periods
            if p.accession == "0000950170-21-002253"}
    quarter, ytd = mine[("2021-07-01", "2021-09-30")], mine[("2021-01-01", "2021-09-30")]
    assert quarter.payload["us-gaap"]["Revenues"] == {"USD": 13757000000}
    assert ytd.payload["us-gaap"]["Revenues"] == {"USD": 36104000000}
    assert (quarter.form, str(quarter.filed_date), quarter.fiscal_period) == \
        ("10-Q", "2021-10-25", "Q3")
