"""The quarantine: rows a job did not load, newest first, with a count per reason.

Reads: ingestion.rejected_rows (written by jobs/base.py write_rejected).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from stocksdb.domain.reasons import Reason
from stocksdb.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ("rejected_id", "rejected_at", "run_id", "job", "source", "trade_date", "ticker",
           "reason_code", "source_key", "detail", "raw")


@dataclass(frozen=True)
class RejectedRows:
    """The newest `limit` rejected rows matching a filter, and per reason the count of every
    matching row (not only those shown), largest first."""

    rows: pd.DataFrame
    reason_counts: dict[str, int]

    @property
    def total(self) -> int:
        """Rows matching the filter (shown or not)."""
        return sum(self.reason_counts.values())


def parse_reason(value: str) -> Reason:
    """A rejected-row reason code (docs/checks.md).

    Raises:
        InputError: `value` is none of Reason's codes (the message lists them).
    """
    try:
        return Reason(value.strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in Reason)
        raise InputError(f"reason code {value!r} is unknown; known codes: {known}") from None


def read_rejected_rows(conn: psycopg.Connection[Any], *, job: str | None = None,
                       reason: Reason | None = None, start: date | None = None,
                       end: date | None = None, ticker: str | None = None,
                       limit: int = 50) -> RejectedRows:
    """Rejected rows (COLUMNS) of `job`, `reason` and `ticker`, with a trade date in
    start..end inclusive (either bound None: open; a row without a trade date matches only
    when neither is given), newest first, at most `limit`."""
    import pandas as pd

    where = _where(job=job, reason=reason, start=start, end=end, ticker=ticker)
    params = {"job": job, "reason": reason and reason.value, "start": start, "end": end,
              "ticker": ticker and ticker.strip().upper(), "limit": limit}
    rows = conn.execute(sql.SQL(
        "SELECT {cols} FROM ingestion.rejected_rows WHERE {where} "
        "ORDER BY rejected_id DESC LIMIT %(limit)s").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, COLUMNS)), where=where),
        params).fetchall()
    counts = conn.execute(sql.SQL(
        "SELECT reason_code, count(*) FROM ingestion.rejected_rows WHERE {where} "
        "GROUP BY reason_code ORDER BY count(*) DESC, reason_code").format(where=where),
        params).fetchall()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return RejectedRows(frame, {str(r): int(n) for r, n in counts})


def _where(**given: object) -> sql.Composable:
    tests = {"job": "job = %(job)s", "reason": "reason_code = %(reason)s",
             "start": "trade_date >= %(start)s", "end": "trade_date <= %(end)s",
             "ticker": "ticker = %(ticker)s"}
    chosen = [sql.SQL(test) for name, test in tests.items() if given[name] is not None]
    return sql.SQL(" AND ").join(chosen) if chosen else sql.SQL("TRUE")
