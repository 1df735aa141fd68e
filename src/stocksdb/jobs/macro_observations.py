"""macro_observations job: every vintage of FRED series, stored point in time (ALFRED).

Reads:  FRED's ALFRED answers, one per series (fred: the API, key FRED_API_KEY; files:
        DIR/macro/observations/<ID>.json and, when present, DIR/macro/series/<ID>.json;
        docs/macro.md)
Writes: stocks_research.macro_series (FRED's metadata when the source has it, else the id
        alone), macro_observations (one row per observation date and vintage, with FRED's
        realtime_start..realtime_end; "." is value NULL with missing = true, never 0);
        ingestion.rejected_rows, job_runs
Steps, one transaction per series: parse -> stage (COPY) -> merge (new vintages inserted,
        changed ones updated, unchanged ones untouched) -> close (see below).

FRED's realtime ranges already say when each vintage ended: an all-vintages answer closes a
value the day before the next different one was published, and a value still current ends
9999-12-31. They are stored as FRED gives them, so a re-run over the same answer writes
nothing, and a later answer that brings a new vintage updates the old one's realtime_end to
the day before, as FRED then says. Only when an answer omits a stored vintage that is still
open while bringing a later one (a trimmed or hand-made file) is the stored one closed here,
the day before the later one starts: on any day one value at most is the published one (the
post-gate checks it). Nothing is deleted: FRED does not withdraw vintages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from stocksdb.config import Settings
from stocksdb.db.lineage import Layer, Table
from stocksdb.db.sync import sync_from_stage
from stocksdb.domain.macro import Vintage
from stocksdb.gates import checks as c
from stocksdb.gates.macro import vintages_disjoint
from stocksdb.jobs.base import JobContext, Outcome, Rejected
from stocksdb.jobs.registry import Job
from stocksdb.sources.fred_vintages import (
    MACRO_DIR,
    SeriesAnswer,
    SeriesInfo,
    parse_series_id,
    parse_vintage_rows,
)

# The series of the issue, fetched from FRED when --series is not given.
DEFAULT_SERIES = ("GDP", "CPIAUCSL", "FEDFUNDS")

_TARGET = sql.Identifier("stocks_research", "macro_observations")
_STAGE = """
CREATE TEMP TABLE stage_macro_observations (series_id text, obs_date date,
    realtime_start date, realtime_end date, value double precision, missing boolean)
    ON COMMIT DROP
"""
_KEY = ("series_id", "obs_date", "realtime_start")
_VALUES = ("realtime_end", "value", "missing")
_UPSERT_SERIES = """
INSERT INTO stocks_research.macro_series AS t (series_id, title, frequency, units,
    seasonal_adjustment, notes, vendor_updated_at, run_id)
VALUES (%(series_id)s, %(title)s, %(frequency)s, %(units)s, %(seasonal_adjustment)s,
        %(notes)s, %(last_updated)s, %(run_id)s)
ON CONFLICT (series_id) DO UPDATE SET title = excluded.title, frequency = excluded.frequency,
    units = excluded.units, seasonal_adjustment = excluded.seasonal_adjustment,
    notes = excluded.notes, vendor_updated_at = excluded.vendor_updated_at,
    run_id = excluded.run_id, updated_at = clock_timestamp()
 WHERE (t.title, t.frequency, t.units, t.seasonal_adjustment, t.notes, t.vendor_updated_at)
       IS DISTINCT FROM (excluded.title, excluded.frequency, excluded.units,
                         excluded.seasonal_adjustment, excluded.notes,
                         excluded.vendor_updated_at)
"""
_KNOWN_SERIES = """
INSERT INTO stocks_research.macro_series (series_id, run_id) VALUES (%s, %s)
ON CONFLICT (series_id) DO NOTHING
"""
# A stored vintage still open on the day a later vintage of its date starts ends the day
# before (a no-op over FRED's own answers, whose ranges are already closed).
_CLOSE = """
UPDATE stocks_research.macro_observations t SET realtime_end = n.next_start - 1,
       run_id = %(run_id)s
  FROM (SELECT obs_date, realtime_start,
               lead(realtime_start) OVER (PARTITION BY obs_date ORDER BY realtime_start)
                   AS next_start
          FROM stocks_research.macro_observations WHERE series_id = %(series_id)s) n
 WHERE t.series_id = %(series_id)s AND t.obs_date = n.obs_date
   AND t.realtime_start = n.realtime_start AND t.realtime_end >= n.next_start
"""
_COUNTS = ("series", "vintages", "missing_values", "inserted", "updated", "unchanged",
           "closed", "rejected")


def write_series(conn: psycopg.Connection[Any], series_id: str, info: SeriesInfo | None,
                 vintages: Sequence[Vintage], *, run_id: int) -> dict[str, int]:
    """Store one series' metadata and vintages (in the caller's transaction); returns counts."""
    if info is not None:
        conn.execute(_UPSERT_SERIES, {**vars(info), "run_id": run_id})
    else:
        conn.execute(_KNOWN_SERIES, (series_id, run_id))
    conn.execute(_STAGE)
    with conn.cursor().copy("COPY stage_macro_observations FROM STDIN") as copy:
        for v in vintages:
            copy.write_row((series_id, v.obs_date, v.realtime_start, v.realtime_end, v.value,
                            v.value is None))
    counts = sync_from_stage(conn, _TARGET, _KEY, _VALUES, None,
                             stage="stage_macro_observations",
                             stamp={"run_id": sql.Literal(run_id)}, pin={"series_id": series_id},
                             insert_order=("obs_date", "realtime_start"), staged=len(vintages))
    conn.execute("DROP TABLE stage_macro_observations")
    closed = conn.execute(_CLOSE, {"series_id": series_id, "run_id": run_id}).rowcount
    return {**{k: v for k, v in counts.as_dict().items() if k != "deleted"}, "closed": closed}


def run_macro_observations(ctx: JobContext, answers: Iterable[SeriesAnswer]) -> Outcome:
    """Store each series' answer in its own transaction (autocommit connection); a series the
    source does not have makes the run partial, the others still load."""
    conn, request = ctx.conn, ctx.request
    totals: Counter[str] = Counter()
    missing: dict[str, str] = {}
    for answer in answers:
        if answer.missing:
            missing[answer.series_id] = answer.missing
            continue
        vintages, problems = parse_vintage_rows(answer.rows, request.start, request.end)
        rejected = [Rejected(reason, f"series {answer.series_id}: {detail}", ctx.source,
                             answer.source_key, raw=raw) for reason, detail, raw in problems]
        with conn.transaction():
            totals.update(write_series(conn, answer.series_id, answer.info, vintages,
                                       run_id=ctx.run_id))
            ctx.write_rejected(rejected)
        totals.update(series=1, vintages=len(vintages), rejected=len(rejected),
                      missing_values=sum(v.value is None for v in vintages))
    partial = "; ".join(f"series {s}: {why}" for s, why in missing.items()) or None
    return Outcome(counts={k: totals[k] for k in _COUNTS}, partial=partial)


def _wanted(ctx: JobContext, default: Sequence[str]) -> list[str]:
    return [parse_series_id(s) for s in (ctx.request.series or default)]


def answers_from_fred(ctx: JobContext) -> Iterable[SeriesAnswer]:
    """FRED's API: --series, default GDP, CPIAUCSL and FEDFUNDS; --start/--end bound the
    observation dates asked for (default: all)."""
    from stocksdb.sources.fred_vintages import FredVintages

    series = _wanted(ctx, DEFAULT_SERIES)
    return FredVintages(ctx.settings).answers(series, ctx.request.start, ctx.request.end)


def answers_from_files(ctx: JobContext) -> Iterable[SeriesAnswer]:
    """DIR/macro/: --series, default every series with an observations file."""
    from stocksdb.sources.fred_vintages import read_series_answer, series_in_tree

    root = ctx.request.require_path()
    series = _wanted(ctx, ()) if ctx.request.series else series_in_tree(root)
    return (read_series_answer(root, s) for s in series)


def no_macro_input(profile: str | None, path: Path | None, settings: Settings) -> str | None:
    """Why bootstrap has no macro input: a files tree without macro/observations/, or no FRED
    key."""
    if profile == "files":
        if path and (path / MACRO_DIR / "observations").is_dir():
            return None
        return "the source tree has no macro/observations folder"
    return None if settings.fred_api_key else "FRED_API_KEY is not set"


JOB = Job[Iterable[SeriesAnswer]](
    name="macro_observations",
    summary="Every vintage of FRED series (ALFRED realtime ranges), '.' kept as missing.",
    run=run_macro_observations,
    sources={"fred": answers_from_fred, "files": answers_from_files},
    pre_gate=(c.schema_is_latest,),
    post_gate=(vintages_disjoint,),
    writes=("macro_series", "macro_observations"),
    options=frozenset({"start", "end", "series"}),
    # A bootstrap's --start/--end are sessions to load; a series' history loads whole (the
    # quarter before the range is published inside it).
    bootstrap_dates=False,
    no_input=no_macro_input,
    tables=(
        Table("macro_series", layer=Layer.CANONICAL,
              freshness="with macro_observations, within a day of a release",
              completeness="one row per series id loaded, with FRED's title, units, frequency "
                           "and seasonal adjustment when its series endpoint answers",
              retention="forever; a series' metadata is updated in place, never deleted"),
        Table("macro_observations", layer=Layer.RAW,
              freshness="within a day of a release (FRED publishes the new vintage that day)",
              completeness="every vintage of every observation date of each loaded series "
                           "(ALFRED realtime ranges); '.' kept as a missing value with its flag, "
                           "never 0; vintages of one date never overlap (post-gate)",
              retention="forever: every vintage is kept; a newer vintage only closes the "
                        "previous one's realtime_end"),
    ),
)
