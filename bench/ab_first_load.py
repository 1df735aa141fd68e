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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_prices as bp  # noqa: E402
from common import bench_server, ensure_market, fresh_database, timed  # noqa: E402


def main() -> None:
    tag, trials = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    market, server = ensure_market(), bench_server()
    bp.prepare_reference(server, market, name=f"{tag}_ref")
    for _ in range(trials):
        dsn = fresh_database(server, f"{tag}_load", template=f"{tag}_ref")
        with timed() as elapsed:
            bp.load(dsn, market)
        first = elapsed()
        copy = bp.bare_copy(dsn, bp.dump_days(dsn))
        print(f"RESULT {tag} first {first:.1f}s copy {copy:.1f}s b/a {copy / first:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
