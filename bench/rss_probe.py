"""Run the prices_daily loader over a range in this process and print its peak RSS (JSON).

Usage: python bench/rss_probe.py DSN MARKET_DIR START END
"""

from __future__ import annotations

import json
import resource
import sys
from datetime import date
from pathlib import Path

from stocksdb.config import Settings
from stocksdb.jobs.runner import RunRequest, run_job


def main() -> None:
    dsn, root, start, end = sys.argv[1:5]
    report = run_job(Settings(), dsn, RunRequest(job="prices_daily", path=Path(root),
                                                 start=date.fromisoformat(start),
                                                 end=date.fromisoformat(end)))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mb": round(peak_kb / 1024, 1),
                      "rows": report.counts.get("rows_written", 0),
                      "sessions": report.counts.get("sessions_ok", 0)}))


if __name__ == "__main__":
    main()
