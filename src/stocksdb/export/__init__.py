"""Export a dataset of the warehouse to Hive-partitioned Parquet (`stocksdb export`).

In:  a DSN, a dataset name (DATASET_NAMES), a date range. Out: `year=YYYY/part-0.parquet`
files and `_manifest.json` under a directory, readable by pyarrow.dataset, DuckDB, polars and
Spark (docs/export.md). pyarrow loads only when an export runs.
"""

from __future__ import annotations

from stocksdb.export.datasets import DATASET_NAMES
from stocksdb.export.manifest import MANIFEST_NAME, ExportManifest
from stocksdb.export.run import export_dataset

__all__ = ["DATASET_NAMES", "MANIFEST_NAME", "ExportManifest", "export_dataset"]
