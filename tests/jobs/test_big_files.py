"""Day files of any size load with bounded memory, and a file over the limit fails its date
(issue 9, defect 5)."""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import sys
from datetime import date
from pathlib import Path

from stocksdb.config import Settings
from stocksdb.db.connection import connect
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import DAY_HEADER, load_reference, make_bar
from tests.fix_pg import checksums

DAY = "2024-01-03"


def day_file(root: Path) -> Path:
    return root / "flatfiles/us_stocks_sip/day_aggs_v1/2024/01" / f"{DAY}.csv.gz"


def write_padded(root: Path, rows: list[dict[str, object]], pad: int) -> int:
    """Write DAY's file with an extra `note` column of `pad` characters per row (vendors add
    columns; ours are ignored); returns the decompressed size."""
    cols = [*DAY_HEADER.split(","), "note"]
    note = "x" * pad
    text = "\n".join([",".join(cols)] + [",".join(str(r.get(c, note)) for c in cols)
                                        for r in rows]) + "\n"
    day_file(root).write_bytes(gzip.compress(text.encode(), compresslevel=1, mtime=0))
    return len(text)


def test_file_over_the_limit_fails_its_date_with_file_too_large(db: str, market: Path) -> None:
    """STOCKSDB_MAX_FILE_BYTES below a file's decompressed size: the date fails, named, with
    the reason code; nothing is written for it; the other dates load."""
    load_reference(db, market)
    run_job(Settings(), db, RunRequest(job="prices_daily", path=market, start=date(2024, 1, 2)))
    before = checksums(db)
    settings = Settings.from_env({"STOCKSDB_MAX_FILE_BYTES": "200"})
    report = run_job(settings, db, RunRequest(job="prices_daily", path=market,
                                              start=date(2024, 1, 2)))
    assert report.status == "partial"
    assert set(report.extra["failed_dates"]) == {"2024-01-02", "2024-01-03", "2024-01-04"}
    assert "file_too_large" in report.extra["failed_dates"][DAY]
    assert checksums(db)["prices_daily"] == before["prices_daily"]


def test_a_file_read_in_batches_is_judged_across_batches(db: str, market: Path) -> None:
    """A 40 MB file (several record batches): rows equal to an earlier batch's are
    duplicate_row, a conflicting copy in a later batch rejects every copy of that ticker, and
    the other bars load once."""
    load_reference(db, market)
    aapl, ibm, fb = (make_bar("AAPL", DAY, 181), make_bar("IBM", DAY, 161),
                     make_bar("FB", DAY, 351))
    filler = [dict(ibm) for _ in range(4000)]
    size = write_padded(market, [aapl, ibm, fb, *filler, dict(aapl, close=181.5,
                                                            high=182)], pad=10_000)
    assert size > 40_000_000
    report = run_job(Settings(), db, RunRequest(job="prices_daily", path=market,
                                                start=date(2024, 1, 3), end=date(2024, 1, 3)))
    assert not report.extra["failed_dates"], report.as_dict()
    assert report.rejected == {"duplicate_row": 4000, "duplicate_ticker": 2}, report.rejected
    with connect(db) as c:
        got = c.execute("SELECT symbol, close FROM ohlcv_daily ORDER BY 1").fetchall()
    assert got == [("FB", 351.0), ("IBM", 161.0)]


def test_peak_memory_does_not_grow_with_the_file(db: str, market: Path, tmp_path: Path) -> None:
    """A 300 MB (decompressed) day file loads under a 3 GiB address-space limit, and the
    loader's peak RSS stays within 200 MB of its peak on a 3-row file."""
    load_reference(db, market)
    small = subprocess_rss(db, market, tmp_path)
    rows = [make_bar(f"Z{i % 5000}", DAY, 10) for i in range(30_000)]
    rows.insert(15_000, make_bar("AAPL", DAY, 181))
    assert write_padded(market, rows, pad=10_000) > 300_000_000
    big = subprocess_rss(db, market, tmp_path)
    assert big - small < 200 * 1024, (small, big)
    with connect(db) as c:
        got = c.execute("SELECT symbol, close FROM ohlcv_daily WHERE time = %s",
                        (DAY,)).fetchall()
    assert got == [("AAPL", 181.0)]


def subprocess_rss(dsn: str, root: Path, tmp: Path) -> int:
    """Peak RSS (KiB) of one loader process (only AAPL, so the skipped rows are not
    recorded), limited to 3 GiB of address space, as the kernel measured it (wait4)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    with (tmp / "err.txt").open("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stocksdb", "--dsn", dsn, "run", "prices_daily", "--path",
             str(root), "--start", DAY, "--end", DAY, "--symbols", "AAPL"],
            stdout=subprocess.DEVNULL, stderr=err, preexec_fn=limit)  # noqa: PLW1509
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        assert proc.returncode == 0, err.read()
    return int(usage.ru_maxrss)
