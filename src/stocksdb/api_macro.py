"""The research API for macro series: values as published, or as known on a given day.

Reads: stocks_research.macro_series, macro_observations.
ALFRED semantics: with `as_of`, each observation date gets the vintage whose real-time range
(realtime_start..realtime_end, inclusive) holds that day, i.e. the value a reader of FRED saw
then; a date not yet published that day is absent. Without `as_of`, each date gets its latest
vintage (the greatest realtime_start). FRED's "." comes back as NaN with `missing` true.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd
import psycopg

from stocksdb.errors import InputError
from stocksdb.sources.fred_vintages import parse_series_id

COLUMNS = ("series_id", "date", "value", "missing", "realtime_start", "realtime_end")

_AS_OF = """
SELECT series_id, obs_date, value, missing, realtime_start, realtime_end
  FROM stocks_research.macro_observations
 WHERE series_id = ANY(%(series)s) AND obs_date BETWEEN %(start)s AND %(end)s
   AND realtime_start <= %(as_of)s AND %(as_of)s <= realtime_end
 ORDER BY series_id, obs_date
"""
_LATEST = """
SELECT DISTINCT ON (series_id, obs_date) series_id, obs_date, value, missing, realtime_start,
       realtime_end
  FROM stocks_research.macro_observations
 WHERE series_id = ANY(%(series)s) AND obs_date BETWEEN %(start)s AND %(end)s
 ORDER BY series_id, obs_date, realtime_start DESC
"""


def read_macro_frame(conn: psycopg.Connection[Any], series: Sequence[str], *,
                     start: date | None = None, end: date | None = None,
                     as_of: date | None = None) -> pd.DataFrame:
    """Observations of `series` dated start..end inclusive (None: unbounded), one row per
    series and date, as known on `as_of` (None: the latest vintage); COLUMNS.

    Raises:
        InputError: a series id is malformed or not in macro_series.
    """
    wanted = [parse_series_id(s) for s in series]
    if not wanted:
        raise InputError("parameter `series` is empty; pass a series id such as 'GDP'")
    known = {r[0] for r in conn.execute(
        "SELECT series_id FROM stocks_research.macro_series WHERE series_id = ANY(%s)",
        (wanted,)).fetchall()}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise InputError(f"series {unknown} not in macro_series; load them with `stocksdb run "
                         f"macro_observations --series {','.join(unknown)}`")
    params = {"series": wanted, "start": start or date.min, "end": end or date.max,
              "as_of": as_of}
    rows = conn.execute(_AS_OF if as_of else _LATEST, params).fetchall()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["value"] = frame["value"].astype("float64")
    frame["missing"] = frame["missing"].astype(bool)
    return frame
