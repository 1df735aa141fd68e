"""The README's Python blocks run, as a user runs them, against a database hydrated from a
generated sample (the tour's `sample/`), and give what the sample's manifest says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job
from stocksdb.sample import generate_sample

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = date(2024, 1, 2), date(2024, 4, 30)
JOBS = ("securities_master", "ticker_history", "prices_daily", "corporate_actions",
        "adjustment_factors_daily")
# Appended to the blocks: prints what they computed (DataFrames summarized, ints as they are).
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
    return out

print("PROBE " + _json.dumps({k: _summary(v) for k, v in list(globals().items())
                              if not k.startswith("_") and isinstance(v, (_pd.DataFrame, int))}))
"""


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the ```python fenced blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```$", markdown, flags=re.M | re.S)


def hydrate(dsn: str, root: Path) -> None:
    """Load the sample as the README's tour does (the jobs the Python block reads)."""
    for job in JOBS:
        extra: dict[str, Any] = {"start": START, "end": END} if job == "prices_daily" else {}
        path = None if job == "adjustment_factors_daily" else root
        report = run_job(Settings(), dsn, RunRequest(job=job, path=path, **extra))
        assert report.status == "succeeded", report.as_dict()


def run_blocks(code: str, cwd: Path, dsn: str) -> dict[str, Any]:
    """Run `code` in a fresh interpreter in `cwd`, configured by STOCKSDB_DSN only."""
    env = {**os.environ, "STOCKSDB_DSN": dsn}
    done = subprocess.run([sys.executable, "-c", code + PROBE], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"a README block failed:\n{done.stderr}"
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE "))
    return dict(json.loads(line.removeprefix("PROBE ")))


def test_readme_has_python_blocks() -> None:
    """The extraction finds the README's block (so the test below cannot pass vacuously)."""
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks and all("import" in b for b in blocks), blocks


def test_readme_python_blocks_run_against_the_sample(db: str, tmp_path: Path) -> None:
    """Every ```python block of README.md runs from the directory holding `sample/`, and the
    renamed security reads back whole: one security before and after its rename, its bars
    under both tickers, raw by FIGI as many as adjusted by symbol, and it is in the
    cross-section of its rename day (one row per security)."""
    generate_sample(tmp_path / "sample", securities=50, start=START, end=END, seed=7)
    hydrate(db, tmp_path / "sample")
    got = run_blocks("\n\n".join(python_blocks(README.read_text(encoding="utf-8"))),
                     tmp_path, db)
    manifest = json.loads((tmp_path / "sample/manifest.json").read_text())
    renamed = manifest["cases"]["renamed"]
    context = f"the README's block changed? adapt this test. Got {got}"
    assert got["before"] == got["after"] and isinstance(got["after"], int), context
    assert got["df"]["tickers"] == sorted([renamed["old_ticker"], renamed["new_ticker"]]), context
    assert got["raw"]["rows"] == got["df"]["rows"] == got["history"]["rows"] > 0, context
    dates = got["df"]["trade_dates"]
    assert dates[0] < renamed["change_date"] <= dates[-1], context
    day = got["cross_section"]
    assert day["trade_dates"] == [renamed["change_date"]], context
    assert day["rows"] == len(day["security_ids"]) and got["after"] in day["security_ids"], context
