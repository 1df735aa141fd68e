"""`db psql` and `db url` keep the database password out of process lists and output."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.fix_cli import stocksdb
from tests.fix_pg import superuser_password

SRC = Path(__file__).resolve().parents[2] / "src"


def cmdlines_holding(secret: str) -> list[str]:
    """Command lines of all processes that contain `secret`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            raw = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if secret.encode() in raw:
            found.append(raw.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_db_psql_passes_arguments_and_no_password_on_its_command_line(db: str) -> None:
    """`db psql -c ...` runs the query; while it runs no command line holds the password."""
    password = superuser_password(db)
    env = dict(os.environ, STOCKSDB_DSN=make_conninfo(db, password=password, passfile=""),
               PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "stocksdb", "db", "psql", "-XAt", "-c",
         "select 'psql-ran', pg_sleep(2)"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    while proc.poll() is None:
        seen += cmdlines_holding(password)
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0 and "psql-ran" in out, err
    assert not seen, f"password visible in process list: {seen[:2]}"


def test_db_url_is_redacted_unless_asked(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`db url` prints no password; `--show-password` prints a DSN that carries it."""
    password = superuser_password(db)
    with_pw = make_conninfo(db, password=password)
    code, out, _ = stocksdb(capsys, "--dsn", with_pw, "db", "url")
    assert code == 0 and password not in out and "***" in out
    code, out, _ = stocksdb(capsys, "--dsn", db, "db", "url", "--show-password")
    assert code == 0 and conninfo_to_dict(out.strip())["password"] == password
