"""The securities master and ticker history of the synthetic market.

In:  a numpy Generator, the number of securities and the XNYS sessions of the range.
Out: a `Universe`: per-security columns (index i = one security), point-in-time ticker spans,
     the scenario of hard cases, and the rows of reference/securities.csv and
     reference/ticker_history.csv.

Conventions (shared with SPEC section 12): `valid_to` and `delist_date` are exclusive, i.e.
the first session on which the ticker no longer names the security / the security no longer
trades. A security has rows on sessions first_day <= t < end_day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np

from stocksdb.sample.identity import (
    make_ciks,
    make_figis,
    make_names,
    make_tickers,
    make_unknown_tickers,
)
from stocksdb.sample.scenario import Scenario, pick_scenario

ETF_SHARE = 0.08
SECURITY_HEADER = (
    "composite_figi", "share_class_figi", "name", "security_type", "primary_exchange",
    "currency", "cik", "list_date", "delist_date", "active",
)
TICKER_HEADER = ("composite_figi", "ticker", "valid_from", "valid_to")


@dataclass(frozen=True)
class TickerSpan:
    """`ticker` names security `security` from `valid_from` until `valid_to` (exclusive)."""

    security: int
    ticker: str
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class Universe:
    """Every security of the sample, as parallel columns indexed by security."""

    sessions: tuple[date, ...]
    composite_figi: tuple[str, ...]
    share_class_figi: tuple[str, ...]
    name: tuple[str, ...]
    is_etf: np.ndarray                 # bool per security
    exchange: tuple[str, ...]
    cik: tuple[int | None, ...]        # None for ETFs
    list_date: tuple[date, ...]
    delist_date: tuple[date | None, ...]
    first_day: np.ndarray              # int64: first session index with a row
    end_day: np.ndarray                # int64: session index after the last row
    spans: tuple[TickerSpan, ...]
    unknown_tickers: tuple[str, ...]   # tickers in day files that name nothing
    scenario: Scenario

    @property
    def size(self) -> int:
        """Number of securities."""
        return len(self.composite_figi)

    @cached_property
    def _spans_by_security(self) -> dict[int, list[TickerSpan]]:
        index: dict[int, list[TickerSpan]] = {}
        for span in self.spans:
            index.setdefault(span.security, []).append(span)
        return index

    def spans_of(self, security: int) -> list[TickerSpan]:
        """Ticker spans of `security`, oldest first."""
        return self._spans_by_security[security]

    def ticker_on(self, security: int, day: date) -> str:
        """The ticker naming `security` on `day`."""
        for span in self.spans_of(security):
            if span.valid_from <= day and (span.valid_to is None or day < span.valid_to):
                return span.ticker
        raise LookupError(f"security {security} has no ticker on {day}")


def build_universe(rng: np.random.Generator, n: int, sessions: tuple[date, ...]) -> Universe:
    """Draw identities, listing windows and ticker spans for `n` securities."""
    is_etf = np.zeros(n, dtype=bool)
    is_etf[rng.permutation(n)[: max(1, round(ETF_SHARE * n))]] = True
    scenario = pick_scenario(rng, ~is_etf, len(sessions))
    figis = make_figis(rng, 2 * n)
    taken: set[str] = set()
    tickers = make_tickers(rng, n + 1, taken)
    unknown = make_unknown_tickers(rng, len(scenario.unknown_ticker_days), taken)
    ciks = make_ciks(rng, n)
    first_day, end_day = _listing_days(scenario, n)
    list_dates = _list_dates(rng, sessions, first_day)
    return Universe(
        sessions=sessions,
        composite_figi=tuple(figis[:n]),
        share_class_figi=tuple(figis[n:]),
        name=tuple(make_names(rng, is_etf)),
        is_etf=is_etf,
        exchange=tuple(_exchanges(rng, is_etf)),
        cik=tuple(None if etf else cik for etf, cik in zip(is_etf.tolist(), ciks, strict=True)),
        list_date=tuple(list_dates),
        delist_date=tuple(None if e >= len(sessions) else sessions[e] for e in end_day.tolist()),
        first_day=first_day,
        end_day=end_day,
        spans=_ticker_spans(scenario, tickers, sessions, list_dates, end_day),
        unknown_tickers=tuple(unknown),
        scenario=scenario,
    )


def _listing_days(scenario: Scenario, n: int) -> tuple[np.ndarray, np.ndarray]:
    first_day = np.zeros(n, dtype=np.int64)
    end_day = np.full(n, scenario.n_sessions, dtype=np.int64)
    for ipo in scenario.ipos:
        first_day[ipo.security] = ipo.day
    for delisting in scenario.delistings:
        end_day[delisting.security] = delisting.day
    return first_day, end_day


def _exchanges(rng: np.random.Generator, is_etf: np.ndarray) -> list[str]:
    nasdaq = rng.random(len(is_etf)) < 0.55
    return [
        "ARCX" if etf else ("XNAS" if nq else "XNYS")
        for etf, nq in zip(is_etf.tolist(), nasdaq.tolist(), strict=True)
    ]


def _list_dates(
    rng: np.random.Generator, sessions: tuple[date, ...], first_day: np.ndarray
) -> list[date]:
    """IPOs list on their first session; the others on a weekday 1 month to 30 years before."""
    back = rng.integers(30, 30 * 365, size=len(first_day))
    dates: list[date] = []
    for day, days_back in zip(first_day.tolist(), back.tolist(), strict=True):
        if day > 0:
            dates.append(sessions[day])
            continue
        listed = sessions[0] - timedelta(days=days_back)
        dates.append(listed - timedelta(days=max(0, listed.weekday() - 4)))
    return dates


def _ticker_spans(
    scenario: Scenario,
    tickers: list[str],
    sessions: tuple[date, ...],
    list_dates: list[date],
    end_day: np.ndarray,
) -> tuple[TickerSpan, ...]:
    """One span per security, two for the renamed one; reused_second takes reused_first's."""
    n_sessions = len(sessions)
    own = list(tickers[: len(list_dates)])
    own[scenario.roles["reused_second"].security] = own[scenario.roles["reused_first"].security]
    spans: list[TickerSpan] = []
    for i, ticker in enumerate(own):
        stop = sessions[int(end_day[i])] if end_day[i] < n_sessions else None
        spans.append(TickerSpan(i, ticker, list_dates[i], stop))
    renamed = scenario.roles["renamed"]
    change = sessions[renamed.day]
    old = spans[renamed.security]
    spans[renamed.security] = TickerSpan(renamed.security, old.ticker, old.valid_from, change)
    spans.append(TickerSpan(renamed.security, tickers[-1], change, old.valid_to))
    return tuple(spans)
