"""The gate checks of the macro jobs.

Reads: stocks_research.macro_observations. Never writes, never raises for bad data.
"""

from __future__ import annotations

from typing import Any

import psycopg

from stocksdb.domain.reasons import GateReason
from stocksdb.gates.base import Found, GateContext, gate_check

_OVERLAPS = """
SELECT series_id, obs_date, realtime_start, next_start, count(*) OVER () FROM (
    SELECT series_id, obs_date, realtime_start, realtime_end,
           lead(realtime_start) OVER (PARTITION BY series_id, obs_date
                                      ORDER BY realtime_start) AS next_start
      FROM stocks_research.macro_observations) v
 WHERE next_start <= realtime_end
 ORDER BY series_id, obs_date, realtime_start
 LIMIT 5
"""


@gate_check("macro_observations.vintages_disjoint", GateReason.OVERLAPPING_VINTAGES)
def vintages_disjoint(conn: psycopg.Connection[Any], _: GateContext) -> Found:
    """No two vintages of one observation overlap in real time: on any day at most one value
    was the published one, so a read `as_of` that day is unambiguous."""
    rows = conn.execute(_OVERLAPS).fetchall()
    examples = [(s, d.isoformat(), f"{a.isoformat()} overlaps {b.isoformat()}")
                for s, d, a, b, _ in rows]
    return Found(int(rows[0][4]) if rows else 0, examples)
