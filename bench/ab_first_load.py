"""A/B of the first load against another version of stocksdb, interleaved by the caller.

Usage: [PYTHONPATH=OTHER/src] python bench/ab_first_load.py TAG [TRIALS]

With whatever stocksdb is importable (another commit's src/ on PYTHONPATH, e.g. a worktree),
builds its own reference database `TAG_ref` on the bench server (schema + securities +
ticker history of bench/data/market), then per trial: prices_daily over 2024 on a fresh copy
of it, and the bare COPY of the same rows. Prints one RESULT line per trial. Run two versions
alternately (A, B, A, B, ...) so both see the same machine.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_prices as bp  # noqa: E402
from common import bench_server, ensure_market, fresh_database  # noqa: E402

from stocksdb.config import Settings  # noqa: E402
from stocksdb.db.connection import connect  # noqa: E402
from stocksdb.db.migrate import migrate  # noqa: E402
from stocksdb.jobs.runner import RunRequest, run_job  # noqa: E402


def main() -> None:
    tag, trials = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    market, server = ensure_market(), bench_server()
    ref = fresh_database(server, f"{tag}_ref")
    with connect(ref, autocommit=True) as conn:
        migrate(conn)
    for job in ("securities_master", "ticker_history"):
        run_job(Settings(), ref, RunRequest(job=job, path=market))
    for _ in range(trials):
        dsn = fresh_database(server, f"{tag}_load", template=f"{tag}_ref")
        t0 = time.perf_counter()
        report = run_job(Settings(), dsn, RunRequest(job="prices_daily", path=market,
                                                     start=date(2024, 1, 2),
                                                     end=date(2024, 12, 31)))
        first = time.perf_counter() - t0
        assert report.status == "succeeded", report.status
        copy = bp.bare_copy(dsn, bp.dump_days(dsn))
        print(f"RESULT {tag} first {first:.1f}s copy {copy:.1f}s b/a {copy / first:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
