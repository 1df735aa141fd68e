"""The research API: DataFrames of prices, raw or adjusted, by symbol or FIGI.

Reads: securities, ticker_history, prices_daily, adjustment_factors_daily.
A symbol resolves point in time: to the security that held it on `as_of` (default: `end`, or
today), or, if none did, the last one that held it before. That security's whole history in the
range comes back, under whatever tickers it had, so a renamed security is not cut in two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa

from stocksdb.db.cross_sections import CrossSection, read_cross_section
from stocksdb.db.names import (
    SecurityNames,
    kept_securities,
    read_names_and_prices,
    read_security_names,
)
from stocksdb.db.queries import (
    MANY_IDS,
    PREPARED_IDS,
    one_day,
    read_price_columns,
    read_ticker_intervals,
)
from stocksdb.domain.adjustments import DEFAULT_METHOD, AdjustmentMethod, parse_adjustment_method
from stocksdb.errors import InputError

COLUMNS = ("symbol", "ticker", "composite_figi", "security_id", "trade_date", "open", "high",
           "low", "close", "volume", "price_factor", "volume_factor")
_BAR_COLUMNS = ("security_id", "trade_date", "open", "high", "low", "close", "volume")
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)   # pandas' str, what Arrow strings become


def resolve_symbols(conn: psycopg.Connection[Any], symbols: Sequence[str],
                    as_of: date, *, as_of_given: bool = True) -> dict[str, int]:
    """symbol -> security_id point in time (see module docstring). `as_of_given`: the caller
    chose `as_of` (else it is a default, and the error suggests choosing one).

    Raises:
        InputError: a symbol no security held on or before `as_of`.
    """
    wanted = [s.strip().upper() for s in symbols]
    intervals = read_ticker_intervals(conn, tickers=wanted)
    held = {s: intervals.last_holder(s, as_of) for s in wanted}
    found = {s: sid for s, sid in held.items() if sid is not None}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise _unheld(missing, as_of, as_of_given)
    return {s: int(found[s]) for s in wanted}


def _unheld(missing: Sequence[str], as_of: date, as_of_given: bool) -> InputError:
    head = f"symbol(s) {list(missing)} named no security on or before {as_of}; check the spelling"
    if as_of_given:
        return InputError(head + " or the date")
    return InputError(head + " or pass as_of= a date it was listed",
                      cli_message=head + " or pass --as-of a date it was listed")


def _figi_ids(figis: Sequence[str], names: SecurityNames) -> np.ndarray[Any, Any]:
    """The security_id of each of `figis`, in their order, from `names` read for them.

    Raises:
        InputError: a FIGI that is not in securities.
    """
    ids = names.figi_ids(figis)
    if (ids < 0).any():
        missing = np.asarray(figis, dtype=object)[ids < 0].tolist()
        raise InputError(f"composite FIGI(s) {missing} are not in securities")
    return ids


def read_prices_frame(conn: psycopg.Connection[Any], *, symbols: Sequence[str] | None = None,
                      figis: Sequence[str] | None = None, start: date | None = None,
                      end: date | None = None, adjusted: bool = True,
                      method: AdjustmentMethod | str | None = None,
                      as_of: date | None = None) -> pd.DataFrame:
    """Daily bars (COLUMNS) for symbols and/or composite FIGIs over start..end inclusive,
    adjusted by default (as `stocksdb prices`; adjusted=False: raw bars as loaded); `method`
    (default crsp) names the factors of adjusted bars. A FIGI's bars carry the FIGI as their
    `symbol`.

    Bars and factors are read column by column (db.queries.read_price_columns, the path
    `make bench` measures); adjusted bars are only those with a factor of the method.

    Raises:
        InputError: neither symbols nor figis, unknown names, a method that is none of
            AdjustmentMethod, or no factors stored for the method when adjusted.
    """
    if not symbols and not figis:
        raise InputError("pass symbols=... or figis=... (or both)")
    if start is not None and end is not None and start > end:
        raise InputError(f"parameter `start` is {start}, after `end` {end}; pass a start on or "
                         "before the end",
                         cli_message=f"--start {start} is after --end {end}; pass a --start on "
                                     "or before --end")
    # No lower bound unless asked for: a two-sided date range on a table not yet analysed (just
    # loaded) is estimated at 0.5% of its rows, and the planner then walks a year's date index
    # instead of the security's key (150 ms, not 2, for a history read right after a load).
    end = end or date.today()
    chosen = _parse_method(method)
    if figis and not symbols and len(figis) <= PREPARED_IDS:
        # A few FIGIs (a security's history): names and bars in one prepared statement.
        few, bars = read_names_and_prices(conn, figis, start=start, end=end,
                                          method=chosen if adjusted else None,
                                          columns=_BAR_COLUMNS)
        _figi_ids(figis, few)          # every FIGI names a security, or InputError
        if adjusted and not len(bars["security_id"]):
            _require_factors(conn, chosen)
        return _frame(conn, bars, {}, few)   # each bar named by its FIGI
    named = (resolve_symbols(conn, symbols, as_of or end, as_of_given=as_of is not None)
             if symbols else {})
    # The names of the securities of the FIGIs resolve them and then name the bars; many
    # FIGIs (a date's cross-section of the universe) read every security's names, unjoined.
    names: SecurityNames | None = None
    copy: CrossSection | None = None
    if figis:
        many = len(figis) > MANY_IDS
        day = one_day(trade_date=None, start=start, end=end)
        if many and day is not None and 2 * len(figis) >= kept_securities(conn):
            # A date's cross-section of (most of) the universe: the date's copy, and when the
            # names last changed, in one statement (read_price_columns would read the copy).
            copy = read_cross_section(conn, day, chosen if adjusted else None,
                                      names_changed=True)
        names = read_security_names(conn, figis=None if many else figis,
                                    names_changed=copy.names_changed if copy else None)
    figi_ids = _figi_ids(figis, names) if figis and names else np.empty(0, dtype=np.int64)
    ids = np.sort(np.concatenate((figi_ids, np.fromiter(named.values(), np.int64, len(named)))))
    ids = ids[np.concatenate(([True], ids[1:] != ids[:-1]))] if len(ids) else ids
    bars = read_price_columns(conn, security_ids=ids, start=start, end=end,
                              method=chosen if adjusted else None, columns=_BAR_COLUMNS,
                              securities=len(names.security_ids)
                              if names and names.complete else None, copy=copy)
    if adjusted and not len(bars["security_id"]):
        _require_factors(conn, chosen)
    return _frame(conn, bars, _symbols_of(named, figis, figi_ids), names)


def _symbols_of(named: dict[str, int], figis: Sequence[str] | None,
                figi_ids: np.ndarray[Any, Any]) -> dict[int, str]:
    """security_id -> the symbol its bars carry, for the securities named by a symbol only: a
    FIGI names its security's bars even when a symbol names it too (or is spelt like the
    FIGI), and a FIGI asked for is its security's composite_figi."""
    if named and figis:
        asked = set(figis)
        named = {s: sid for s, sid in named.items() if s not in asked}
    by_symbol = {sid: s for s, sid in named.items()}
    if by_symbol and figis:
        figi_named = set(figi_ids.tolist())
        by_symbol = {sid: s for sid, s in by_symbol.items() if sid not in figi_named}
    return by_symbol


def _frame(conn: psycopg.Connection[Any], bars: dict[str, np.ndarray[Any, Any]],
           by_symbol: dict[int, str], names: SecurityNames | None) -> pd.DataFrame:
    """COLUMNS from raw bars (with their factors when adjusted): prices and volumes scaled,
    each bar named by the symbol asked for (`by_symbol`, else its composite FIGI), its
    ticker that day and its composite FIGI (from `names`, read here if None)."""
    ids = bars["security_id"]
    if not len(ids):   # the columns as an empty row list types them (symbol: str, others object)
        empty = pd.DataFrame([], columns=list(COLUMNS[1:]))
        return empty.assign(symbol=pd.Series([""]).iloc[:0]).loc[:, list(COLUMNS)]
    days = bars["trade_date"]
    first = np.concatenate(([True], ids[1:] != ids[:-1]))   # bars come in key order
    unique, at = ids[first], np.cumsum(first) - 1
    at_name = None if names is None else _positions(names.security_ids, unique)
    if names is None or at_name is None:   # symbols named some, or a bar names no security
        names = read_security_names(conn, security_ids=unique)
        at_name = np.arange(len(unique))
    # The FIGIs as Arrow strings of the names (made once for names kept between reads).
    composite = _take(names.figis_arrow, at_name)
    symbols = composite
    if by_symbol:
        named = composite.to_numpy(zero_copy_only=False)
        for sid, symbol in by_symbol.items():
            named[np.searchsorted(unique, sid)] = symbol
        symbols = pa.array(named.tolist(), type=pa.string())
    adjusted = "price_factor" in bars
    pf = bars["price_factor"] if adjusted else np.ones(len(ids))
    vf = bars["volume_factor"] if adjusted else np.ones(len(ids))
    # Text is made in Arrow's C++ (the symbols and FIGIs taken from the few distinct ones) and
    # kept as pandas' Arrow-backed strings; dates become datetime.date in numpy's C loop; the
    # numbers are not copied.
    frame = pd.DataFrame({
        "symbol": pd.array(_take(symbols, at), dtype=_TEXT),
        "ticker": pd.array(names.tickers_on(ids, days), dtype=_TEXT),
        "composite_figi": pd.array(_take(composite, at), dtype=_TEXT),
        "security_id": ids, "trade_date": _dates(days),
        **{c: bars[c] * pf for c in ("open", "high", "low", "close")},
        "volume": bars["volume"] * vf, "price_factor": pf, "volume_factor": vf}, copy=False)
    return frame


def _dates(days: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """datetime64[D] days as datetime.date objects: one object for a date's cross-section
    (10,000 made one by one cost ~0.7 ms, a filled array 0.1 ms)."""
    if len(days) > 1 and days[0] == days[-1] and (days == days[0]).all():
        return np.full(len(days), days[0].astype(object), dtype=object)
    return days.astype(object)


def _take(values: pa.Array, at: np.ndarray[Any, Any]) -> pa.Array:
    """values.take(at) for positions `at` that never go down (each value taken in turn):
    `values` itself when there are as many positions as values (each taken once)."""
    return values if len(at) == len(values) else values.take(at)


def _positions(sorted_ids: np.ndarray[Any, Any], ids: np.ndarray[Any, Any]
               ) -> np.ndarray[Any, Any] | None:
    """Where each of `ids` (sorted, distinct) is in `sorted_ids`, or None when one is not
    there."""
    if not len(sorted_ids):
        return None
    if len(ids) == len(sorted_ids) and np.array_equal(ids, sorted_ids):   # every security
        return np.arange(len(ids))
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return at if (sorted_ids[at] == ids).all() else None


def _parse_method(value: AdjustmentMethod | str | None) -> AdjustmentMethod:
    if not value:
        return DEFAULT_METHOD
    try:
        return parse_adjustment_method(value)
    except ValueError as exc:
        raise InputError(f"parameter `method`: {exc}") from None


def _require_factors(conn: psycopg.Connection[Any], method: AdjustmentMethod) -> None:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM stocks_research.adjustment_factors_daily "
                       "WHERE method = %s)", (method,)).fetchone()
    if not (row and row[0]):
        head = (f"no adjustment factors stored for method {method.value!r}; run `stocksdb run "
                f"adjustment_factors_daily --method {method}`")
        raise InputError(head + " or pass adjusted=False for raw bars",
                         cli_message=head + " or pass --raw for raw bars")


def read_fundamentals_frame(conn: psycopg.Connection[Any], *, symbols: Sequence[str],
                            as_of: date | None = None) -> pd.DataFrame:
    """Quarterly revenue and diluted EPS with YoY, as known on `as_of` (default: today), for
    symbols resolved point in time on that date; a ticker first listed after `as_of` (a
    company files before it lists) is its first holder, and a composite FIGI names its
    security.

    Raises:
        InputError: a symbol that is neither a ticker of ticker_history nor a composite FIGI.
    """
    from dataclasses import asdict

    from stocksdb.db.queries import read_fundamentals

    day = as_of or date.today()
    keys = _resolve_filers(conn, symbols, day)
    by_id = {sid: key for key, sid in keys.items()}
    rows = []
    for r in read_fundamentals(conn, list(keys.values()), as_of=day):
        yoy = asdict(r.yoy) if r.yoy else {}
        rows.append({"symbol": by_id.get(r.security_id), "security_id": r.security_id,
                     **asdict(r.quarter), "revenue_yoy": yoy.get("revenue_yoy"),
                     "eps_diluted_yoy": yoy.get("eps_diluted_yoy")})
    return pd.DataFrame(rows)


def _resolve_filers(conn: psycopg.Connection[Any], symbols: Sequence[str],
                    as_of: date) -> dict[str, int]:
    """symbol -> security_id for fundamentals: point in time; else, for a company that filed
    before its listing, the first security the ticker named after `as_of`; else a composite
    FIGI.

    Raises:
        InputError: a name that is none of these.
    """
    wanted = [s.strip().upper() for s in symbols]
    intervals = read_ticker_intervals(conn, tickers=wanted)
    found: dict[str, int] = {}
    for s in wanted:
        sid = intervals.last_holder(s, as_of) or intervals.next_holder(s, as_of)
        if sid is not None:
            found[s] = int(sid)
    rest = [s for s in wanted if s not in found]
    if rest:
        found |= {str(f): int(i) for f, i in conn.execute(
            "SELECT composite_figi, security_id FROM stocks_research.securities "
            "WHERE composite_figi = ANY(%s)", (rest,)).fetchall()}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise InputError(f"symbol(s) {missing} are neither a ticker of ticker_history nor a "
                         "composite FIGI of securities; check the spelling")
    return {s: found[s] for s in wanted}
