"""Assemble the report: every section into one static index.html, the data beside it.

In:  an open connection and the report options (output directory, symbols).
Out: DIR/index.html (charts inline as PNG data URIs, no script, no external file: it reads
     offline and can be mailed on its own) and DIR/data/<frame>.csv, the numbers behind each
     chart. Each file is written to a temporary name and renamed; index.html goes last.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from stocksdb.report import queries
from stocksdb.report.sections import (
    Section,
    coverage_section,
    findings_section,
    gates_section,
    rejections_section,
    runs_section,
    symbols_section,
)

# The sections in page order, by their HTML id.
SECTION_KEYS = ("coverage", "rejections", "gates", "runs", "symbols", "findings")
DEFAULT_SYMBOL_COUNT = 3

_STYLE = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 24px auto;
       max-width: 1140px; color: #212121; background: #fff; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { border-bottom: 2px solid #e0e0e0;
     padding-bottom: 4px; margin-top: 36px; } h3 { font-size: 15px; margin-top: 20px; }
nav a { margin-right: 14px; } img { max-width: 100%; display: block; margin: 8px 0; }
.note { color: #424242; } .meta { color: #757575; font-size: 13px; }
table.data { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
table.data th, table.data td { border: 1px solid #e0e0e0; padding: 3px 7px; text-align: left; }
table.data th { background: #f5f5f5; }
"""


@dataclass(frozen=True)
class ReportResult:
    """What `write_report` wrote: the page, the CSV files and the sections in page order."""

    index: Path
    data_files: tuple[Path, ...]
    sections: tuple[Section, ...]
    symbols: dict[str, int]


def choose_symbols(conn: psycopg.Connection[Any],
                   symbols: Sequence[str] | None) -> tuple[dict[str, int], str]:
    """symbol -> security_id of the securities to chart, and a sentence saying how they were
    chosen: `symbols` as the research API resolves them, else the most traded.

    Raises:
        InputError: a symbol in `symbols` named no security.
    """
    if symbols:
        return queries.resolve_report_symbols(conn, symbols), "Symbols asked for with --symbols."
    chosen = queries.read_most_traded(conn, DEFAULT_SYMBOL_COUNT)
    return chosen, (f"The {len(chosen)} most traded securities (sum of close x volume over "
                    "every bar); choose others with --symbols.")


def build_sections(conn: psycopg.Connection[Any],
                   symbols: Sequence[str] | None = None) -> tuple[tuple[Section, ...],
                                                                  dict[str, int]]:
    """Every section in page order (SECTION_KEYS) and the securities the symbols section shows.

    Raises:
        InputError: a symbol in `symbols` named no security.
    """
    chosen, how = choose_symbols(conn, symbols)
    sections = (coverage_section(conn), rejections_section(conn), gates_section(conn),
                runs_section(conn), symbols_section(conn, chosen, how), findings_section(conn))
    return sections, chosen


def write_report(conn: psycopg.Connection[Any], out_dir: Path, *,
                 symbols: Sequence[str] | None = None) -> ReportResult:
    """Build every section and write DIR/index.html and DIR/data/*.csv (see module docstring).

    Raises:
        InputError: a symbol in `symbols` named no security.
    """
    sections, chosen = build_sections(conn, symbols)
    data_dir = out_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for section in sections:
        for name, frame in section.frames.items():
            path = data_dir / f"{name}.csv"
            _replace(path, frame.to_csv(index=False))
            written.append(path)
    index = out_dir / "index.html"
    _replace(index, render_page(sections, database=conn.info.dbname))
    return ReportResult(index, tuple(written), sections, chosen)


def render_page(sections: Sequence[Section], *, database: str) -> str:
    """The whole HTML document of `sections`."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(
        f'<section id="{s.key}">\n<h2>{html.escape(s.title)}</h2>\n' + "\n".join(s.blocks)
        + _data_links(s) + "\n</section>" for s in sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>stocksdb quality report: {html.escape(database)}</title>\n"
            f"<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>stocksdb quality report</h1>\n<p class=\"meta\">Database "
            f"<code>{html.escape(database)}</code>, written {stamp}. The numbers behind each "
            "chart are in <code>data/</code> beside this page.</p>\n"
            f"<nav>{nav}</nav>\n{body}\n</body>\n</html>\n")


def _data_links(section: Section) -> str:
    if not section.frames:
        return ""
    links = ", ".join(f'<a href="data/{html.escape(n)}.csv">{html.escape(n)}.csv</a>'
                      for n in section.frames)
    return f'\n<p class="meta">Data: {links}</p>'


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
