"""The `files` source: a local tree in the layout of SPEC section 12.

In:  DIR/reference/securities.csv, DIR/reference/ticker_history.csv.
Out: ReferenceBatch of raw strings (validation happens in the jobs).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stocksdb.errors import InputFileError
from stocksdb.sources.base import (
    DIVIDEND_COLUMNS,
    SECURITY_COLUMNS,
    SPLIT_COLUMNS,
    TICKER_HISTORY_COLUMNS,
    ActionsBatch,
    ReferenceBatch,
    keep_non_finite,
)

SOURCE_NAME = "files"
SECURITIES_FILE = Path("reference/securities.csv")
TICKER_HISTORY_FILE = Path("reference/ticker_history.csv")


def read_reference_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A reference CSV as strings (None for empty), with a `source_key` of 'file:line'.

    Raises:
        InputFileError: the file is missing, unreadable, or lacks a required column.
    """
    if not path.is_file():
        raise InputFileError(f"reference file {str(path)!r} does not exist; expected the layout "
                             "of `stocksdb sample` (DIR/reference/*.csv)")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[],
                            skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(f"reference file {str(path)!r} is not readable CSV: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"reference file {str(path)!r} lacks column(s) {missing}; expected header "
            f"{','.join(columns)}"
        )
    out = frame.loc[:, list(columns)].astype(object)
    out = out.where(out.map(lambda v: isinstance(v, str) and v.strip() != ""), None)
    # line numbers as a person sees them: header is line 1
    out["source_key"] = [f"{path.name}:{i + 2}" for i in range(len(out))]
    return out.reset_index(drop=True)


def read_reference(root: Path) -> ReferenceBatch:
    """Securities and ticker history from a local tree."""
    return ReferenceBatch(
        source=SOURCE_NAME,
        securities=read_reference_csv(root / SECURITIES_FILE, SECURITY_COLUMNS),
        ticker_history=read_reference_csv(root / TICKER_HISTORY_FILE, TICKER_HISTORY_COLUMNS),
    )


SPLITS_FILE = Path("corporate_actions/splits.json")
DIVIDENDS_FILE = Path("corporate_actions/dividends.json")


def read_results_json(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """The `results` array of a Massive-shaped JSON file as a frame (values as received).

    Raises:
        InputFileError: the file is missing, not JSON, or has no `results` list.
    """
    import json

    if not path.is_file():
        raise InputFileError(f"corporate actions file {str(path)!r} does not exist; expected "
                             "DIR/corporate_actions/{splits,dividends}.json")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFileError(f"corporate actions file {str(path)!r} is not JSON: {exc}") from exc
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise InputFileError(f"corporate actions file {str(path)!r} has no `results` list; "
                             "expected the Massive v3 envelope {\"results\": [...]}")
    rows = [{c: (keep_non_finite(r.get(c)) if isinstance(r, dict) else None) for c in columns}
            for r in results]
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    frame["source_key"] = [f"{path.name}#{i}" for i in range(len(frame))]
    return frame


def read_corporate_actions(root: Path) -> ActionsBatch:
    """Splits and dividends from a local tree."""
    return ActionsBatch(
        source=SOURCE_NAME,
        splits=read_results_json(root / SPLITS_FILE, SPLIT_COLUMNS),
        dividends=read_results_json(root / DIVIDENDS_FILE, DIVIDEND_COLUMNS),
    )
