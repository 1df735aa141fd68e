"""Exceptions that are not ours, described as one line for the user, with an exit code.

In:  an exception that escaped a command (psycopg, OSError, pandas / pyarrow, anything else).
Out: (message, exit code): what failed, then `;` and what to do. Our own StocksdbError messages
are already written for users and do not come here. The first line of the underlying message is
kept (psycopg adds LINE/caret lines); nothing here echoes a DSN, so no password can leak.
"""

from __future__ import annotations

import errno

import psycopg

ERROR_EXIT = 1
_RETRY = ("another stocksdb command (or session) may be working on this database; retry when "
          "it has finished")
# SQLSTATE (or its two-character class) -> what to do.
_SQLSTATE_ADVICE = {
    "08": "check that the server is running and reachable, then retry",
    "42P01": "is the schema missing? run `stocksdb db migrate`",
    "3F000": "is the schema missing? run `stocksdb db migrate`",
    "42883": "is the schema missing? run `stocksdb db migrate`",
    "55P03": _RETRY, "40001": _RETRY, "40P01": _RETRY, "55006": _RETRY, "57014": _RETRY,
    "53": "the server ran out of a resource (disk, memory, connections); free it and retry",
    "25006": "the session is read-only; check default_transaction_read_only and PGOPTIONS",
    "42501": "the role lacks a privilege; connect as the database owner",
}
_OS_ADVICE = {
    errno.ENOSPC: "free disk space and retry",
    errno.EDQUOT: "free disk space (quota) and retry",
    errno.EACCES: "check the permissions",
    errno.EPERM: "check the permissions",
    errno.EROFS: "the file system is read-only; choose another location",
    errno.ENOTDIR: "a part of the path is a file, not a directory; check the path",
    errno.ENOENT: "check the path",
    errno.EEXIST: "something is already there; choose another path",
}


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def describe_database_error(exc: psycopg.Error) -> str:
    """A database error: what the server said, its SQLSTATE, and what to do."""
    state = exc.sqlstate
    if state is None:
        if isinstance(exc, psycopg.ProgrammingError):   # a conninfo string that does not parse
            return (f"cannot use the connection string: {_first_line(exc)}; check --dsn, "
                    "STOCKSDB_DSN and the PG* variables")
        return f"database connection failed: {_first_line(exc)}; {_SQLSTATE_ADVICE['08']}"
    advice = _SQLSTATE_ADVICE.get(state) or _SQLSTATE_ADVICE.get(state[:2]) or \
        "check the database and retry (--debug shows where it failed)"
    return f"database error {type(exc).__name__} [{state}]: {_first_line(exc)}; {advice}"


def describe_os_error(exc: OSError) -> str:
    """A file-system error: the operation's message, the path, and what to do."""
    what = exc.strerror or _first_line(exc)
    where = f" ({str(exc.filename)!r})" if exc.filename is not None else ""
    advice = _OS_ADVICE.get(exc.errno or 0, "check the path, free disk space and permissions")
    return f"file system error: {what}{where}; {advice}"


def _from_data_library(exc: BaseException) -> bool:
    """True for pandas and pyarrow exceptions, found by module so neither is imported here."""
    return any(cls.__module__.split(".")[0] in ("pandas", "pyarrow")
               for cls in type(exc).__mro__)


def describe_failure(exc: Exception) -> tuple[str, int]:
    """(one-line message, exit code) for an exception that is not a StocksdbError."""
    if isinstance(exc, psycopg.Error):
        return describe_database_error(exc), ERROR_EXIT
    if isinstance(exc, OSError):
        return describe_os_error(exc), ERROR_EXIT
    if _from_data_library(exc):
        return (f"cannot read or convert data ({type(exc).__name__}): {_first_line(exc)}; "
                "check the input file, or rerun with --debug to see which one"), ERROR_EXIT
    return (f"internal error: {type(exc).__name__}: {_first_line(exc)}; "
            "rerun with --debug and report it"), ERROR_EXIT
