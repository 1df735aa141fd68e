"""Run the prices_daily loader over a range in this process and print its peak RSS and time
(JSON).

Usage: python bench/rss_probe.py DSN MARKET_DIR START END
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import date
from pathlib import Path

from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job


def main() -> None:
    dsn, root, start, end = sys.argv[1:5]
    t0 = time.perf_counter()
    report = run_job(Settings(), dsn, RunRequest(job="prices_daily", path=Path(root),
                                                 start=date.fromisoformat(start),
                                                 end=date.fromisoformat(end)))
    elapsed = time.perf_counter() - t0
    assert report.status == "succeeded", report.as_dict()
    peak_kb = _peak_rss_kb()
    print(json.dumps({"peak_rss_mb": round(peak_kb / 1024, 1), "seconds": round(elapsed, 2),
                      "rows": report.counts.get("rows_written", 0),
                      "sessions": report.counts.get("sessions_ok", 0)}))


def _peak_rss_kb() -> int:
    """This process's own peak RSS: VmHWM (Linux). getrusage's ru_maxrss survives execve, so a
    probe started from a big parent (the bench holds every day's rows) reported the parent's
    size: one month and one year both read 620 MB in one run."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main()
