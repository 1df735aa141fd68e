"""Byte-reproducible files of the sample: reference CSVs and JSON documents.

In:  a `Universe` or JSON-ready objects, and the sample root.
Out: reference/securities.csv, reference/ticker_history.csv (SPEC section 12), and any JSON
     file written with a fixed key order and a final newline.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from stocksdb.sample.universe import SECURITY_HEADER, TICKER_HEADER, Universe

SECURITIES_PATH = Path("reference", "securities.csv")
TICKER_HISTORY_PATH = Path("reference", "ticker_history.csv")


def write_json(path: Path, body: Any, *, pretty: bool = False) -> None:
    """Write `body` as UTF-8 JSON, compact like the vendors' or indented for people.

    Key order is the insertion order of the dicts, so equal bodies give equal bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    layout: dict[str, Any] = {"indent": 2} if pretty else {"separators": (",", ":")}
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, **layout)
    path.write_text(text + "\n", encoding="utf-8")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    """Write a CSV with '\\n' line ends and minimal quoting; returns the number of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return count


def write_reference(root: Path, universe: Universe) -> tuple[int, int]:
    """Write the securities master and ticker history; returns their row counts."""
    securities = write_csv(root / SECURITIES_PATH, SECURITY_HEADER, _security_rows(universe))
    spans = sorted(universe.spans, key=lambda s: (universe.composite_figi[s.security],
                                                  s.valid_from))
    history = write_csv(
        root / TICKER_HISTORY_PATH, TICKER_HEADER,
        ([universe.composite_figi[s.security], s.ticker, s.valid_from.isoformat(),
          _date_or_empty(s.valid_to)] for s in spans),
    )
    return securities, history


def _security_rows(universe: Universe) -> list[list[str]]:
    rows = []
    for i in range(universe.size):
        cik = universe.cik[i]
        delist = universe.delist_date[i]
        rows.append([
            universe.composite_figi[i], universe.share_class_figi[i], universe.name[i],
            "ETF" if universe.is_etf[i] else "CS", universe.exchange[i], "USD",
            "" if cik is None else f"{cik:010d}", universe.list_date[i].isoformat(),
            _date_or_empty(delist), "false" if delist is not None else "true",
        ])
    return sorted(rows)


def _date_or_empty(value: date | None) -> str:
    return "" if value is None else value.isoformat()
