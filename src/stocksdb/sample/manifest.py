"""The sample's manifest: options, counts and where every hard case is.

In:  the `Universe`, the `MarketLog` of the session loop and the fundamentals cases.
Out: a `SampleManifest` (written as manifest.json) whose `cases` name the concrete FIGIs,
     tickers and dates of each hard case, so tests and demos can find them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from stocksdb.errors import InputFileError
from stocksdb.sample.actions import DividendRecord, SplitRecord
from stocksdb.sample.flatfiles import window_start_ns
from stocksdb.sample.market import MarketLog
from stocksdb.sample.scenario import Event
from stocksdb.sample.universe import Universe

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SampleManifest:
    """What `generate_sample` wrote to `out_dir`; `to_dict()` is the manifest.json body."""

    out_dir: Path
    options: dict[str, Any]
    counts: dict[str, int]
    cases: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON body (without `out_dir`, so that two runs write identical bytes)."""
        return {"format_version": FORMAT_VERSION, "options": self.options,
                "counts": self.counts, "cases": self.cases}


def read_manifest(out_dir: Path) -> SampleManifest:
    """The manifest of a sample written earlier to `out_dir`.

    Raises:
        InputFileError: if `out_dir` holds no readable manifest.json.
    """
    path = Path(out_dir) / MANIFEST_NAME
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(
            f"sample manifest {str(path)!r} is missing or not JSON; "
            "generate the sample again with `stocksdb sample DIR`"
        ) from exc
    return SampleManifest(Path(out_dir), body["options"], body["counts"], body["cases"])


def build_cases(universe: Universe, log: MarketLog, restatement: dict[str, Any]) -> dict[str, Any]:
    """The `cases` object of the manifest."""
    roles = universe.scenario.roles
    cases: dict[str, Any] = {
        "renamed": _renamed(universe),
        "reused_ticker": _reused(universe),
        "ipo": [_ipo(universe, e) for e in universe.scenario.ipos],
        "delisted": [_delisted(universe, e) for e in universe.scenario.delistings],
        "halted": [_on_day(universe, roles["halted"])],
        "unknown_tickers": [
            {"ticker": t, "date": _iso(universe, d)}
            for d, t in zip(universe.scenario.unknown_ticker_days, universe.unknown_tickers,
                            strict=True)
        ],
        "duplicate_rows": [_on_day(universe, roles["duplicate_row"])],
        "bad_bars": [{**_on_day(universe, roles["bad_bar"]), "problem": "high_below_low"}],
        "wrong_window_start": [_wrong_window(universe, roles["wrong_window_start"])],
        "forward_split": _split(universe, log, "forward_split"),
        "reverse_split": _split(universe, log, "reverse_split"),
        "split_and_dividend_same_day": _split_and_dividend(universe, log),
        "special_dividend": _dividend(universe, _dividends_of(log, roles["special_dividend"])[0]),
        "quarterly_dividend": _quarterly(universe, log),
        "fiscal_year_january": _fiscal_january(universe),
        "restatement": restatement,
    }
    return cases


def _iso(universe: Universe, day: int) -> str:
    return universe.sessions[day].isoformat()


def _on_day(universe: Universe, event: Event) -> dict[str, Any]:
    session = universe.sessions[event.day]
    return {"ticker": universe.ticker_on(event.security, session),
            "composite_figi": universe.composite_figi[event.security],
            "date": session.isoformat()}


def _renamed(universe: Universe) -> dict[str, Any]:
    event = universe.scenario.roles["renamed"]
    old, new = universe.spans_of(event.security)
    return {"composite_figi": universe.composite_figi[event.security], "old_ticker": old.ticker,
            "new_ticker": new.ticker, "change_date": _iso(universe, event.day)}


def _reused(universe: Universe) -> dict[str, Any]:
    first = universe.spans_of(universe.scenario.roles["reused_first"].security)[0]
    second = universe.spans_of(universe.scenario.roles["reused_second"].security)[0]
    assert first.valid_to is not None  # reused_first delists inside the range
    return {"ticker": first.ticker,
            "first_figi": universe.composite_figi[first.security],
            "first_valid_to": first.valid_to.isoformat(),
            "second_figi": universe.composite_figi[second.security],
            "second_valid_from": second.valid_from.isoformat()}


def _ipo(universe: Universe, event: Event) -> dict[str, Any]:
    return {"composite_figi": universe.composite_figi[event.security],
            "ticker": universe.spans_of(event.security)[0].ticker,
            "list_date": _iso(universe, event.day)}


def _delisted(universe: Universe, event: Event) -> dict[str, Any]:
    """`delist_date` is the first session without a row; `last_session` the last with one."""
    return {"composite_figi": universe.composite_figi[event.security],
            "ticker": universe.ticker_on(event.security, universe.sessions[event.day - 1]),
            "delist_date": _iso(universe, event.day),
            "last_session": _iso(universe, event.day - 1)}


def _wrong_window(universe: Universe, event: Event) -> dict[str, Any]:
    following: date = universe.sessions[event.day + 1]
    return {**_on_day(universe, event), "window_start": window_start_ns(following),
            "window_start_date": following.isoformat()}


def _splits_of(log: MarketLog, security: int) -> list[SplitRecord]:
    return [r for r in log.splits if r.security == security]


def _dividends_of(log: MarketLog, event: Event) -> list[DividendRecord]:
    return [r for r in log.dividends if r.security == event.security and r.day == event.day]


def _split(universe: Universe, log: MarketLog, role: str) -> dict[str, Any]:
    record = _splits_of(log, universe.scenario.roles[role].security)[0]
    return {"composite_figi": universe.composite_figi[record.security], "ticker": record.ticker,
            "execution_date": _iso(universe, record.day), "split_from": record.split_from,
            "split_to": record.split_to}


def _dividend(universe: Universe, record: DividendRecord) -> dict[str, Any]:
    return {"composite_figi": universe.composite_figi[record.security], "ticker": record.ticker,
            "ex_dividend_date": _iso(universe, record.day), "cash_amount": record.cash_amount,
            "dividend_type": record.dividend_type}


def _split_and_dividend(universe: Universe, log: MarketLog) -> dict[str, Any]:
    event = universe.scenario.roles["split_and_dividend"]
    split = _split(universe, log, "split_and_dividend")
    dividend = _dividends_of(log, event)[0]
    return {**split, "date": split["execution_date"], "cash_amount": dividend.cash_amount,
            "dividend_type": dividend.dividend_type}


def _quarterly(universe: Universe, log: MarketLog) -> dict[str, Any]:
    """The example quarterly payer and every regular ex-date it has in the range."""
    security = universe.scenario.roles["quarterly_dividend"].security
    records = [r for r in log.dividends if r.security == security]
    return {"composite_figi": universe.composite_figi[security], "ticker": records[0].ticker,
            "ex_dividend_dates": [_iso(universe, r.day) for r in records],
            "cash_amounts": [r.cash_amount for r in records], "frequency": 4}


def _fiscal_january(universe: Universe) -> dict[str, Any]:
    security = universe.scenario.fiscal_january
    cik = universe.cik[security]
    assert cik is not None  # fundamentals companies are common stocks, which have CIKs
    return {"cik": f"{cik:010d}", "composite_figi": universe.composite_figi[security],
            "entity_name": universe.name[security], "fiscal_year_end": "--01-31"}
