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
from stocksdb.foundation.vendors import Vendor, get_provider, vendors

__all__ = ["BAR_COLUMNS", "FORMAT_VERSION", "CacheOutcome", "CachedDataset", "DatasetKey",
           "Dividend", "IssueCode", "PriceBasis", "PricingCache", "PricingPipeline",
           "PricingQualityIssue", "PricingResult", "Provider", "Split", "SymbolEvents",
           "SymbolSummary", "Vendor", "VendorFrame", "canonical_bars", "empty_bars",
           "get_provider", "vendors"]
__all__ += ["AnomalyKind", "DimensionQuality", "DimensionResult", "FeedAnomaly",
            "IngestQualityReport", "IngestQualityStatus", "RunSnapshot", "detect_feed_anomalies",
            "evaluate_ingest_quality"]

# --- issue 13: multi-source aggregator, validators, false ticks ---
from stocksdb.foundation.aggregator import (  # noqa: E402
    AggregationInput,
    AggregationResult,
    MultiSourceAggregator,
    ProviderSnapshot,
    ProviderSpec,
    Validator,
)
from stocksdb.foundation.false_ticks import FalseTick, detect_false_ticks  # noqa: E402
from stocksdb.foundation.findings import DataQualitySeverity, QualityFinding  # noqa: E402
from stocksdb.foundation.validators import (  # noqa: E402
    CoverageValidator,
    CrossSourceDriftValidator,
    StalenessValidator,
)

__all__ += ["AggregationInput", "AggregationResult", "CoverageValidator",
            "CrossSourceDriftValidator", "DataQualitySeverity", "FalseTick",
            "MultiSourceAggregator", "ProviderSnapshot", "ProviderSpec", "QualityFinding",
            "StalenessValidator", "Validator", "detect_false_ticks"]

# --- issue 14: reference data ---
from stocksdb.foundation.reference import (  # noqa: E402
    ExchangeSessions,
    Holiday,
    Instrument,
    ReferenceDataLoader,
    ReferenceDataset,
)

__all__ += ["ExchangeSessions", "Holiday", "Instrument", "ReferenceDataLoader",
            "ReferenceDataset"]

# --- issue 15: the operational backbone (store -> cache -> stream) ---
from stocksdb.foundation.backbone import Backbone, IngestResult, JobRun  # noqa: E402

__all__ += ["Backbone", "IngestResult", "JobRun"]
