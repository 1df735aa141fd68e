"""The data foundation: quick pulls of any symbol from Yahoo, Alpha Vantage, FRED, Massive or a
local file vendor, through one validated pipeline and a Parquet cache (`stocksdb fetch`).

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

# Ingest scoring and feed anomalies (docs/quality.md).
from stocksdb.foundation.scoring import (
    AnomalyKind,
    DimensionQuality,
    DimensionResult,
    FeedAnomaly,
    IngestQualityReport,
    IngestQualityStatus,
    RunSnapshot,
    detect_feed_anomalies,
    evaluate_ingest_quality,
)

__all__ = ["BAR_COLUMNS", "Dividend", "PriceBasis", "Provider", "Split", "SymbolEvents",
           "VendorFrame", "canonical_bars", "empty_bars"]
__all__ += ["AnomalyKind", "DimensionQuality", "DimensionResult", "FeedAnomaly",
            "IngestQualityReport", "IngestQualityStatus", "RunSnapshot", "detect_feed_anomalies",
            "evaluate_ingest_quality"]
