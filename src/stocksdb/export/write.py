"""Parquet files of a Hive-partitioned export: `year=YYYY/part-0.parquet`, written by pyarrow.

In:  the chunks of one year (Arrow tables, in key order). Out: one file per year, each chunk a
row group, so files are sorted by security_id and readers can skip row groups by it.
One ParquetWriter per partition rather than pyarrow.dataset.write_dataset: the chunks come from
a COPY on our connection, which must not be pulled from Arrow's own threads; the layout is the
one write_dataset(partitioning=["year"], partitioning_flavor="hive") gives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from stocksdb.export.manifest import ExportFile

PART_NAME = "part-0.parquet"


def write_year(root: Path, year: int, chunks: Iterable[pa.Table],
               schema: pa.Schema) -> ExportFile | None:
    """Write the chunks to root/year=YEAR/part-0.parquet; None (and no file) when there are
    none."""
    relative = Path(f"year={year}", PART_NAME)
    path = root / relative
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for chunk in chunks:
            if writer is None:
                path.parent.mkdir(parents=True)
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(chunk)
            rows += chunk.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        return None
    return ExportFile(relative.as_posix(), year, rows, path.stat().st_size, _sha256(path))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
