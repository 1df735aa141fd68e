"""Readers for a generated sample, written against the vendor layouts (not our code).

Every test module of tests/sample (and the tests that need a day file's path) builds its own
small sample with `make_small_sample` and reads it back with these helpers.
"""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

from stocksdb.sample import SampleManifest, generate_sample

SMALL = {"securities": 60, "start": date(2024, 5, 1), "end": date(2024, 7, 31), "seed": 7}
DAY_AGGS = Path("flatfiles", "us_stocks_sip", "day_aggs_v1")
DAY_HEADER = ["ticker", "volume", "open", "close", "high", "low", "window_start", "transactions"]


def make_small_sample(out_dir: Path, **overrides: Any) -> SampleManifest:
    """60 securities over May-July 2024 (63 sessions, including the 4 July holiday)."""
    return generate_sample(out_dir, **{**SMALL, **overrides})


def day_path(root: Path, day: str) -> Path:
    """Where Massive keeps the day-aggregates file of `day` ('YYYY-MM-DD')."""
    return root / DAY_AGGS / day[:4] / day[5:7] / f"{day}.csv.gz"


def read_day(root: Path, day: str) -> list[dict[str, str]]:
    """The rows of one day file as strings, in file order."""
    with gzip.open(day_path(root, day), "rt", newline="") as fh:
        return list(csv.DictReader(fh))


def read_day_header(root: Path, day: str) -> list[str]:
    """The header line of one day file."""
    with gzip.open(day_path(root, day), "rt", newline="") as fh:
        return next(csv.reader(fh))


def day_files(root: Path) -> dict[str, Path]:
    """Every day file under the root, keyed by the date in its name."""
    return {p.name.removesuffix(".csv.gz"): p for p in sorted((root / DAY_AGGS).rglob("*.gz"))}


def read_csv(path: Path) -> list[dict[str, str]]:
    """A reference CSV as string rows."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_json(path: Path) -> Any:
    """A JSON document."""
    return json.loads(path.read_text(encoding="utf-8"))


def rows_for(root: Path, day: str, ticker: str) -> list[dict[str, str]]:
    """The rows of `ticker` in the file of `day`."""
    return [row for row in read_day(root, day) if row["ticker"] == ticker]


def sessions_of(root: Path) -> list[str]:
    """Dates of the day files, ascending."""
    return sorted(day_files(root))


def neighbours(root: Path, day: str) -> tuple[str, str]:
    """The sessions just before and just after `day`."""
    sessions = sessions_of(root)
    at = sessions.index(day)
    return sessions[at - 1], sessions[at + 1]


def history(root: Path) -> list[dict[str, str]]:
    """reference/ticker_history.csv rows."""
    return read_csv(root / "reference" / "ticker_history.csv")


def figi_on(root: Path, ticker: str, day: str) -> str | None:
    """The composite FIGI `ticker` names on `day` per ticker history (valid_to exclusive)."""
    for row in history(root):
        if row["ticker"] == ticker and row["valid_from"] <= day and (
            row["valid_to"] == "" or day < row["valid_to"]
        ):
            return row["composite_figi"]
    return None
