"""The report's charts: DataFrames from report/queries.py in, PNG bytes out.

matplotlib draws on `Figure` objects with the Agg canvas (no pyplot, no display, no global
state) in its bundled DejaVu fonts, so nothing is fetched and two runs draw the same pixels.
Callers do not pass empty frames: the page says "no data" in text instead of an empty chart.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

# Job-run status -> colour; `abandoned` and `interrupted` stand out from the failures.
STATUS_COLORS: Mapping[str, str] = {
    "succeeded": "#2e7d32", "partial": "#f9a825", "failed": "#c62828", "refused": "#6a1b9a",
    "interrupted": "#ef6c00", "abandoned": "#616161", "running": "#1565c0"}
GATE_COLORS: Mapping[str, str] = {"pass": "#66bb6a", "warn": "#ffca28", "fail": "#e53935"}
SEVERITY_COLORS: Mapping[str, str] = {"info": "#90caf9", "warn": "#ffca28", "fail": "#e53935"}
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def coverage_figure(coverage: pd.DataFrame) -> bytes:
    """Bars loaded per session (bars) against securities listed that day (line)."""
    fig, ax = _figure(11, 3.6)
    days = pd.to_datetime(coverage["trade_date"])
    ax.bar(days, coverage["loaded"], width=1.0, color="#90caf9", label="bars loaded")
    ax.plot(days, coverage["listed"], color="#0d47a1", linewidth=1.4, label="securities listed")
    short = coverage[coverage["loaded"] < coverage["listed"]]
    if len(short):
        ax.scatter(pd.to_datetime(short["trade_date"]), short["loaded"], color="#e53935", s=12,
                   zorder=3, label="session short of listed")
    ax.set_ylabel("securities")
    ax.set_ylim(0, max(int(coverage["listed"].max()), int(coverage["loaded"].max()), 1) * 1.08)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def coverage_heatmap(by_month: pd.DataFrame) -> bytes:
    """Coverage (bars loaded / security-sessions listed) by month x primary exchange."""
    grid = by_month.pivot(index="exchange", columns="month", values="coverage").sort_index()
    months = [pd.Timestamp(m).strftime("%Y-%m") for m in grid.columns]
    fig, ax = _figure(min(max(4.0, 0.55 * len(months) + 2.0), 14.0), 0.5 * len(grid) + 1.6)
    image = ax.imshow(grid.to_numpy(dtype="float64"), aspect="auto", cmap="RdYlGn",
                      vmin=0.9, vmax=1.0)
    ax.set_xticks(range(len(months)), months, rotation=60, fontsize=7)
    ax.set_yticks(range(len(grid)), list(grid.index), fontsize=8)
    if len(months) <= 36:
        for (row, col), value in np.ndenumerate(grid.to_numpy(dtype="float64")):
            if not np.isnan(value):
                ax.text(col, row, f"{value:.1%}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="coverage (clipped at 90%)")
    return _png(fig)


def rejections_figure(rejections: pd.DataFrame) -> bytes:
    """Rejected rows per period (day, week or month by the span) on a date axis, stacked by
    reason, so quiet stretches show as gaps."""
    days = pd.to_datetime(rejections["day"])
    span = (days.max() - days.min()).days
    freq, label, width = ("D", "day", 0.8) if span <= 92 else \
        ("W-FRI", "week", 5.6) if span <= 730 else ("M", "month", 24.0)
    frame = rejections.assign(period=days.dt.to_period(freq).dt.start_time)
    table = frame.pivot_table(index="period", columns="reason_code", values="n",
                              aggfunc="sum", fill_value=0).sort_index()
    fig, ax = _figure(11, 3.4)
    bottom = np.zeros(len(table))
    for at, reason in enumerate(table.columns):
        values = table[reason].to_numpy(dtype="float64")
        ax.bar(table.index, values, bottom=bottom, width=width, align="edge",
               label=str(reason), color=_PALETTE[at % len(_PALETTE)])
        bottom += values
    ax.set_ylabel(f"rejected rows per {label}")
    ax.set_ylim(0, max(float(bottom.max()), 1.0) * 1.15)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def gates_figure(gates: pd.DataFrame) -> bytes:
    """One cell per job (row) and run (column, oldest left), coloured by its worst gate
    status, with its pass/warn/fail counts."""
    rank = {"pass": 0, "warn": 1, "fail": 2}
    runs = gates.groupby(["job", "run_id"], sort=True)["status"].agg(list).reset_index()
    jobs = sorted(runs["job"].unique())
    width = int(runs.groupby("job").size().max())
    fig, ax = _figure(11, 0.45 * len(jobs) + 1.4)
    for row, job in enumerate(jobs):
        mine = runs[runs["job"] == job].sort_values("run_id")
        for col, (run_id, statuses) in enumerate(zip(mine["run_id"], mine["status"],
                                                      strict=True)):
            worst = max(statuses, key=lambda s: rank.get(s, 2))
            ax.add_patch(_cell(col, row, GATE_COLORS.get(worst, "#9e9e9e")))
            counts = "/".join(str(statuses.count(s)) for s in ("pass", "warn", "fail"))
            ax.text(col + 0.5, row + 0.5, f"#{run_id}\n{counts}", ha="center", va="center",
                    fontsize=6)
    ax.set_xlim(0, max(width, 10))   # a lone run keeps the shape of a cell
    ax.set_ylim(len(jobs), 0)
    ax.set_yticks([r + 0.5 for r in range(len(jobs))], jobs, fontsize=8)
    ax.set_xticks([])
    ax.set_xlabel("runs, oldest to newest (cell: run id, checks pass/warn/fail)")
    return _png(fig)


def _cell(col: int, row: int, color: str) -> Rectangle:
    return Rectangle((col + 0.04, row + 0.06), 0.92, 0.88, color=color)


def timeline_figure(runs: pd.DataFrame) -> bytes:
    """Each run on its job's lane from start to end (a dot marks the start, so a run of
    milliseconds shows), and below, each run's duration with the rows it wrote."""
    fig = Figure(figsize=(11, 6.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    lanes, durations = fig.subplots(2, 1, height_ratios=(1, 1))
    ordered = runs.sort_values(["started_at", "run_id"])
    jobs = sorted(ordered["job"].unique())
    colors = [STATUS_COLORS.get(s, "#000000") for s in ordered["status"]]
    lane = [jobs.index(j) for j in ordered["job"]]
    starts = pd.to_datetime(ordered["started_at"], utc=True).dt.tz_localize(None)
    ends = pd.to_datetime(ordered["ended_at"], utc=True).dt.tz_localize(None)
    lanes.hlines(lane, starts, ends, colors=colors, linewidth=6)
    lanes.scatter(starts, lane, c=colors, s=18, zorder=3)
    lanes.set_yticks(range(len(jobs)), jobs, fontsize=8)
    lanes.set_xlabel("started (UTC)")
    labels = [f"#{r}" for r in ordered["run_id"]]
    durations.bar(labels, ordered["seconds"], color=colors)
    for x, (secs, rows) in enumerate(zip(ordered["seconds"], ordered["rows"], strict=True)):
        durations.text(x, float(secs), f"{int(rows):,}", ha="center", va="bottom", fontsize=6,
                       rotation=90)
    durations.set_ylim(0, max(float(ordered["seconds"].max()), 0.01) * 1.25)
    durations.set_ylabel("seconds (label: rows written)")
    durations.tick_params(axis="x", labelrotation=90, labelsize=6)
    _status_legend(durations, sorted(set(ordered["status"])))
    return _png(fig)


def _status_legend(ax: Axes, statuses: list[str]) -> None:
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=STATUS_COLORS.get(s, "#000000"), label=s) for s in statuses],
              fontsize=8, loc="upper right")


def prices_figure(closes: pd.DataFrame, actions: pd.DataFrame, title: str) -> bytes:
    """Raw close and adjusted close of one security, its corporate-action ex-dates marked
    (splits solid red, dividends dotted grey)."""
    fig, ax = _figure(11, 3.6)
    days = pd.to_datetime(closes["trade_date"])
    ax.plot(days, closes["close"], color="#1565c0", linewidth=1.1, label="raw close")
    if closes["adjusted"].notna().any():
        ax.plot(days, closes["adjusted"], color="#ef6c00", linewidth=1.1, label="adjusted close")
    kinds = actions["action_type"].astype(str)
    splits = ~kinds.str.endswith("dividend") | (kinds == "stock_dividend")
    for mask, color, dotted in ((splits, "#c62828", False), (~splits, "#757575", True)):
        if mask.any():
            ax.vlines(pd.to_datetime(actions.loc[mask, "ex_date"]), 0, 1, colors=color,
                      linestyles=":" if dotted else "-", linewidth=1.0,
                      transform=ax.get_xaxis_transform())
    ax.plot([], [], color="#c62828", label="split ex-date")
    ax.plot([], [], color="#757575", linestyle=":", label="dividend ex-date")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("price")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    return _png(fig)


def revenue_figure(revenue: pd.DataFrame, title: str) -> bytes:
    """Quarterly revenue (bars, millions) and its year-over-year change (line, %)."""
    fig, ax = _figure(11, 3.2)
    labels = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in revenue["period_end"]]
    ax.bar(labels, revenue["revenue"].astype("float64") / 1e6, color="#80cbc4",
           label="revenue (millions)")
    ax.set_ylabel("revenue, millions")
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    yoy = ax.twinx()
    yoy.plot(labels, revenue["revenue_yoy"].astype("float64") * 100, color="#6a1b9a",
             marker="o", markersize=3, label="revenue YoY %")
    yoy.axhline(0, color="#6a1b9a", linewidth=0.6, alpha=0.5)
    yoy.set_ylabel("YoY %")
    ax.set_title(title, fontsize=10)
    handles = ax.get_legend_handles_labels()
    more = yoy.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="upper left")
    return _png(fig)


def findings_figure(findings: pd.DataFrame) -> bytes:
    """Quality findings per check, stacked by severity."""
    table = findings.pivot_table(index="check_name", columns="severity", values="finding_id",
                                 aggfunc="count", fill_value=0)
    fig, ax = _figure(11, 0.4 * len(table) + 1.4)
    left = np.zeros(len(table))
    for severity in [s for s in ("info", "warn", "fail") if s in table.columns]:
        values = table[severity].to_numpy(dtype="float64")
        ax.barh(list(table.index), values, left=left, color=SEVERITY_COLORS[severity],
                label=severity)
        left += values
    ax.set_xlabel("findings")
    ax.legend(fontsize=8)
    return _png(fig)
