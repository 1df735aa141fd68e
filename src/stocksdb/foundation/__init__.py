"""The data foundation: quick pulls of any symbol from Yahoo, Alpha Vantage, FRED, Massive or a
local file vendor, through one validated pipeline and a Parquet cache (`stocksdb fetch`), and
the reference data (instruments, exchange sessions, holidays) of `ReferenceDataLoader`.

Public names are exported here; see docs/foundation.md.
"""

from __future__ import annotations

from stocksdb.foundation.base import (
    BAR_COLUMNS,
    Dividend,
    PriceBasis,
    Provider,
    Split,
    SymbolEvents,
    VendorFrame,
    canonical_bars,
    empty_bars,
)
from stocksdb.foundation.cache import FORMAT_VERSION, CachedDataset, DatasetKey, PricingCache
from stocksdb.foundation.pipeline import (
    CacheOutcome,
    PricingPipeline,
    PricingResult,
    SymbolSummary,
)
from stocksdb.foundation.quality import IssueCode, PricingQualityIssue
from stocksdb.foundation.reference import (
    ExchangeSessions,
    Holiday,
    Instrument,
    ReferenceDataLoader,
    ReferenceDataset,
)
from stocksdb.foundation.vendors import Vendor, get_provider, vendors

__all__ = ["BAR_COLUMNS", "FORMAT_VERSION", "CacheOutcome", "CachedDataset", "DatasetKey",
           "Dividend", "ExchangeSessions", "Holiday", "Instrument", "IssueCode", "PriceBasis",
           "PricingCache", "PricingPipeline", "PricingQualityIssue", "PricingResult", "Provider",
           "ReferenceDataLoader", "ReferenceDataset", "Split", "SymbolEvents", "SymbolSummary",
           "Vendor", "VendorFrame", "canonical_bars", "empty_bars", "get_provider", "vendors"]
