"""An export's `_manifest.json`: what was exported, from which warehouse state, into which files.

In:  the facts export_dataset gathered. Out: ExportManifest, written as `_manifest.json` at the
root of the export (readers skip files starting with `_`: pyarrow, Spark, DuckDB's glob).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from stocksdb.db.checksum import TableChecksum

MANIFEST_NAME = "_manifest.json"
FORMAT = "stocksdb-export/1"


@dataclass(frozen=True)
class ExportFile:
    """One Parquet file of the export, its path relative to the export's root."""

    path: str
    year: int
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class SourceChecksum:
    """Which warehouse state the rows came from, read in the export's own snapshot.

    `tables`: every table the export read, digested exactly as `stocksdb db checksum` does
    (the whole table). `range`: the same digest over only the rows of the dataset's table
    inside the exported date range (what the table's digest would be if it held only those).
    """

    tables: dict[str, TableChecksum]
    range: TableChecksum
    schema_version: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON body."""
        return {"covers": "stocksdb db checksum digests (audit columns run_id and *_at left out)",
                "schema_version": self.schema_version,
                "tables": {t: {"rows": c.rows, "digest": c.digest}
                           for t, c in sorted(self.tables.items())},
                "range": {"table": self.range.table, "rows": self.range.rows,
                          "digest": self.range.digest}}


@dataclass(frozen=True)
class PreviousExport:
    """An export an --overwrite replaced (or would replace): what it was and what it held."""

    dataset: str | None     # None: its _manifest.json was unreadable
    rows: int | None
    created_at: str | None
    files: int              # every file under the directory, manifest included

    def describe(self, out: Path) -> str:
        """'an export of prices (1,234 rows, created ...) in 3 files at OUT'."""
        what = f"an export of {self.dataset} ({self.rows:,} rows, created {self.created_at})" \
            if self.dataset is not None else "an export with an unreadable _manifest.json"
        return f"{what}: {self.files} file(s) under {out}"


@dataclass(frozen=True)
class ExportManifest:
    """What export_dataset wrote to `out`; `to_dict()` is the `_manifest.json` body."""

    out: Path
    dataset: str
    table: str
    date_column: str      # of `table`: the range filter and the year partition
    created_at: datetime
    start: date | None
    end: date | None
    adjusted: bool
    method: str | None
    rows_by_year: dict[int, int]
    files: tuple[ExportFile, ...]
    schema: dict[str, str]
    source: SourceChecksum
    first_date: date | None
    last_date: date | None
    stocksdb_version: str
    warnings: tuple[str, ...] = ()
    replaced: PreviousExport | None = field(default=None)   # not written: the output says it

    @property
    def rows(self) -> int:
        """Rows in all files."""
        return sum(self.rows_by_year.values())

    def to_dict(self) -> dict[str, Any]:
        """The `_manifest.json` body."""
        return {
            "format": FORMAT, "dataset": self.dataset, "table": self.table,
            "created_at": self.created_at.isoformat(),
            "range": {"start": _day(self.start), "end": _day(self.end),
                      "first_date": _day(self.first_date), "last_date": _day(self.last_date)},
            "adjusted": self.adjusted, "adjustment_method": self.method,
            "rows": self.rows,
            "partitioning": {"flavor": "hive", "key": "year", "column": self.date_column},
            "rows_per_partition": {f"year={y}": n for y, n in sorted(self.rows_by_year.items())},
            "files": [vars(f) for f in self.files],
            "schema": self.schema,
            "source_checksum": self.source.to_dict(),
            "warnings": list(self.warnings),
            "stocksdb_version": self.stocksdb_version,
        }

    def write(self, root: Path) -> Path:
        """Write the manifest as `root/_manifest.json`."""
        path = root / MANIFEST_NAME
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def read_previous(out: Path) -> PreviousExport:
    """What the export in `out` (a directory holding _manifest.json) holds."""
    files = sum(1 for p in out.rglob("*") if p.is_file())
    try:
        body = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
        return PreviousExport(str(body["dataset"]), int(body["rows"]), str(body["created_at"]),
                              files)
    except (OSError, ValueError, KeyError, TypeError):
        return PreviousExport(None, None, None, files)
