"""Errors reach users as one sentence and an exit code; --debug adds the traceback."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from stocksdb.cli.failures import describe_failure
from stocksdb.db.connection import database_name
from tests.fix_cli import stocksdb
from tests.fix_pg import PgServer


def one_line(err: str) -> str:
    """The single `error: ...` line of stderr (fails when there is more, or a traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_prices_before_migrate_says_to_migrate(
        empty_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`prices AAPL` on a database without the schema: exit 1, one line naming `db migrate`."""
    code, _, err = stocksdb(capsys, "--dsn", empty_db, "prices", "AAPL")
    line = one_line(err)
    assert code == 1 and "stocksdb db migrate" in line and "does not exist" in line, err


def test_debug_adds_the_traceback(empty_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """With --debug the same failure shows the traceback, then the same line; exit 1."""
    code, _, err = stocksdb(capsys, "--dsn", empty_db, "--debug", "prices", "AAPL")
    assert code == 1 and "Traceback (most recent call last)" in err, err
    assert "UndefinedTable" in err and err.strip().splitlines()[-1].startswith("error: "), err


@pytest.mark.parametrize("dsn", ["host=x port=notanumber password=pw_S3cret",
                                 "nonsense password=pw_S3cret"])
def test_malformed_dsn_is_one_line_without_password(
        dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed --dsn: exit 1, one line pointing at --dsn, the password never shown."""
    code, _, err = stocksdb(capsys, "--dsn", dsn, "prices", "AAPL")
    line = one_line(err)
    assert code == 1 and "--dsn" in line and "pw_S3cret" not in err, err


def test_schema_behind_is_exit_3_for_run_and_validate(
        empty_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A schema that is behind is a refused gate for `run` and `validate` alike: exit 3."""
    code, _, err = stocksdb(capsys, "--dsn", empty_db, "run", "securities_master", "--path",
                            str(tmp_path))
    assert code == 3 and "stocksdb db migrate" in one_line(err), err
    code, out, err = stocksdb(capsys, "--dsn", empty_db, "validate", "securities_master")
    assert code == 3 and "schema_not_latest" in out, out + err


def test_copy_to_failure_says_the_backup_is_complete(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`backup --copy-to` under a regular file: exit 1, the line names the complete backup."""
    (tmp_path / "file").write_text("not a directory")
    code, out, err = stocksdb(capsys, "--dsn", db, "backup", "--dir", str(tmp_path / "b"),
                              "--copy-to", str(tmp_path / "file/sub"))
    line = one_line(err)
    (dump,) = (tmp_path / "b").glob("full_*.dump")
    assert code == 1 and "backup is complete" in line and str(dump) in line, err
    assert str(tmp_path / "file/sub") in line, err


def test_unwritable_backup_dir_is_one_line(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`backup --dir` under a regular file (an OSError): exit 1, one line naming the path."""
    (tmp_path / "file").write_text("not a directory")
    code, _, err = stocksdb(capsys, "--dsn", db, "backup", "--dir", str(tmp_path / "file/sub"))
    line = one_line(err)
    assert code == 1 and str(tmp_path / "file/sub") in line and "Not a directory" in line, err


@pytest.fixture
def locked_db(pg_server: PgServer, db: str) -> Iterator[str]:
    """`db` with a 200 ms lock_timeout and another session holding ticker_history exclusively."""
    pg_server.execute(sql.SQL("ALTER DATABASE {} SET lock_timeout = '200ms'").format(
        sql.Identifier(database_name(db))))
    with psycopg.connect(db) as other:
        other.execute("LOCK TABLE stocks_research.ticker_history IN ACCESS EXCLUSIVE MODE")
        yield db
        other.rollback()


def test_concurrent_lock_is_one_line_saying_retry(
        locked_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A table locked by another session: exit 1, one line saying another command holds it."""
    code, _, err = stocksdb(capsys, "--dsn", locked_db, "prices", "AAPL")
    line = one_line(err)
    assert code == 1 and "lock timeout" in line and "another" in line and "retry" in line, err


def test_disk_full_says_to_free_space() -> None:
    """An ENOSPC OSError is described with its path and the advice to free space."""
    message, code = describe_failure(OSError(errno.ENOSPC, "No space left on device", "/b/x"))
    assert code == 1 and "'/b/x'" in message and "free disk space" in message, message


def test_pandas_and_arrow_errors_name_the_data_problem() -> None:
    """pyarrow and pandas exceptions become 'cannot read or convert data' lines, exit 1."""
    import pandas as pd
    import pyarrow as pa

    for exc in (pa.ArrowInvalid("CSV parse error: Expected 8 columns, got 3"),
                pd.errors.ParserError("Error tokenizing data. C error")):
        message, code = describe_failure(exc)
        assert code == 1 and message.startswith("cannot read or convert data"), message
        assert str(exc) in message, message


def test_unexpected_exception_is_an_internal_error() -> None:
    """Anything else: 'internal error: ...; rerun with --debug and report it', exit 1."""
    message, code = describe_failure(KeyError("security_id"))
    assert code == 1 and message.startswith("internal error: KeyError"), message
    assert message.endswith("rerun with --debug and report it"), message
