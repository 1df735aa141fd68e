"""Every listing command takes --format table|csv|json, and --json stays --format json."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.fix_cli import stocksdb

# (arguments, the CSV header: the listing's columns); each runs against the test database.
LISTINGS = {
    "jobs": (["jobs"], ["job", "sources", "depends_on", "options", "atomic", "summary"]),
    "validate": (["validate", "securities_master"],
                 ["check", "status", "failed", "reason", "examples"]),
    "quality": (["quality", "--as-of", "2024-01-05"],
                ["dimension", "status", "score", "coverage", "freshness", "lag", "messages"]),
    "db status": (["db", "status"], ["table", "rows", "date_column", "first", "newest"]),
    "db checksum": (["db", "checksum"], ["table", "rows", "digest"]),
    "cache status": (["cache", "status"], ["running", "pid", "socket", "port", "owner",
                                           "orphans", "folder", "url"]),
    "prices": (["prices", "IBM,META"], ["symbol", "ticker", "composite_figi", "security_id",
                                        "trade_date", "open", "high", "low", "close", "volume",
                                        "price_factor", "volume_factor"]),
    "rejects": (["rejects"], ["rejected_id", "rejected_at", "run_id", "job", "source",
                              "trade_date", "ticker", "reason_code", "source_key", "detail",
                              "raw"]),
    "doctor": (["doctor", "--timeout", "0.5"],
               ["component", "status", "reason", "target", "origin", "elapsed_ms"]),
}


@pytest.mark.parametrize("name", list(LISTINGS))
def test_json_flag_is_format_json_and_csv_has_the_listing(
        name: str, adjusted_market: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--json and --format json print the same document; --format csv prints the listing's
    header and parses; --json with --format csv is a usage error (exit 2)."""
    args, header = LISTINGS[name]
    base = ["--dsn", adjusted_market, *args]
    _, alias, _ = stocksdb(capsys, *base, "--json")
    _, explicit, err = stocksdb(capsys, *base, "--format", "json")
    first, second = json.loads(alias), json.loads(explicit)
    for volatile in ("checked_at", "elapsed_ms", "timings_ms", "recent_runs", "abandoned_now"):
        for doc in (first, second):
            if isinstance(doc, dict):
                doc.pop(volatile, None)
    if name == "doctor":   # latencies differ run to run; the statuses must not
        first = {k: v["status"] for k, v in first["components"].items()}
        second = {k: v["status"] for k, v in second["components"].items()}
    assert first == second, err
    _, out, err = stocksdb(capsys, *base, "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows and rows[0] == header, out + err
    assert all(len(r) == len(header) for r in rows), out
    code, _, err = stocksdb(capsys, *base, "--json", "--format", "csv")
    assert code == 2 and "--json" in err, err


def test_db_checksum_json_keeps_its_shape(adjusted_market: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`db checksum --json` is still {table: {rows, digest}}, rows as JSON integers (9 bars:
    3 securities x 3 sessions)."""
    code, out, err = stocksdb(capsys, "--dsn", adjusted_market, "db", "checksum", "--json")
    got = json.loads(out)
    assert code == 0 and got["prices_daily"]["rows"] == 9, err
    assert isinstance(got["prices_daily"]["rows"], int) and len(got["prices_daily"]["digest"]) == 64
