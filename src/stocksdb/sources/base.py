"""What every reference-data source hands to the jobs.

A source returns raw, unvalidated text in canonical columns; the jobs parse, validate and
quarantine. Files and the Massive REST API therefore share one validation path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from stocksdb.domain.reasons import Reason

# Columns of reference/securities.csv (SPEC section 12) and of ReferenceBatch.securities.
SECURITY_COLUMNS: tuple[str, ...] = (
    "composite_figi", "share_class_figi", "name", "security_type", "primary_exchange",
    "currency", "cik", "list_date", "delist_date", "active",
)
# Columns of reference/ticker_history.csv and of ReferenceBatch.ticker_history.
# valid_to is exclusive; empty = still valid.
TICKER_HISTORY_COLUMNS: tuple[str, ...] = ("composite_figi", "ticker", "valid_from", "valid_to")


@dataclass(frozen=True)
class SourceProblem:
    """A record the source itself could not turn into a row (e.g. no FIGI found anywhere)."""

    reason_code: Reason       # stable, documented in docs/checks.md
    detail: str
    ticker: str | None = None
    raw: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ReferenceBatch:
    """Securities and ticker history as strings (None for missing), plus source-level problems.

    `securities` has exactly SECURITY_COLUMNS, `ticker_history` exactly TICKER_HISTORY_COLUMNS;
    dates are 'YYYY-MM-DD' strings, `active` is 'true'/'false'. Each frame may carry an extra
    `source_key` column naming where the row came from (file:line or URL) for rejected rows.
    """

    source: str
    securities: pd.DataFrame
    ticker_history: pd.DataFrame
    problems: tuple[SourceProblem, ...] = ()


# Columns of corporate_actions/splits.json results (Massive v3 splits) and ActionsBatch.splits.
SPLIT_COLUMNS: tuple[str, ...] = ("id", "execution_date", "split_from", "split_to", "ticker")
# Columns of corporate_actions/dividends.json results (Massive v3 dividends).
DIVIDEND_COLUMNS: tuple[str, ...] = (
    "id", "cash_amount", "currency", "declaration_date", "dividend_type", "ex_dividend_date",
    "frequency", "pay_date", "record_date", "ticker",
)


@dataclass(frozen=True)
class ActionsBatch:
    """Raw corporate actions as the vendor sent them (validation happens in the job).

    `splits` has SPLIT_COLUMNS and `dividends` DIVIDEND_COLUMNS, values as received (numbers
    stay numbers, missing fields None), plus a `source_key` column (file#index or URL).
    """

    source: str
    splits: pd.DataFrame
    dividends: pd.DataFrame
    problems: tuple[SourceProblem, ...] = ()


def keep_non_finite(value: object) -> object:
    """A vendor's NaN/Infinity (Python's json reads those tokens as floats) as text ('nan',
    'inf'): pandas would otherwise confuse NaN with a missing value, and the row must reach the
    checks as a non-finite number, not as an absent one."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
