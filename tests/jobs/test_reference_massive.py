"""securities_master and ticker_history with --source massive, vendors on loopback."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pytest_httpserver import HTTPServer

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.db.queries import resolve_security
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_http import vendor_bytes
from tests.fix_massive import FB_DELISTED_ROW, serve_universe


def test_massive_reference_loads_and_resolves_fb_to_meta(
        db: str, httpserver: HTTPServer, loopback_settings: Settings, fake_key: str) -> None:
    """Both jobs from Massive + OpenFIGI: FB then META is one security; IBM's FIGI is filled."""
    serve_universe(httpserver, fake_key, delisted=[FB_DELISTED_ROW],
                   openfigi_answer=vendor_bytes("openfigi/mapping/cusip_with_exchange.json"))
    settings = replace(loopback_settings, massive_rest_calls_per_minute=0)
    for job in ("securities_master", "ticker_history"):
        report = run_job(settings, db, RunRequest(job=job, source="massive"))
        assert report.status == "succeeded", report.as_dict()
    with connect(db) as c:
        ids = dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())
        assert set(ids) == {"BBG000B9XRY4", "BBG000MM2P62", "BBG000BLNNH6"}
        assert resolve_security(c, "FB", date(2020, 1, 2)) == ids["BBG000MM2P62"]
        assert resolve_security(c, "META", date(2023, 1, 3)) == ids["BBG000MM2P62"]
        assert resolve_security(c, "AAPL", date(2023, 1, 3)) == ids["BBG000B9XRY4"]
        params = c.execute("SELECT params::text FROM ingestion.job_runs").fetchall()
    assert all(fake_key not in p for (p,) in params)
