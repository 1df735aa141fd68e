"""Synthetic identifiers: FIGIs, tickers, CIKs and company names.

In:  a numpy Generator and how many of each are needed.
Out: lists of unique, well-formed identifiers in draw order (deterministic for a given
     generator state). FIGIs carry a valid check digit; tickers are 1-4 capital letters.
"""

from __future__ import annotations

import numpy as np

from stocksdb.domain.identifiers import FIGI_BODY_ALPHABET, FIGI_PREFIX, figi_check_digit

_LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
_FIGI_CHARS = np.array(list(FIGI_BODY_ALPHABET))
# Ticker lengths 1..4 and how often each is drawn (real listings are mostly 3-4 letters).
_TICKER_LENGTHS = np.array([1, 2, 3, 4])
_TICKER_LENGTH_P = np.array([0.01, 0.09, 0.45, 0.45])

_NAME_FIRST = (
    "Acme", "Apex", "Atlas", "Beacon", "Birch", "Cascade", "Cedar", "Cobalt", "Condor",
    "Crescent", "Delta", "Ember", "Falcon", "Fjord", "Granite", "Harbor", "Helix", "Horizon",
    "Iris", "Juniper", "Keystone", "Lumen", "Maple", "Meridian", "Nimbus", "Northwind",
    "Onyx", "Orchid", "Pioneer", "Quarry", "Redwood", "Sable", "Summit", "Tidewater",
    "Titan", "Umber", "Vantage", "Willow", "Zenith", "Zephyr",
)
_NAME_SECOND = (
    "Analytics", "Biosciences", "Brands", "Capital", "Communications", "Devices", "Energy",
    "Foods", "Health", "Industries", "Logistics", "Materials", "Media", "Minerals", "Motors",
    "Networks", "Pharma", "Realty", "Robotics", "Semiconductor", "Software", "Systems",
    "Therapeutics", "Utilities",
)
_NAME_SUFFIX = ("Inc.", "Corp.", "Holdings Inc.", "Group Inc.", "Co.", "Ltd.")
_ETF_STYLE = ("Equal Weight", "Dividend", "Growth", "Value", "Momentum", "Quality", "Low Vol")
_ETF_SCOPE = ("US Large Cap", "US Mid Cap", "US Small Cap", "Total Market", "Sector", "Tech")


def make_figis(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct FIGIs shaped like Bloomberg's: 'BBG00' + 6 body characters + check."""
    seen: set[str] = set()
    figis: list[str] = []
    while len(figis) < count:
        draws = rng.choice(_FIGI_CHARS, size=(count - len(figis), 6))
        for row in draws:
            body = FIGI_PREFIX + "00" + "".join(row)
            if body not in seen:
                seen.add(body)
                figis.append(body + figi_check_digit(body))
    return figis


def make_tickers(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """`count` distinct tickers not in `taken`; `taken` is extended with them."""
    tickers: list[str] = []
    while len(tickers) < count:
        need = count - len(tickers)
        lengths = rng.choice(_TICKER_LENGTHS, size=need, p=_TICKER_LENGTH_P)
        letters = rng.choice(_LETTERS, size=(need, 4))
        for length, row in zip(lengths.tolist(), letters, strict=True):
            ticker = "".join(row[:length])
            if ticker not in taken:
                taken.add(ticker)
                tickers.append(ticker)
    return tickers


def make_unknown_tickers(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """Tickers that name nothing in ticker history: 5 letters ending in 'W', like warrants."""
    tickers: list[str] = []
    while len(tickers) < count:
        ticker = "".join(rng.choice(_LETTERS, size=4)) + "W"
        if ticker not in taken:
            taken.add(ticker)
            tickers.append(ticker)
    return tickers


def make_ciks(rng: np.random.Generator, count: int) -> list[int]:
    """`count` distinct CIKs in the range real filers use (1,000,000 .. 1,999,999)."""
    picks = rng.choice(1_000_000, size=count, replace=False)
    return [1_000_000 + int(p) for p in picks]


def make_names(rng: np.random.Generator, is_etf: np.ndarray) -> list[str]:
    """A plausible, unique company or fund name per security."""
    seen: set[str] = set()
    names: list[str] = []
    for etf in is_etf.tolist():
        stem, suffix = _draw_name(rng, etf)
        name, serial = f"{stem} {suffix}", 2
        while name in seen:
            name, serial = f"{stem} {serial} {suffix}", serial + 1
        seen.add(name)
        names.append(name)
    return names


def _draw_name(rng: np.random.Generator, etf: bool) -> tuple[str, str]:
    """(stem, suffix): 'Acme Energy', 'Inc.' or 'Acme US Large Cap Growth', 'ETF'."""
    first = _NAME_FIRST[int(rng.integers(len(_NAME_FIRST)))]
    if etf:
        scope = _ETF_SCOPE[int(rng.integers(len(_ETF_SCOPE)))]
        style = _ETF_STYLE[int(rng.integers(len(_ETF_STYLE)))]
        return f"{first} {scope} {style}", "ETF"
    second = _NAME_SECOND[int(rng.integers(len(_NAME_SECOND)))]
    return f"{first} {second}", _NAME_SUFFIX[int(rng.integers(len(_NAME_SUFFIX)))]
