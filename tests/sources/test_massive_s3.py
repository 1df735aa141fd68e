"""prices_daily from Massive's S3 flat files, served by a loopback moto server."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from stocksdb.config import Settings
from stocksdb.errors import MissingCredentialError
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sources.massive_s3 import MassiveS3
from tests.fix_data import load_reference, make_bar, ohlcv_bars, write_day
from tests.fix_pg import PgServer
from tests.fix_s3 import FAKE_S3_KEY_ID, FAKE_S3_SECRET, upload_tree

START = date(2024, 1, 2)


def values(db: str) -> list[tuple[object, ...]]:
    """Every bar's key and values (the source column says where it came from, so not that)."""
    from stocksdb.db.connection import connect

    with connect(db) as c:
        return c.execute("SELECT security_id, trade_date, open, high, low, close, volume, "
                         "transactions FROM prices_daily ORDER BY 1, 2").fetchall()


def s3_prices(settings: Settings, db: str) -> dict[str, object]:
    report = run_job(settings, db, RunRequest(job="prices_daily", source="massive", start=START,
                                              end=date(2024, 1, 4)))
    return report.as_dict()


def test_s3_load_equals_files_load(pg_server: PgServer, template_db: str, market: Path,
                                   s3_settings: Settings) -> None:
    """Loading the same day files from S3 or from disk gives identical tables."""
    upload_tree(s3_settings, market)
    via_s3, via_files = pg_server.clone(template_db), pg_server.clone(template_db)
    try:
        for name in (via_s3, via_files):
            load_reference(pg_server.dsn(name), market)
        report = s3_prices(s3_settings, pg_server.dsn(via_s3))
        assert report["status"] == "succeeded", report
        run_job(Settings(), pg_server.dsn(via_files),
                RunRequest(job="prices_daily", path=market, start=START))
        assert values(pg_server.dsn(via_s3)) == values(pg_server.dsn(via_files))
        assert len(ohlcv_bars(pg_server.dsn(via_s3))) == 9
    finally:
        pg_server.drop(via_s3)
        pg_server.drop(via_files)


def cached_files(settings: Settings) -> dict[str, tuple[int, int]]:
    """Cached day files -> (inode, mtime_ns): a download replaces the file, changing both."""
    root = settings.cache_dir / "massive" / settings.massive_s3_bucket
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in root.rglob("*.csv.gz")}


def test_rerun_uses_cache_and_republished_object_is_refetched(
        db: str, market: Path, s3_settings: Settings) -> None:
    """A re-run downloads nothing; a republished object (new ETag) is fetched and re-ingested."""
    upload_tree(s3_settings, market)
    load_reference(db, market)
    s3_prices(s3_settings, db)
    first = cached_files(s3_settings)
    assert len(first) == 3
    report = s3_prices(s3_settings, db)
    assert cached_files(s3_settings) == first
    assert report["counts"]["rows_unchanged"] == 9  # type: ignore[index]
    write_day(market, "2024-01-03", [make_bar("AAPL", "2024-01-03", 185.5),
                                     make_bar("IBM", "2024-01-03", 161),
                                     make_bar("FB", "2024-01-03", 351)])
    upload_tree(s3_settings, market)
    report = s3_prices(s3_settings, db)
    after = cached_files(s3_settings)
    changed = sorted(k for k in after if after[k] != first[k])
    assert changed == ["2024-01-03.csv.gz"]
    assert (report["counts"]["rows_updated"], report["counts"]["rows_deleted"]) == (1, 0)  # type: ignore[index]
    assert ("AAPL", "2024-01-03", 185.5) in ohlcv_bars(db)


def test_missing_object_is_a_missing_session(db: str, market: Path,
                                             s3_settings: Settings) -> None:
    """A session with no object in the bucket is reported missing, the others load."""
    (market / "flatfiles/us_stocks_sip/day_aggs_v1/2024/01/2024-01-03.csv.gz").unlink()
    upload_tree(s3_settings, market)
    load_reference(db, market)
    report = s3_prices(s3_settings, db)
    assert report["status"] == "partial" and report["missing_dates"] == ["2024-01-03"]


def test_missing_keys_refused_before_any_request(tmp_path: Path) -> None:
    """Without S3 keys the source refuses, naming the variables to set."""
    with pytest.raises(MissingCredentialError, match="MASSIVE_S3_ACCESS_KEY_ID"):
        MassiveS3(Settings(home=tmp_path))


def test_s3_secrets_never_shown(db: str, market: Path, s3_settings: Settings,
                                caplog: pytest.LogCaptureFixture) -> None:
    """The S3 keys appear in no repr, log record or error, even with a wrong endpoint."""
    upload_tree(s3_settings, market)
    load_reference(db, market)
    logging.getLogger("stocksdb").propagate = True
    caplog.set_level(logging.DEBUG)
    s3_prices(s3_settings, db)
    broken = Settings(**{**s3_settings.__dict__, "massive_s3_endpoint": "http://127.0.0.1:9"})
    report = run_job(broken, db, RunRequest(job="prices_daily", source="massive", start=START,
                                            end=date(2024, 1, 4)))
    text = caplog.text + repr(s3_settings) + repr(MassiveS3(s3_settings)) + str(report.as_dict())
    assert FAKE_S3_KEY_ID not in text and FAKE_S3_SECRET not in text
