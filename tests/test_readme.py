"""The README's Python and SQL blocks run, as a user runs them, against a database hydrated from a
generated sample (the tour's `sample/`), and give what the sample's manifest says. The SQL
blocks of docs/ run too. (The tour's shell block: tests/test_readme_tour.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample
from tests.fix_pg import PgServer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# Markdown with SQL a reader may paste (docs/cli.md is generated from --help: no SQL).
SQL_DOCS = (README, *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "cli.md"))
START, END = date(2024, 1, 2), date(2024, 4, 30)
JOBS = ("securities_master", "ticker_history", "prices_daily", "corporate_actions",
        "adjustment_factors_daily", "fundamentals_quarterly_raw", "fundamentals_derived",
        "macro_observations")
DATABASE_ONLY = ("adjustment_factors_daily", "fundamentals_derived")
# Appended to each block: prints what it computed (DataFrames summarized, ints as they are).
PROBE = """
import json as _json
import pandas as _pd

def _summary(value):
    if not isinstance(value, _pd.DataFrame):
        return value
    out = {"rows": len(value)}
    if "ticker" in value:
        out["tickers"] = sorted({str(t) for t in value["ticker"]})
    if "trade_date" in value:
        out["trade_dates"] = sorted({str(d)[:10] for d in value["trade_date"]})
    if "security_id" in value:
        out["security_ids"] = sorted({int(i) for i in value["security_id"]})
    if "filed_date" in value:
        out["filed_dates"] = sorted({str(d)[:10] for d in value["filed_date"]})
    if {"series_id", "date", "value"} <= set(value.columns):
        out["values"] = {f"{s} {str(d)[:10]}": None if v != v else float(v)
                         for s, d, v in zip(value["series_id"], value["date"], value["value"])}
    return out

print("PROBE " + _json.dumps({k: _summary(v) for k, v in list(globals().items())
                              if not k.startswith("_") and isinstance(v, (_pd.DataFrame, int))}))
"""


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the ```python fenced blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```$", markdown, flags=re.M | re.S)


def sql_blocks(markdown: str) -> list[str]:
    """The bodies of the ```sql fenced blocks, in order."""
    return re.findall(r"^```sql\n(.*?)^```$", markdown, flags=re.M | re.S)


def hydrate(dsn: str, root: Path) -> None:
    """Load the sample as the README's tour does (the jobs the blocks read)."""
    for job in JOBS:
        dated = job == "prices_daily"
        files = job not in DATABASE_ONLY
        report = run_job(Settings(), dsn, RunRequest(
            job=job, source="files" if files else None, path=root if files else None,
            start=START if dated else None, end=END if dated else None))
        assert report.status == "succeeded", report.as_dict()


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `sample/`: 50 securities, 2024-01-02 .. 2024-04-30."""
    root = tmp_path_factory.mktemp("readme")
    generate_sample(root / "sample", securities=50, start=START, end=END, seed=7)
    return root


@pytest.fixture(scope="module")
def hydrated(pg_server: PgServer, template_db: str, sample_root: Path) -> Iterator[str]:
    """The DSN of a database holding the whole sample (the tour's jobs)."""
    name = pg_server.clone(template_db, prefix="readme_")
    hydrate(pg_server.dsn(name), sample_root / "sample")
    yield pg_server.dsn(name)
    pg_server.drop(name)


def run_block(code: str, cwd: Path, dsn: str) -> dict[str, Any]:
    """Run `code` in a fresh interpreter in `cwd`, configured by STOCKSDB_DSN only."""
    env = {**os.environ, "STOCKSDB_DSN": dsn}
    done = subprocess.run([sys.executable, "-c", code + PROBE], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"a README block failed:\n{code}\n{done.stderr}"
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE "))
    return dict(json.loads(line.removeprefix("PROBE ")))


def test_readme_has_python_and_sql_blocks() -> None:
    """The extraction finds the README's blocks (so the tests below cannot pass vacuously)."""
    text = README.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert len(blocks) == 2 and all("import" in b for b in blocks), blocks
    assert any("ohlcv_daily" in b for b in sql_blocks(text))


@pytest.fixture(scope="module")
def ran(hydrated: str, sample_root: Path) -> dict[str, Any]:
    """What each README Python block computed, run on its own, merged."""
    got: dict[str, Any] = {}
    for block in python_blocks(README.read_text(encoding="utf-8")):
        got |= run_block(block, sample_root, hydrated)
    return got


def test_readme_prices_block_reads_the_renamed_security_whole(
        ran: dict[str, Any], sample_root: Path) -> None:
    """The renamed security reads back whole: one security before and after its rename, its
    bars under both tickers, raw by FIGI as many as adjusted by symbol, and it is in the
    cross-section of its rename day (one row per security)."""
    manifest = json.loads((sample_root / "sample/manifest.json").read_text())
    renamed = manifest["cases"]["renamed"]
    context = f"the README's block changed? adapt this test. Got {ran}"
    assert ran["before"] == ran["after"] and isinstance(ran["after"], int), context
    assert ran["df"]["tickers"] == sorted([renamed["old_ticker"], renamed["new_ticker"]]), context
    assert ran["raw"]["rows"] == ran["df"]["rows"] == ran["history"]["rows"] > 0, context
    dates = ran["df"]["trade_dates"]
    assert dates[0] < renamed["change_date"] <= dates[-1], context
    day = ran["cross_section"]
    assert day["trade_dates"] == [renamed["change_date"]], context
    assert day["rows"] == len(day["security_ids"]) and ran["after"] in day["security_ids"], context


def test_readme_fundamentals_and_macro_block_is_point_in_time(
        ran: dict[str, Any], sample_root: Path) -> None:
    """The filer's quarters were all filed by the as-of day; GDP's revised quarter shows its
    first value as of its first release, and the revised value in the latest vintage (both
    from the manifest)."""
    cases = json.loads((sample_root / "sample/manifest.json").read_text())["cases"]
    context = f"the README's block changed? adapt this test. Got {ran}"
    quarters = ran["quarters"]
    assert quarters["rows"] > 0 and quarters["filed_dates"][-1] <= "2024-03-01", context
    revised = cases["macro"]["revised"]
    key = f"GDP {revised['date']}"
    assert ran["gdp_then"]["values"][key] == revised["first"]["value"], context
    assert ran["gdp_now"]["values"][key] == revised["revised"]["value"], context


def test_sql_blocks_of_readme_and_docs_run_with_the_default_search_path(
        hydrated: str) -> None:
    """Every ```sql block of README.md and docs/ runs as pasted into psql: on a plain
    connection whose search_path holds neither of our schemas."""
    with psycopg.connect(hydrated, autocommit=True) as conn:
        path = conn.execute("SHOW search_path").fetchone()
        assert path is not None and "stocks_research" not in path[0], path
        ran = 0
        for doc in SQL_DOCS:
            for block in sql_blocks(doc.read_text(encoding="utf-8")):
                try:
                    conn.execute(block.encode())
                except psycopg.Error as exc:
                    pytest.fail(f"an SQL block of {doc.name} fails: {exc}\n{block}")
                ran += 1
    assert ran >= 3, "the README and docs/checks.md have SQL blocks"
