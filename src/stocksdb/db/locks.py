"""Advisory locks that keep runs honest: who is alive, and who may touch which table.

Reads/writes: PostgreSQL session-level advisory locks; ingestion.job_runs (abandoned runs).

Run lock. A run holds (RUN_NAMESPACE, run_id) on its connection from the moment its job_runs
row becomes visible until it ends (taken in the transaction that inserts the row). A 'running'
row whose lock is free belongs to a process that is gone (SIGKILL, lost machine, lost server):
`mark_abandoned` ends it as 'abandoned'. Any run start and `db status` call it.

Table locks, in one documented order. Each job takes, before its pre-gate, an exclusive lock on
every table it writes and a shared lock on every table it reads that another job writes (its
registry entry's `writes` and `reads`), in alphabetical order of the table names (one order for
every run, so two runs can never wait on each other in a cycle), and keeps them until it ends.
Two runs of one job therefore serialize, and a job never reads a table while another run is
half-way through writing it (the factor job waits for a running price load).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from stocksdb.errors import LockBusyError

log = logging.getLogger("stocksdb.jobs")

RUN_NAMESPACE = 0x52554E      # 'RUN'
TABLE_NAMESPACE = 0x544142    # 'TAB'

def _table_key(table: str) -> int:
    """A stable int4 key per table name (crc32 folded into the signed range)."""
    return zlib.crc32(table.encode()) & 0x7FFFFFFF


@dataclass(frozen=True)
class TableLock:
    table: str
    exclusive: bool


def table_locks(writes: Iterable[str], reads: Iterable[str]) -> list[TableLock]:
    """The locks a job writing `writes` and reading `reads` takes, in lock order (alphabetical
    by table)."""
    wanted = {t: False for t in reads} | {t: True for t in writes}
    return [TableLock(t, wanted[t]) for t in sorted(wanted)]


def hold_run_lock(conn: psycopg.Connection[Any], run_id: int) -> None:
    """Take the run's liveness lock on `conn` (call inside the transaction inserting the row,
    or again after a reconnect)."""
    conn.execute("SELECT pg_advisory_lock(%s, %s)", (RUN_NAMESPACE, run_id))


_HOLDER = """
SELECT r.run_id, r.job, r.started_at
  FROM pg_locks t
  JOIN pg_locks l ON l.pid = t.pid AND l.locktype = 'advisory' AND l.granted
                 AND l.classid = %(run_ns)s AND l.objsubid = 2
  JOIN ingestion.job_runs r ON r.run_id = l.objid::bigint
 WHERE t.locktype = 'advisory' AND t.granted AND t.classid = %(table_ns)s
   AND t.objid = %(key)s AND t.objsubid = 2 AND t.pid <> pg_backend_pid()
 ORDER BY r.run_id LIMIT 1
"""


def _holder(conn: psycopg.Connection[Any], table: str) -> str:
    row = conn.execute(_HOLDER, {"run_ns": RUN_NAMESPACE, "table_ns": TABLE_NAMESPACE,
                                 "key": _table_key(table)}).fetchone()
    if row is None:
        return "another session"
    return f"run {row[0]} ({row[1]}, started {row[2]:%Y-%m-%d %H:%M:%S} UTC)"


def take_table_locks(conn: psycopg.Connection[Any], job: str, writes: Iterable[str],
                     reads: Iterable[str], *, wait: bool = True) -> None:
    """Take the job's table locks in lock order; waits (saying for whom) unless `wait` is off.

    Raises:
        LockBusyError: `wait` is false and another run holds a needed lock.
    """
    for lock in table_locks(writes, reads):
        mode = "" if lock.exclusive else "_shared"
        args = (TABLE_NAMESPACE, _table_key(lock.table))
        row = conn.execute(f"SELECT pg_try_advisory_lock{mode}(%s, %s)", args).fetchone()
        if row and row[0]:
            continue
        holder = _holder(conn, lock.table)
        need = "write" if lock.exclusive else "read"
        if not wait:
            raise LockBusyError(
                f"job {job!r} needs to {need} table {lock.table!r}, which {holder} is using; "
                "nothing was done; wait for it to end or run without --no-wait to queue")
        log.warning("job %s waits to %s table %s: %s is using it", job, need, lock.table,
                    holder)
        conn.execute(f"SELECT pg_advisory_lock{mode}(%s, %s)", args)
        log.info("job %s: table %s is free, going on", job, lock.table)


_RUNNING = "SELECT run_id FROM ingestion.job_runs WHERE status = 'running' ORDER BY run_id"
_ABANDON = """
UPDATE ingestion.job_runs
   SET status = 'abandoned', finished_at = clock_timestamp(),
       error = coalesce(error || '; ', '') || 'abandoned: the process running it is gone '
               '(killed, or it lost its database connection); dates it committed are whole, '
               'the rest were never written'
 WHERE run_id = %s AND status = 'running'
"""


def mark_abandoned(conn: psycopg.Connection[Any]) -> list[int]:
    """End every 'running' run whose liveness lock is free as 'abandoned'; their ids."""
    gone = []
    for (run_id,) in conn.execute(_RUNNING).fetchall():
        got = conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                           (RUN_NAMESPACE, run_id)).fetchone()
        if not (got and got[0]):
            continue
        try:
            with conn.transaction():
                if conn.execute(_ABANDON, (run_id,)).rowcount:
                    gone.append(int(run_id))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (RUN_NAMESPACE, run_id))
    if gone:
        log.warning("marked %d run(s) abandoned (their process is gone): %s", len(gone),
                    ", ".join(map(str, gone)))
    return gone
