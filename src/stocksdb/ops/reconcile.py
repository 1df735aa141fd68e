"""Reconcile the warehouse against another vendor (`stocksdb reconcile`).

Reads:  the vendor through the PricingPipeline (foundation/pipeline.py; its cache is honoured),
        securities, ticker_history, prices_daily, corporate_actions
Writes: ingestion.job_runs (one `reconcile` row, written finished), ingestion.quality_findings
        (check `reconcile.drift` / `reconcile.events`), both in one transaction
Our raw bars are brought to the vendor's price basis with our own splits (corporate_actions):
a `split_adjusted` vendor (Yahoo) is compared with our raw close divided by the ratios of our
splits going ex after it, a `raw` vendor with our raw close. A `total_return` vendor cannot be
matched (its dividend method is its own): the drift validator skips it with an `ok` note.
Each reconcile records a job_runs row so that its findings share a run_id, carry their
parameters and can be listed or deleted together like any job's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from stocksdb.api import read_prices_frame
from stocksdb.config import Settings
from stocksdb.db.queries import read_ticker_intervals
from stocksdb.errors import InputError
from stocksdb.foundation.base import (
    Dividend,
    PriceBasis,
    Split,
    SymbolEvents,
    VendorFrame,
    canonical_bars,
)
from stocksdb.foundation.basis import compute_split_multipliers
from stocksdb.foundation.cache import PricingCache
from stocksdb.foundation.findings import DataQualitySeverity, QualityFinding
from stocksdb.foundation.pipeline import PricingPipeline, parse_symbols, resolve_window
from stocksdb.foundation.reconcile import (
    EVENTS_FINDING,
    WAREHOUSE,
    DriftRow,
    Reconciliation,
    reconcile_frames,
)
from stocksdb.foundation.vendors import get_provider

log = logging.getLogger("stocksdb.reconcile")
JOB = "reconcile"
DRIFT_CHECK, EVENTS_CHECK = "reconcile.drift", "reconcile.events"
# reason codes (docs/quality.md)
CLOSE_DRIFT, NOT_COMPARED, EVENT_ONE_SIDE = "close_drift", "not_compared", "event_one_side"
DEFAULT_LOOKBACK_DAYS = 30
# ingestion.quality_findings.severity speaks the gates' words.
SEVERITY = {DataQualitySeverity.OK: "info", DataQualitySeverity.WARNING: "warn",
            DataQualitySeverity.ERROR: "fail"}
PRICES = ("open", "high", "low", "close")

_ACTIONS = """
SELECT security_id, action_type, ex_date, split_from, split_to, cash_amount
  FROM stocks_research.corporate_actions WHERE security_id = ANY(%s) ORDER BY ex_date, action_id
"""
_RUN = """
INSERT INTO ingestion.job_runs (job, params, status, started_at, finished_at, counts)
VALUES (%s, %s, 'succeeded', %s, clock_timestamp(), %s) RETURNING run_id
"""
_FINDING = """
INSERT INTO ingestion.quality_findings (run_id, check_name, reason_code, severity, subject,
                                        detail) VALUES (%s, %s, %s, %s, %s, %s)
"""


@dataclass(frozen=True)
class ReconcileReport:
    """A reconciliation, its window and the run that stored its findings."""

    run_id: int
    start: date
    end: date
    stored: int
    result: Reconciliation

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "stored": self.stored, **self.result.as_json()}


def reconcile_warehouse(settings: Settings, dsn: str, *, vendor: str,
                        symbols: str | Sequence[str], start: date | None = None,
                        end: date | None = None, tolerance: float = 0.01,
                        cache_dir: Path | None = None, refresh: bool = False,
                        today: Callable[[], date] = lambda: datetime.now(UTC).date()
                        ) -> ReconcileReport:
    """Fetch `symbols` from `vendor` (default window: the 30 days up to today), compare them
    with the warehouse on the vendor's price basis and store the findings.

    Raises:
        InputError: bad symbols or window, no symbol that named a security (some that did
            not: skipped, with a warning), an unknown vendor.
        SourceError: the vendor failed.
    """
    first, last = resolve_window(start=start, end=end, today=today(),
                                 lookback_days=None if start else DEFAULT_LOOKBACK_DAYS)
    with psycopg.connect(dsn) as conn:
        wanted = known_symbols(conn, parse_symbols(symbols), last)
    provider = get_provider(vendor, settings)
    cache = PricingCache(cache_dir or settings.cache_dir / "pricing")
    pulled = PricingPipeline(provider, cache, today=today).run(
        wanted, start=first, end=last, refresh=refresh)
    stored = cache.read(cache.key(vendor=provider.name, symbols=wanted, interval="1d",
                                  start=first, end=last))
    theirs = VendorFrame(provider.name, pulled.price_basis, pulled.bars,
                         dict(stored.events) if stored is not None else {})
    started = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        ours = read_warehouse_frame(conn, wanted, first, last, theirs.price_basis)
        result = reconcile_frames(wanted, first, last, ours, theirs, tolerance=tolerance)
        params = {"vendor": provider.name, "symbols": wanted, "start": first.isoformat(),
                  "end": last.isoformat(), "tolerance": tolerance}
        run_id, count = write_reconciliation(conn, result, params, started)
    return ReconcileReport(run_id, first, last, count, result)


def known_symbols(conn: psycopg.Connection[Any], symbols: Sequence[str], as_of: date
                  ) -> list[str]:
    """`symbols` that named a security on or before `as_of`; the others are named in a
    warning (before any vendor call: a typo should not cost a download).

    Raises:
        InputError: none of them did.
    """
    intervals = read_ticker_intervals(conn, tickers=list(symbols))
    unknown = [s for s in symbols if intervals.last_holder(s, as_of) is None]
    if len(unknown) == len(symbols):
        tail = (f"named no security on or before {as_of}: {', '.join(unknown)}; check the "
                "spelling (`stocksdb prices` and ticker_history know the tickers)")
        raise InputError(f"parameter `symbols` {tail}", cli_message=f"--symbols {tail}")
    if unknown:
        log.warning("%d symbol(s) named no security on or before %s, skipped: %s",
                    len(unknown), as_of, ", ".join(unknown))
    return [s for s in symbols if s not in unknown]


def read_warehouse_frame(conn: psycopg.Connection[Any], symbols: Sequence[str], start: date,
                         end: date, basis: PriceBasis) -> VendorFrame:
    """Our bars of `symbols` start..end on `basis` (`split_adjusted`: divided by the ratios of
    our later splits; otherwise raw), named as asked, with our dividends and splits.

    Raises:
        InputError: a symbol no security held on or before `end`.
    """
    bars = read_prices_frame(conn, symbols=symbols, start=start, end=end, adjusted=False)
    ids = {int(sid): str(sym) for sid, sym in zip(bars["security_id"], bars["symbol"],
                                                  strict=True)}
    events = read_events(conn, ids)
    frame = pd.DataFrame({"ts": pd.to_datetime(bars["trade_date"]).dt.tz_localize("UTC"),
                          "symbol": bars["symbol"], "volume": bars["volume"],
                          "vendor": WAREHOUSE,
                          **{c: bars[c].astype("float64") for c in PRICES}})
    if basis == "split_adjusted":
        for symbol, mine in events.items():
            rows = frame["symbol"] == symbol
            factor = compute_split_multipliers(bars.loc[rows, "trade_date"], mine.splits)
            for c in PRICES:
                frame.loc[rows, c] = frame.loc[rows, c].to_numpy() / factor
    return VendorFrame(WAREHOUSE, "split_adjusted" if basis == "split_adjusted" else "raw",
                       canonical_bars(frame), {s: events.get(s, SymbolEvents())
                                               for s in symbols})


def read_events(conn: psycopg.Connection[Any], ids: dict[int, str]) -> dict[str, SymbolEvents]:
    """symbol -> its dividends (cash and special) and splits in corporate_actions, by ex-date."""
    dividends: dict[str, list[Dividend]] = {}
    splits: dict[str, list[Split]] = {}
    for sid, kind, ex_date, split_from, split_to, cash in conn.execute(_ACTIONS, (list(ids),)):
        symbol = ids[int(sid)]
        if kind in ("cash_dividend", "special_dividend") and cash:
            dividends.setdefault(symbol, []).append(Dividend(ex_date, float(cash)))
        elif split_from and split_to:
            splits.setdefault(symbol, []).append(Split(ex_date, float(split_to / split_from)))
    return {s: SymbolEvents(tuple(dividends.get(s, [])), tuple(splits.get(s, [])))
            for s in set(ids.values())}


def write_reconciliation(conn: psycopg.Connection[Any], result: Reconciliation,
                         params: dict[str, Any], started: datetime) -> tuple[int, int]:
    """One finished `reconcile` job_runs row and its findings, in one transaction; returns
    (run_id, findings stored)."""
    rows = [*map(_drift_row, result.rows),
            *(_finding_row(f) for f in result.findings if _stored(f))]
    counts = {"status": result.status.value, "findings": len(rows),
              "drifting_sessions": len(result.rows)}
    with conn.transaction():
        found = conn.execute(_RUN, (JOB, Jsonb(params), started, Jsonb(counts))).fetchone()
        assert found is not None
        run_id = int(found[0])
        with conn.cursor() as cur:
            cur.executemany(_FINDING, [(run_id, *r) for r in rows])
    return run_id, len(rows)


def _stored(finding: QualityFinding) -> bool:
    """Event findings, and drift notes of pairs that could not be compared; a drift verdict
    per symbol is stored as its drifting sessions instead."""
    return finding.validator == EVENTS_FINDING or bool(finding.metrics.get("skipped"))


def _drift_row(row: DriftRow) -> tuple[Any, ...]:
    subject = {"symbol": row.symbol, "trade_date": row.session.isoformat(), "ours": row.ours,
               "theirs": row.theirs, "relative_difference": row.relative_difference}
    return (DRIFT_CHECK, CLOSE_DRIFT, SEVERITY[row.severity], Jsonb(subject),
            f"{row.symbol} on {row.session}: close {row.theirs:.6g} vs ours {row.ours:.6g} "
            f"({row.relative_difference:+.2%})")


def _finding_row(finding: QualityFinding) -> tuple[Any, ...]:
    events = finding.validator == EVENTS_FINDING
    subject = {"symbol": finding.symbol, **finding.as_json()["metrics"]}
    return (EVENTS_CHECK if events else DRIFT_CHECK,
            EVENT_ONE_SIDE if events else NOT_COMPARED, SEVERITY[finding.severity],
            Jsonb(subject), finding.message)
