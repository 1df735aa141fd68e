"""Data fixtures: reference, day-file and corporate-action trees written by make_* builders,
and the helpers that load them or read the result back."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sources.base import SECURITY_COLUMNS, TICKER_HISTORY_COLUMNS

RESOURCES = Path(__file__).resolve().parent / "resources"

# Real composite FIGIs (OpenFIGI / Massive recorded payloads): AAPL, META, IBM.
AAPL = "BBG000B9XRY4"
META = "BBG000MM2P62"
IBM = "BBG000BLNNH6"


def make_security(composite_figi: str, **overrides: str) -> dict[str, str]:
    """A valid securities.csv row; override the fields under study."""
    row = {"composite_figi": composite_figi, "share_class_figi": "", "name": "Test Corp",
           "security_type": "CS", "primary_exchange": "XNAS", "currency": "USD",
           "cik": "0000320193", "list_date": "2000-01-03", "delist_date": "", "active": "true"}
    row.update(overrides)
    return row


def make_interval(composite_figi: str, ticker: str, valid_from: str,
                  valid_to: str = "") -> dict[str, str]:
    """A ticker_history.csv row (valid_to exclusive, empty = open)."""
    return {"composite_figi": composite_figi, "ticker": ticker, "valid_from": valid_from,
            "valid_to": valid_to}


def write_reference(root: Path, securities: Sequence[dict[str, str]],
                    intervals: Sequence[dict[str, str]],
                    security_columns: Sequence[str] = SECURITY_COLUMNS) -> Path:
    """Write DIR/reference/{securities,ticker_history}.csv; returns DIR."""
    ref = root / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    for name, rows, cols in (("securities.csv", securities, security_columns),
                             ("ticker_history.csv", intervals, TICKER_HISTORY_COLUMNS)):
        with (ref / name).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(cols), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    return root


@pytest.fixture
def reference_dir(tmp_path: Path) -> Path:
    """A reference tree with AAPL, META (FB until 2022-06-11) and IBM."""
    return write_reference(
        tmp_path / "ref",
        [make_security(AAPL, name="Apple Inc."),
         make_security(META, name="Meta Platforms", cik="0001326801", list_date="2012-05-18"),
         make_security(IBM, name="IBM", primary_exchange="XNYS", cik="0000051143")],
        [make_interval(AAPL, "AAPL", "1980-12-12"),
         make_interval(META, "FB", "2012-05-18", "2022-06-11"),
         make_interval(META, "META", "2022-06-11"),
         make_interval(IBM, "IBM", "1962-01-02")],
    )


DAY_HEADER = "ticker,volume,open,close,high,low,window_start,transactions"


def ny_midnight_ns(day: str) -> int:
    """00:00 America/New_York of `day` in epoch ns, computed with zoneinfo (not our code)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo("America/New_York"))
    return int(local.timestamp()) * 1_000_000_000


def make_bar(ticker: str, day: str, close: float = 10.0, **overrides: object) -> dict[str, object]:
    """A valid day-aggregates row for `day`; override fields to build the case under test."""
    row: dict[str, object] = {"ticker": ticker, "volume": 1000, "open": close, "close": close,
                              "high": close + 0.5, "low": close - 0.5,
                              "window_start": ny_midnight_ns(day), "transactions": 10}
    row.update(overrides)
    return row


def write_day(root: Path, day: str, rows: Sequence[dict[str, object]],
              header: str = DAY_HEADER) -> Path:
    """Write DIR/flatfiles/us_stocks_sip/day_aggs_v1/YYYY/MM/DAY.csv.gz; returns its path."""
    import gzip

    path = root / "flatfiles/us_stocks_sip/day_aggs_v1" / day[:4] / day[5:7] / f"{day}.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = header.split(",")
    lines = [header] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return path


DAYS = ["2024-01-02", "2024-01-03", "2024-01-04"]


@pytest.fixture
def market(tmp_path: Path) -> Path:
    """AAPL, IBM and META (FB until 2024-01-04, META from then) over three sessions."""
    root = write_reference(
        tmp_path / "m",
        [make_security(AAPL), make_security(IBM), make_security(META)],
        [make_interval(AAPL, "AAPL", "2000-01-03"), make_interval(IBM, "IBM", "2000-01-03"),
         make_interval(META, "FB", "2012-05-18", "2024-01-04"),
         make_interval(META, "META", "2024-01-04")])
    for i, day in enumerate(DAYS):
        fb = "FB" if day < "2024-01-04" else "META"
        write_day(root, day, [make_bar("AAPL", day, 180 + i), make_bar("IBM", day, 160 + i),
                              make_bar(fb, day, 350 + i)])
    return root


def write_actions(root: Path, splits: list[dict[str, Any]],
                  dividends: list[dict[str, Any]]) -> None:
    """Write DIR/corporate_actions/{splits,dividends}.json in Massive's envelope."""
    folder = root / "corporate_actions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "splits.json").write_text(json.dumps({"results": splits, "status": "OK"}))
    (folder / "dividends.json").write_text(json.dumps({"results": dividends, "status": "OK"}))


def split(ticker: str, day: str, sfrom: float, sto: float) -> dict[str, Any]:
    """A Massive splits row: `sfrom` shares became `sto` on `day`."""
    return {"execution_date": day, "split_from": sfrom, "split_to": sto, "ticker": ticker}


def dividend(ticker: str, day: str, amount: float, kind: str = "CD") -> dict[str, Any]:
    """A Massive dividends row (kind CD = cash, SC = special) going ex on `day`."""
    return {"cash_amount": amount, "currency": "USD", "dividend_type": kind,
            "ex_dividend_date": day, "frequency": 4, "ticker": ticker}


@pytest.fixture
def adjusted_market(db: str, market: Path) -> str:
    """The three-session market with a 1->4 split of FB/META on 2024-01-04 (close 351 -> 88),
    fully loaded."""
    day = "2024-01-04"
    write_day(market, day, [make_bar("AAPL", day, 182), make_bar("IBM", day, 162),
                            make_bar("META", day, 88)])
    write_actions(market, [split("META", "2024-01-04", 1, 4)], [])
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), db, RunRequest(job=job, path=market))
    run_job(Settings(), db, RunRequest(job="prices_daily", path=market,
                                       start=date(2024, 1, 2)))
    run_job(Settings(), db, RunRequest(job="corporate_actions", path=market))
    run_job(Settings(), db, RunRequest(job="adjustment_factors_daily"))
    return db


_LOAD = {"hydrate": True}


def load_settings() -> Settings:
    """Settings for a prices_daily run on the load path under test (both_load_paths)."""
    return Settings(hydrate=_LOAD["hydrate"])


@pytest.fixture(params=[True, False], ids=["hydration", "per-date"])
def both_load_paths(request: pytest.FixtureRequest) -> Iterator[bool]:
    """Run the test twice: loads of years with no stored bars hydrate them (the default),
    then every date goes through the per-date merge (STOCKSDB_HYDRATE=off)."""
    _LOAD["hydrate"] = bool(request.param)
    try:
        yield _LOAD["hydrate"]
    finally:
        _LOAD["hydrate"] = True


def load_reference(dsn: str, root: Path) -> None:
    """Run securities_master and ticker_history over the files tree `root`."""
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), dsn, RunRequest(job=job, path=root))


def run_counts(dsn: str, job: str, path: Path) -> dict[str, int]:
    """Run a files job that must succeed; its counts plus `rejected:<reason>` counts."""
    report = run_job(Settings(), dsn, RunRequest(job=job, source="files", path=path))
    assert report.status == "succeeded", report.as_dict()
    return {**report.counts, **{f"rejected:{k}": v for k, v in report.rejected.items()}}


def rejected_keys(dsn: str) -> list[tuple[str, str | None]]:
    """(reason_code, source_key) of every rejected row, in rejection order."""
    with connect(dsn) as c:
        return c.execute("SELECT reason_code, source_key FROM ingestion.rejected_rows "
                         "ORDER BY rejected_id").fetchall()


def ohlcv_bars(dsn: str) -> list[tuple[str, str, float]]:
    """(symbol, date, close) of every bar in the ohlcv_daily view, by date and symbol."""
    with connect(dsn) as c:
        rows = c.execute("SELECT symbol, time::text, close FROM ohlcv_daily "
                         "ORDER BY time, symbol").fetchall()
    return [(s, t, float(v)) for s, t, v in rows]
