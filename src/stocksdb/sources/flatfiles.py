"""Massive day-aggregate flat files: key layout, local trees, and reading one day file.

In:  DIR/flatfiles/us_stocks_sip/day_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz (files source), or the
     same keys fetched from S3 into the local cache (massive source).
Out: DayFile (where a session's file is, its size, ETag, sha256) and its rows as a pyarrow Table.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from stocksdb.errors import InputFileError

DAY_AGGS_PREFIX = "us_stocks_sip/day_aggs_v1"
DAY_COLUMNS: tuple[str, ...] = ("ticker", "volume", "open", "close", "high", "low",
                                "window_start", "transactions")
_KEY_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})\.csv\.gz$")


def day_key(day: date) -> str:
    """The object key of a session's day-aggregates file."""
    return f"{DAY_AGGS_PREFIX}/{day:%Y}/{day:%m}/{day.isoformat()}.csv.gz"


def key_date(key: str) -> date | None:
    """The session date a key names, or None for a key that is not a day file."""
    match = _KEY_DATE.search(key)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


@dataclass(frozen=True)
class DayFile:
    """A day file available locally: its key, local path, size and identity."""

    key: str
    path: Path
    size: int
    etag: str | None = None       # S3 ETag when fetched from S3
    sha256: str | None = None     # filled when the bytes are read


class DayFileStore(Protocol):
    """Where day files come from (a local tree, or S3 through a local cache)."""

    source: str

    def locate(self, day: date) -> DayFile | None:
        """The file of `day`, fetched into local storage if needed; None when it does not exist."""
        ...

    def latest_date(self, until: date) -> date | None:
        """The latest date <= until that has a file."""
        ...


class LocalFlatFiles:
    """A local tree in Massive's layout (`DIR/flatfiles/<key>`), e.g. after `aws s3 sync`."""

    source = "files"

    def __init__(self, root: Path) -> None:
        self.root = root / "flatfiles"
        if not (self.root / DAY_AGGS_PREFIX).is_dir():
            raise InputFileError(
                f"no day-aggregates folder {str(self.root / DAY_AGGS_PREFIX)!r}; expected the "
                "layout DIR/flatfiles/us_stocks_sip/day_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz"
            )

    def locate(self, day: date) -> DayFile | None:
        path = self.root / day_key(day)
        if not path.is_file():
            return None
        return DayFile(key=day_key(day), path=path, size=path.stat().st_size)

    def latest_date(self, until: date) -> date | None:
        found = [d for p in (self.root / DAY_AGGS_PREFIX).glob("*/*/*.csv.gz")
                 if (d := key_date(p.name)) is not None and d <= until]
        return max(found, default=None)


@dataclass(frozen=True)
class DayRows:
    """A parsed day file: its rows and whether they had to be read as text."""

    table: pa.Table
    as_text: bool        # True when a value did not parse as a number (rows checked one by one)
    sha256: str
    size: int


def read_day_file(path: Path) -> DayRows:
    """Rows of a gzip CSV day file.

    Numbers are parsed natively; if any value is not a number the file is re-read as text so the
    bad rows can be quarantined one by one instead of losing the date.

    Raises:
        InputFileError: unreadable, truncated or not CSV, or a required column is missing.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"day file {str(path)!r} cannot be read: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    try:
        table = _parse(data, typed=True)
        as_text = False
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        if "CSV conversion error" not in str(exc) and "conversion" not in str(exc).lower():
            raise InputFileError(f"day file {str(path)!r} is not readable CSV: {exc}") from exc
        try:
            table, as_text = _parse(data, typed=False), True
        except (pa.ArrowInvalid, OSError) as exc2:
            raise InputFileError(f"day file {str(path)!r} is not readable CSV: {exc2}") from exc2
    except OSError as exc:  # gzip truncation, bad header
        raise InputFileError(f"day file {str(path)!r} is corrupt or truncated: {exc}") from exc
    missing = [c for c in DAY_COLUMNS if c not in table.column_names and c != "transactions"]
    if missing:
        raise InputFileError(f"day file {str(path)!r} lacks column(s) {missing}; expected "
                             f"header {','.join(DAY_COLUMNS)}")
    return DayRows(table=table, as_text=as_text, sha256=digest, size=len(data))


def _parse(data: bytes, *, typed: bool) -> pa.Table:
    import pyarrow.csv as pacsv

    types: dict[str, pa.DataType] = {c: pa.string() for c in DAY_COLUMNS}
    if typed:
        types.update(volume=pa.float64(), open=pa.float64(), close=pa.float64(),
                     high=pa.float64(), low=pa.float64(), window_start=pa.int64(),
                     transactions=pa.float64())
    stream = pa.CompressedInputStream(pa.BufferReader(data), "gzip")
    return pacsv.read_csv(
        stream,
        # only an empty cell is null: 'nan' must reach the checks as NaN (non_finite_value),
        # not vanish into a null (unparseable_value)
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False,
                                             null_values=[""]),
    )
