"""Vendors that echo our keys back in their errors: the keys reach no output, log or table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from stocksdb.backup.tools import find_client_tool, run_tool, tool_connection
from tests.fix_cli import stocksdb
from tests.fix_massive import FB_DELISTED_ROW, serve_universe

FIGI_KEY = "figi_SEKRET_7q2w9e"
S3_KEY_ID = "AKIAECHO0000000KEY01"
S3_SECRET = "echoS3secret/NotForLogs/99"
S3_REFUSAL = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>'
    f"<Message>key {S3_KEY_ID} unknown (secret {S3_SECRET}); Authorization: AWS4-HMAC-SHA256 "
    f"Credential={S3_KEY_ID}/20240102/us-east-1/s3/aws4_request</Message></Error>")


def data_dump(dsn: str) -> str:
    """`pg_dump --data-only` of the database, as text."""
    conninfo, env = tool_connection(dsn)
    return run_tool(find_client_tool("pg_dump", 16), ["--data-only", f"--dbname={conninfo}"],
                    env=env, doing="dumping data for a secrets check")


def test_echoed_keys_reach_no_log_json_output_or_table(
        db: str, httpserver: HTTPServer, fake_key: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """OpenFIGI answers 'bad key <key>', S3 refuses quoting the key id, secret and Credential=:
    neither logs (text and JSON), --json output, errors nor a data-only dump holds a key."""
    serve_universe(httpserver, fake_key, delisted=[FB_DELISTED_ROW], openfigi_answer=json.dumps(
        [{"error": f"Invalid API key: bad key {FIGI_KEY}"}]))
    httpserver.expect_request(re.compile("^/flatfiles")).respond_with_data(
        S3_REFUSAL, status=403, content_type="application/xml")
    base = httpserver.url_for("/").rstrip("/")
    for name, value in {"MASSIVE_API_KEY": fake_key, "MASSIVE_API_URL": base,
                        "OPENFIGI_API_URL": base, "OPENFIGI_API_KEY": FIGI_KEY,
                        "MASSIVE_S3_ENDPOINT": base, "MASSIVE_S3_BUCKET": "flatfiles",
                        "MASSIVE_S3_ACCESS_KEY_ID": S3_KEY_ID,
                        "MASSIVE_S3_SECRET_ACCESS_KEY": S3_SECRET,
                        "MASSIVE_REST_CALLS_PER_MINUTE": "0",
                        "STOCKSDB_HOME": str(tmp_path / "home")}.items():
        monkeypatch.setenv(name, value)
    shown = []
    for log_format, job in (("json", "securities_master"), ("text", "ticker_history")):
        code, out, err = stocksdb(capsys, "--dsn", db, "--log-format", log_format, "run", job,
                                  "--source", "massive", "--json")
        assert code == 0, err
        shown += [out, err]
    code, out, err = stocksdb(capsys, "--dsn", db, "run", "prices_daily", "--source", "massive",
                              "--start", "2024-01-02", "--end", "2024-01-03", "--json")
    assert code == 1, (out, err)
    shown += [out, err]
    dump = data_dump(db)
    assert "bad key ***" in dump and "InvalidAccessKeyId" in dump, "the echoes were stored"
    for secret in (fake_key, FIGI_KEY, S3_KEY_ID, S3_SECRET):
        assert not [t for t in [*shown, dump] if secret in t], f"{secret[:4]}... leaked"
