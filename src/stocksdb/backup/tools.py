"""PostgreSQL client tools (pg_dump, pg_restore): which binary, and how it is run.

In:  a DSN and the oldest major version the tool may have. Out: a ClientTool, and completed runs.
The system tool on PATH is used when it is new enough (pg_dump refuses a newer server, and
pg_restore cannot read archives of a newer pg_dump); otherwise the one shipped in the pgserver
wheel. A password in the DSN reaches the child as PGPASSWORD, never on its command line, so
neither `ps` nor our error messages can show it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stocksdb.db.server import bin_dir
from stocksdb.errors import BackupToolError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
_VERSION_TIMEOUT_S = 30


@dataclass(frozen=True)
class ClientTool:
    """One client binary and its major version."""

    name: str
    path: Path
    major: int


def use_system_tool(system_major: int | None, min_major: int) -> bool:
    """True when a system tool exists and its major version is >= `min_major`."""
    return system_major is not None and system_major >= min_major


def tool_major(path: Path) -> int | None:
    """Major version reported by `path --version`, or None if it does not run or parse."""
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=_VERSION_TIMEOUT_S, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out.stdout)
    return int(match.group(1)) if match else None


def find_client_tool(name: str, min_major: int) -> ClientTool:
    """The system `name` if its major version is >= `min_major`, else the bundled one.

    Raises:
        BackupToolError: neither is at least `min_major`.
    """
    found = shutil.which(name)
    system_major = tool_major(Path(found)) if found else None
    if found and use_system_tool(system_major, min_major):
        return ClientTool(name, Path(found), system_major or 0)
    bundled = bin_dir() / name
    bundled_major = tool_major(bundled)
    if bundled_major is None or bundled_major < min_major:
        raise BackupToolError(
            f"no {name} with major version >= {min_major}: system {found or 'none'} is "
            f"{system_major}, bundled {bundled} is {bundled_major}; install the PostgreSQL "
            f"{min_major} client tools"
        )
    return ClientTool(name, bundled, bundled_major)


def tool_connection(dsn: str) -> tuple[str, dict[str, str]]:
    """(conninfo without its password, environment for the child with PGPASSWORD if needed)."""
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    password = parts.pop("password", None)
    # The child is a libpq client like us: it needs PATH, HOME, PGSSL* and so on, unchanged.
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    return make_conninfo(**parts), env


def run_tool(tool: ClientTool, args: Sequence[str], *, env: dict[str, str] | None,
             doing: str) -> str:
    """Run `tool` with `args` and return its stdout.

    Raises:
        BackupToolError: the tool exited non-zero or could not start; names what it was doing.
    """
    cmd = [str(tool.path), *args]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True,
                              stdin=subprocess.DEVNULL)
    except subprocess.CalledProcessError as exc:
        tail = "\n".join(exc.stderr.strip().splitlines()[-8:]) or "(no output)"
        raise BackupToolError(
            f"{tool.name} {tool.major} ({tool.path}) failed {doing} (exit {exc.returncode}):\n"
            f"{tail}"
        ) from exc
    except OSError as exc:
        raise BackupToolError(f"cannot run {tool.path} {doing}: {exc}") from exc
    return done.stdout


_TABLE_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+)", re.MULTILINE)


def archive_tables(tool: ClientTool, dump: Path) -> set[str]:
    """Every "schema.table" with a TABLE DATA entry in an archive (`pg_restore --list`).

    Raises:
        BackupToolError: pg_restore cannot read the archive.
    """
    listing = run_tool(tool, ["--list", str(dump)], env=None, doing=f"listing {dump}")
    return {f"{schema}.{table}" for schema, table in _TABLE_DATA.findall(listing)}


def tables_lacking_data(row_counts: Mapping[str, int], archived: set[str]) -> list[str]:
    """The "schema.table"s of `row_counts` without data in an archive whose TABLE DATA entries
    are `archived` (archive_tables). A table partitioned by year has its data in its
    partitions' entries, and none at all when it is empty."""
    from stocksdb.db.partitions import PARTITIONED_BY_YEAR, parent_of

    held = {parent_of(t) for t in archived}
    return sorted(t for t, rows in row_counts.items() if t not in held
                  and not (rows == 0 and t.rpartition(".")[2] in PARTITIONED_BY_YEAR))
