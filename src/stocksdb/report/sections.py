"""The report's sections: each reads its frames (report/queries.py), draws its charts
(report/figures.py) and says in words when there is nothing to draw.

In:  an open connection (read only) and, for the symbols section, the securities to show.
Out: `Section`s of HTML fragments (images as base64 PNG data URIs) and the frames behind them,
     which report/page.py writes as CSV beside the page.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import psycopg

from stocksdb.report import figures, queries


@dataclass(frozen=True)
class Section:
    """One part of the page: `key` is its HTML id and the prefix of its CSV files."""

    key: str
    title: str
    blocks: tuple[str, ...]
    frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def image(png: bytes, alt: str) -> str:
    """An <img> carrying `png` inline, so the page needs no other file to show it."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def note(text: str) -> str:
    """A paragraph of plain text (escaped)."""
    return f'<p class="note">{html.escape(text)}</p>'


def table(frame: pd.DataFrame, limit: int = 50) -> str:
    """`frame`'s first `limit` rows as an HTML table (values escaped)."""
    head = frame.head(limit)
    shown = head.astype(object).where(head.notna(), "")   # None and NaN print as blanks
    more = f"<p class='note'>… {len(frame) - limit} more rows in the CSV.</p>" \
        if len(frame) > limit else ""
    return shown.to_html(index=False, escape=True, border=0, classes="data", na_rep="") + more


def coverage_section(conn: psycopg.Connection[Any]) -> Section:
    """Bars loaded per session against securities listed, and coverage by month x exchange."""
    span = queries.read_session_span(conn)
    if span is None:
        return Section("coverage", "Coverage", (note("No bars loaded (prices_daily is empty)."),))
    sessions = queries.read_sessions(conn, *span)
    coverage = queries.read_coverage(conn, sessions)
    by_month = queries.read_coverage_by_month(conn, sessions)
    short = coverage[coverage["loaded"] < coverage["listed"]]
    blocks = (
        note(f"{len(sessions)} sessions from {span[0]} to {span[1]}, "
             f"{int(coverage['loaded'].sum()):,} bars; {len(short)} sessions have fewer bars "
             "than securities listed (a listed security is one with list_date <= day < "
             "delist_date)."),
        image(figures.coverage_figure(coverage), "bars loaded vs securities listed per session"),
        image(figures.coverage_heatmap(by_month), "coverage by month and exchange"),
        "<h3>Sessions short of the listed count (latest first)</h3>"
        + (table(short.sort_values("trade_date", ascending=False), 20) if len(short)
           else note("None.")))
    return Section("coverage", "Coverage", blocks,
                   {"coverage": coverage, "coverage_by_month": by_month})


def rejections_section(conn: psycopg.Connection[Any]) -> Section:
    """Rejected rows by reason over time and the top tickers of each reason."""
    rejections = queries.read_rejections(conn)
    if rejections.empty:
        return Section("rejections", "Rejected rows", (note("No rejected rows."),))
    top = queries.read_top_rejected_tickers(conn)
    blocks = (note(f"{int(rejections['n'].sum()):,} rows rejected across "
                   f"{rejections['reason_code'].nunique()} reasons "
                   "(reason codes: docs/checks.md)."),
              image(figures.rejections_figure(rejections), "rejected rows by reason over time"),
              "<h3>Top tickers per reason</h3>" + table(top, 100))
    return Section("rejections", "Rejected rows", blocks,
                   {"rejections": rejections, "rejections_top_tickers": top})


def gates_section(conn: psycopg.Connection[Any]) -> Section:
    """Gate results of each job's last runs, worst status first."""
    gates = queries.read_gate_results(conn)
    if gates.empty:
        return Section("gates", "Gate results", (note("No gate results recorded."),))
    bad = gates[gates["status"] != "pass"].sort_values("started_at", ascending=False)
    blocks = (note(f"Each job's last runs (up to 10): {gates['run_id'].nunique()} runs, "
                   f"{len(gates):,} checks, {(gates['status'] == 'warn').sum()} "
                   f"warnings, {(gates['status'] == 'fail').sum()} failures."),
              image(figures.gates_figure(gates), "gate results per job over the last runs"),
              "<h3>Checks that warned or failed</h3>"
              + (table(bad.loc[:, ["job", "run_id", "phase", "check_name", "status",
                                   "failed_count"]]) if len(bad) else note("None.")))
    return Section("gates", "Gate results", blocks, {"gates": gates})


def runs_section(conn: psycopg.Connection[Any]) -> Section:
    """The job-run timeline: duration, rows, status."""
    runs = queries.read_job_runs(conn)
    if runs.empty:
        return Section("runs", "Job runs", (note("No job runs recorded."),))
    counts = runs["status"].value_counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    shown = runs.assign(seconds=runs["seconds"].round(2), error=runs["error"].fillna("")).loc[
        :, ["run_id", "job", "status", "started_at", "seconds", "rows", "error"]]
    blocks = (note(f"The last {len(runs)} runs: {summary}. Unfinished runs are drawn up to now."),
              image(figures.timeline_figure(runs), "job-run timeline"),
              "<h3>Runs (newest first)</h3>" + table(shown, 30))
    return Section("runs", "Job runs", blocks, {"runs": runs})


def symbols_section(conn: psycopg.Connection[Any], chosen: Mapping[str, int],
                    how: str) -> Section:
    """Raw vs adjusted close with corporate actions, and quarterly revenue with YoY, for each
    chosen security (symbol -> security_id)."""
    if not chosen:
        return Section("symbols", "Symbols", (note("No securities with bars to show."),))
    blocks: list[str] = [note(how)]
    frames: dict[str, pd.DataFrame] = {}
    for symbol, sid in chosen.items():
        part, mine = _symbol_blocks(conn, symbol, sid)
        blocks.extend(part)
        frames.update(mine)
    return Section("symbols", "Symbols", tuple(blocks), frames)


def _symbol_blocks(conn: psycopg.Connection[Any], symbol: str,
                   sid: int) -> tuple[list[str], dict[str, pd.DataFrame]]:
    closes = queries.read_closes(conn, sid)
    actions = queries.read_actions(conn, sid)
    revenue = queries.read_revenue(conn, sid)
    key = f"symbol_{symbol.lower()}"
    out = [f'<h3 id="{html.escape(key)}">{html.escape(symbol)} '
           f"<small>(security_id {sid})</small></h3>"]
    if closes.empty:
        out.append(note(f"No bars for {symbol}."))
    else:
        if closes["adjusted"].isna().all():
            out.append(note("No adjustment factors stored: raw close only "
                            "(run adjustment_factors_daily)."))
        out.append(image(figures.prices_figure(closes, actions, f"{symbol}: raw vs adjusted "
                                               "close"), f"{symbol} raw vs adjusted close"))
    out.append(table(actions) if len(actions) else note(f"No corporate actions for {symbol}."))
    if revenue["revenue"].notna().any():
        out.append(image(figures.revenue_figure(revenue, f"{symbol}: quarterly revenue"),
                         f"{symbol} quarterly revenue and YoY"))
    else:
        out.append(note(f"No fundamentals for {symbol}."))
    return out, {f"{key}_closes": closes, f"{key}_actions": actions, f"{key}_revenue": revenue}


def findings_section(conn: psycopg.Connection[Any]) -> Section:
    """Quality findings (false ticks, drift, conflicting actions) when there are any."""
    findings = queries.read_findings(conn)
    if findings.empty:
        return Section("findings", "Quality findings", (note("No quality findings."),))
    blocks = (note(f"{len(findings):,} findings (table ingestion.quality_findings; codes in "
                   "docs/quality.md)."),
              image(figures.findings_figure(findings), "quality findings per check"),
              "<h3>Latest findings</h3>"
              + table(findings.loc[:, ["found_at", "run_id", "check_name", "reason_code",
                                       "severity", "detail", "subject"]], 50))
    return Section("findings", "Quality findings", blocks, {"findings": findings})
