"""CPU of the hydration's preparing thread, per session and step (issue 16).

Usage: [PYTHONPATH=OTHER/src] python bench/prep_steps.py [SESSIONS] [PASSES]

Prepares the first SESSIONS (default 61) sessions of bench/data/market again, the way the
loader's worker thread does (`prepare_session`: read, check, encode), here in one thread with
nothing else running, and prints the mean process CPU time per session of each step. Process
CPU counts Arrow's own threads too, which the preparing thread waits for. Each of PASSES
(default 2) passes prints one line. Run two versions alternately to compare them.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_prices as bp  # noqa: E402
from common import bench_server, ensure_market  # noqa: E402

from stocksdb.db.connection import connect  # noqa: E402
from stocksdb.db.queries import read_ticker_intervals  # noqa: E402
from stocksdb.jobs import prices_prepare  # noqa: E402
from stocksdb.sources import flatfiles  # noqa: E402

# (module, function, label): each wrapped call adds its process CPU to its label
STEPS: tuple[tuple[ModuleType, str, str], ...] = (
    (prices_prepare, "read_day_file", "read_day_file"),
    (flatfiles, "_scan", "of it inflate+parse"),
    (prices_prepare, "tickers_on", "tickers_on"),
    (prices_prepare, "_check_whole", "check"),
    (prices_prepare, "encode_bars", "encode_bars"),
)


def _timed(fn: Callable[..., Any], label: str, spent: dict[str, list[float]]
           ) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent.setdefault(label, []).append((time.process_time() - t0) * 1000)
    return wrapper


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 61
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    market, server = ensure_market(), bench_server()
    dsn = bp.prepare_reference(server, market, name="bench_prep_ref")
    with connect(dsn) as conn:
        intervals = read_ticker_intervals(conn)
    store = flatfiles.LocalFlatFiles(market)
    folder = market / "flatfiles" / flatfiles.DAY_AGGS_PREFIX
    sessions: list[date] = sorted(d for p in folder.glob("*/*/*.csv.gz")
                                  if (d := flatfiles.key_date(p.name)) is not None)[:count]
    for s in sessions[:3]:     # first-use costs (imports, caches) out of the figures
        prices_prepare.prepare_session(store, s, intervals, None, 0)
    spent: dict[str, list[float]] = {}
    for module, name, label in STEPS:
        setattr(module, name, _timed(getattr(module, name), label, spent))
    print(f"{len(sessions)} sessions ({sessions[0]}..{sessions[-1]}), ms of process CPU per "
          "session", flush=True)
    for _ in range(passes):
        spent.clear()
        t0 = time.process_time()
        for s in sessions:
            prep = prices_prepare.prepare_session(store, s, intervals, None, 0)
            assert prep.failure is None, prep.failure
        whole = (time.process_time() - t0) * 1000 / len(sessions)
        steps = ", ".join(f"{label} {statistics.mean(spent[label]):.2f}"
                          for _, _, label in STEPS if spent.get(label))
        print(f"  session {whole:.2f}: {steps}", flush=True)


if __name__ == "__main__":
    main()
