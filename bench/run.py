"""`make bench`: every benchmark, in one process, printed as rows/s and ratios.

Results are printed and written to bench/data/results.json; docs/performance.md records them.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_backbone as bb  # noqa: E402
import bench_prices as bp  # noqa: E402
from common import DATA, bench_server, ensure_market, fresh_database, timed  # noqa: E402

from stocksdb.db.server import EmbeddedServer  # noqa: E402


def rate(rows: int, seconds: float) -> float:
    value = rows / seconds if seconds > 0 else float("nan")
    print(f"  ... {rows:,} rows in {seconds:.1f}s = {value:,.0f} rows/s", flush=True)
    return value


def main() -> None:
    market = ensure_market()
    server = bench_server()
    results: dict[str, object] = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                  f"Python {platform.python_version()}"}
    bp.prepare_reference(server, market)
    dsn, rows, firsts, copies, payloads = first_loads_and_copies(server, market)
    t_copy, first_s = statistics.median(copies), statistics.median(firsts)
    limit_rows, t_limit_copy, t_limit_index = bp.median_limit(dsn)
    _, t_filed_copy, t_filed_index = bp.physical_limit(dsn, as_filed=True)
    with timed() as t_rerun:
        rerun = bp.load(dsn, market)
    originals = bp.republish(market)
    try:
        with timed() as t_repub:
            repub = bp.load(dsn, market)
    finally:
        for path, data in originals.items():
            path.write_bytes(data)
    bp.load(dsn, market)  # back to the original files
    em_rows, t_em = bp.executemany(dsn, payloads[:10])
    ts_rows, t_ts = bp.to_sql(dsn, payloads[:2])
    r = {
        "rows": rows,
        "a_bare_copy_rows_s": rate(rows, t_copy),
        "b_first_load_rows_s": rate(rows, first_s),
        "a_b_trials_s": {"first_load": firsts, "bare_copy": copies},
        "c_rerun_rows_s": rate(int(rerun["rows_unchanged"]), t_rerun()),
        "d_republished_rows_s": rate(rows, t_repub()),
        "d_counts": {k: repub[k] for k in ("rows_updated", "rows_deleted", "rows_unchanged")},
        "e_executemany_rows_s": rate(em_rows, t_em),
        "f_to_sql_multi_rows_s": rate(ts_rows, t_ts),
        "g_physical_limit_rows_s": rate(limit_rows, t_limit_copy + t_limit_index),
        "g_copy_s": round(t_limit_copy, 2), "g_index_s": round(t_limit_index, 2),
        "g_as_filed_rows_s": rate(limit_rows, t_filed_copy + t_filed_index),
    }
    r["ratio_b_over_a"] = r["b_first_load_rows_s"] / r["a_bare_copy_rows_s"]  # type: ignore[operator]
    r["ratio_c_over_b"] = r["c_rerun_rows_s"] / r["b_first_load_rows_s"]  # type: ignore[operator]
    r["ratio_b_over_e"] = r["b_first_load_rows_s"] / r["e_executemany_rows_s"]  # type: ignore[operator]
    r["ratio_b_over_g"] = r["b_first_load_rows_s"] / r["g_physical_limit_rows_s"]  # type: ignore[operator]
    r["ratio_b_over_f"] = r["b_first_load_rows_s"] / r["f_to_sql_multi_rows_s"]  # type: ignore[operator]
    r["to_sql_full_year_extrapolated_s"] = rows / r["f_to_sql_multi_rows_s"]  # type: ignore[operator]
    month, year = bp.peak_rss(server, market, "2024-01-31"), bp.peak_rss(server, market,
                                                                       "2024-12-31")
    r["rss_month"], r["rss_year"] = month, year
    r["ratio_rss_year_over_month"] = year["peak_rss_mb"] / month["peak_rss_mb"]
    r.update(bp.read_paths(dsn))
    results["prices_daily"] = r
    results["adjustment_factors_daily"] = factor_results(dsn, market)
    r.update(bp.api_reads(dsn))  # adjusted reads need the factors written just above
    print_results(results)
    results["backbone"] = bb.backbone_results(dsn)   # cache hit vs direct; telemetry latency
    (DATA / "results.json").write_text(json.dumps(results, indent=2, default=str))


def first_loads_and_copies(server: EmbeddedServer, market: Path) -> tuple[
        str, int, list[float], list[float], list[bytes]]:
    """(a) and (b) swing ±20% between runs on a shared 2-core machine: three of each,
    interleaved (b, a, b, a, b, a); the last first load's database is kept for what follows.
    Returns its DSN, the rows, the first-load and bare-COPY seconds, the day payloads."""
    firsts, copies = [], []
    payloads: list[bytes] = []
    dsn, rows = "", 0
    # Not timed: the process's first job run imports and sets up what every later one reuses
    # (0.85 s more for a 3-session load than the same load run again), which only the first
    # of the three first loads would otherwise pay.
    warm = fresh_database(server, "bench_warm", template="bench_ref")
    bp.load_range(warm, market, date(2024, 1, 2), date(2024, 1, 5))
    for _ in range(3):
        dsn = fresh_database(server, "bench_load", template="bench_ref")
        _checkpoint(dsn)      # neither pays for the dirty pages of the one before
        with timed() as t_first:
            counts = bp.load(dsn, market)
        firsts.append(t_first())
        rows = int(counts["rows_written"])
        payloads = payloads or bp.dump_days(dsn)
        _checkpoint(dsn)
        copies.append(bp.bare_copy(dsn, payloads))
    print(f"  (b) first loads {', '.join(f'{t:.1f}' for t in firsts)} s; (a) bare COPY "
          f"{', '.join(f'{t:.1f}' for t in copies)} s", flush=True)
    return dsn, rows, firsts, copies, payloads


def _checkpoint(dsn: str) -> None:
    from stocksdb.db.connection import connect

    with connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def factor_results(dsn: str, market: Path) -> dict[str, float]:
    f = bp.factors(dsn, market)
    f["rows_s"] = rate(int(f["rows"]), f["first_s"])
    f["bare_copy_rows_s"] = rate(int(f["rows"]), f["bare_copy_s"])
    f["ratio_over_bare_copy"] = f["rows_s"] / f["bare_copy_rows_s"]
    return f


def print_results(results: dict[str, object]) -> None:
    r = results["prices_daily"]
    assert isinstance(r, dict)
    print(f"\nmachine: {results['machine']}; rows: {r['rows']:,}")
    lines = [
        ("(a) bare COPY, keyed table (baseline)", r["a_bare_copy_rows_s"], None),
        ("(b) prices_daily first load", r["b_first_load_rows_s"],
         f"{r['ratio_b_over_a']:.2f} x (a)   target >= 0.8"),
        ("(c) re-run, unchanged files", r["c_rerun_rows_s"],
         f"{r['ratio_c_over_b']:.2f} x (b)   target >= 1.0"),
        ("(d) re-run, 12 files republished", r["d_republished_rows_s"], str(r["d_counts"])),
        ("(e) psycopg executemany upsert", r["e_executemany_rows_s"],
         f"(b) is {r['ratio_b_over_e']:.1f} x   target >= 3"),
        ("(f) pandas to_sql(method='multi')", r["f_to_sql_multi_rows_s"],
         f"(b) is {r['ratio_b_over_f']:.0f} x   target >= 30"),
        ("(g) physical limit: binary COPY, no index", r["g_physical_limit_rows_s"],
         f"COPY {r['g_copy_s']}s + key and index {r['g_index_s']}s, median of 3; (b) is "
         f"{r['ratio_b_over_g']:.2f} x   issue 16: hydration >= 0.5"),
        ("(g) as filed (plain key, COPY with WAL)", r["g_as_filed_rows_s"],
         f"(b) is {r['b_first_load_rows_s'] / r['g_as_filed_rows_s']:.2f} x"),
    ]
    for name, value, note in lines:
        print(f"{name:40} {value:>12,.0f} rows/s   {note or ''}")
    print(f"peak RSS: 1 month {r['rss_month']['peak_rss_mb']} MB, 1 year "
          f"{r['rss_year']['peak_rss_mb']} MB -> {r['ratio_rss_year_over_month']:.2f} x "
          "(target <= 1.2)")
    print(f"read paths (median): one security's history {r['security_history_ms']} ms, "
          f"one date's cross-section {r['date_cross_section_ms']} ms (target < 20 ms)")
    print(f"read_prices (adjusted, median): one security's year {r['api_security_history_ms']} "
          f"ms, 500 securities' year {r['api_500_securities_ms']} ms")
    f = results["adjustment_factors_daily"]
    assert isinstance(f, dict)
    print(f"adjustment factors (crsp), {f['rows']:,} rows: first run {f['first_s']:.1f}s "
          f"({f['rows_s']:,.0f} rows/s, {f['ratio_over_bare_copy']:.2f} x a bare COPY of the "
          f"same rows), unchanged re-run {f['rerun_s']:.1f}s, post-gate alone "
          f"{f['post_gate_s']:.1f}s")


if __name__ == "__main__":
    main()
