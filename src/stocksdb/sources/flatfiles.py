"""Massive day-aggregate flat files: key layout, local trees, and reading one day file.

In:  DIR/flatfiles/us_stocks_sip/day_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz (files source), or the
     same keys fetched from S3 into the local cache (massive source).
Out: DayFile (where a session's file is, its size, ETag, sha256) and its rows as a pyarrow Table.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

import pyarrow as pa
from isal import igzip, isal_zlib

from stocksdb.errors import FileTooLargeError, InputFileError

# What a damaged gzip stream raises while it is read: a truncated one EOFError, a bad header
# or checksum gzip.BadGzipFile (an OSError), bad deflate data isal_zlib.error (its stub
# declares an instance, hence the cast).
_GZIP_ERRORS: tuple[type[BaseException], ...] = (
    OSError, EOFError, cast("type[BaseException]", isal_zlib.error))


def _inflating(path: Path) -> BinaryIO:
    """The file's bytes as they are inflated, by ISA-L (python-isal): about three times
    zlib's speed; inflating was a third of a session's read."""
    return cast(BinaryIO, igzip.open(path, "rb"))  # type: ignore[no-untyped-call]

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


# A day file is read in record batches of about BLOCK_BYTES (decompressed). A real one (under
# 1 MB) is one batch, parsed once and kept whole; a bigger one is read batch by batch on demand,
# so memory stays bounded. (Arrow's CSV parser needs several times its block size: 16 MB blocks
# of wide rows peaked near 190 MB, 4 MB blocks near 45 MB.)
BLOCK_BYTES = 4 << 20
DEFAULT_MAX_FILE_BYTES = 2 << 30     # STOCKSDB_MAX_FILE_BYTES: refuse beyond (decompressed)
# deflate cannot compress better than about 1032:1, so a file this much smaller than the limit
# cannot exceed it and its decompressed size need not be counted
_MAX_DEFLATE_RATIO = 1032


@dataclass(frozen=True)
class DayRows:
    """A parsed day file: all its rows (`table`, for a one-batch file), or a way to read them
    again in batches (`batches()`), and whether they had to be read as text."""

    table: pa.Table | None
    as_text: bool        # True when a value did not parse as a number (rows checked one by one)
    sha256: str
    size: int            # compressed bytes
    path: Path | None = None
    columns: tuple[str, ...] = DAY_COLUMNS   # ours, as present in the file

    def batches(self) -> Iterator[pa.Table]:
        """The rows, a batch at a time (one table when the file was read whole)."""
        if self.table is not None:
            yield self.table
            return
        assert self.path is not None
        with _open(self.path, typed=not self.as_text, columns=self.columns) as reader:
            for batch in reader:
                yield pa.Table.from_batches([batch])


def _digest(path: Path) -> tuple[int, str]:
    """(compressed size, sha256 of the compressed bytes), streaming."""
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise InputFileError(f"day file {str(path)!r} cannot be read: {exc}") from exc
    return size, digest.hexdigest()


def _decompressed_size(path: Path) -> int:
    """Bytes of the decompressed file, streaming (nothing kept).

    Raises:
        InputFileError: not a complete gzip stream.
    """
    raw = 0
    try:
        with _inflating(path) as gz:
            for chunk in iter(lambda: gz.read(1 << 20), b""):
                raw += len(chunk)
    except _GZIP_ERRORS as exc:
        raise InputFileError(f"day file {str(path)!r} is corrupt or truncated: {exc}") from exc
    return raw


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    """Refuse a file larger than `max_bytes` decompressed (counted only when it could be).

    Raises:
        FileTooLargeError: it is.
    """
    if size * _MAX_DEFLATE_RATIO <= max_bytes:
        return
    raw = _decompressed_size(path)
    if raw > max_bytes:
        raise FileTooLargeError(
            f"file_too_large: day file {str(path)!r} holds {raw:,} bytes decompressed, more "
            f"than the limit of {max_bytes:,} (STOCKSDB_MAX_FILE_BYTES); nothing written, the "
            "stored bars are kept; check the file, or raise the limit if it is genuine")


def read_day_file(path: Path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> DayRows:
    """Rows of a gzip CSV day file, whole when it is one batch, else batches read on demand.

    Numbers are parsed natively; if any value is not a number the file is re-read as text so the
    bad rows can be quarantined one by one instead of losing the date.

    Raises:
        FileTooLargeError: the decompressed file is larger than `max_bytes`.
        InputFileError: unreadable, truncated or not CSV, or a required column is missing.
    """
    size, digest = _digest(path)
    _check_size(path, size, max_bytes)
    names = _header(path)
    missing = [c for c in DAY_COLUMNS if c not in names and c != "transactions"]
    if missing:
        raise InputFileError(f"day file {str(path)!r} lacks column(s) {missing}; expected "
                             f"header {','.join(DAY_COLUMNS)}")
    columns = tuple(c for c in DAY_COLUMNS if c in names)
    table, as_text = _scan(path, columns)
    return DayRows(table, as_text, digest, size, path, columns)


def _scan(path: Path, columns: tuple[str, ...]) -> tuple[pa.Table | None, bool]:
    """Parse the file once as typed (then as text if a number does not convert), keeping the
    rows only when they are one batch: (rows or None, read as text)."""
    for typed in (True, False):
        try:
            with _open(path, typed=typed, columns=columns) as reader:
                first, count = None, 0
                for batch in reader:
                    count += 1
                    first = batch if count == 1 else None  # a big file's batches are not kept
                schema = reader.schema
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            if typed and "conversion" in str(exc).lower():
                continue
            raise InputFileError(f"day file {str(path)!r} is not readable CSV: {exc}") from exc
        except _GZIP_ERRORS as exc:  # gzip truncation, bad header, bad data
            raise InputFileError(f"day file {str(path)!r} is corrupt or truncated: {exc}") \
                from exc
        if count > 1:
            return None, not typed
        table = schema.empty_table() if first is None else pa.Table.from_batches([first])
        return table, not typed
    raise AssertionError("unreachable: the text parse converts nothing")


@contextmanager
def _open(path: Path, *, typed: bool, columns: tuple[str, ...]) -> Iterator[Any]:
    """A streaming CSV reader over the gzip file (record batches of about BLOCK_BYTES, one at a
    time); only our columns are materialised (vendors add others). The file is closed when
    the block ends."""
    import pyarrow.csv as pacsv

    types: dict[str, pa.DataType] = {c: pa.string() for c in DAY_COLUMNS}
    if typed:
        types.update(volume=pa.float64(), open=pa.float64(), close=pa.float64(),
                     high=pa.float64(), low=pa.float64(), window_start=pa.int64(),
                     transactions=pa.float64())
    with _inflating(path) as stream:
        yield pacsv.open_csv(
            stream, read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
            # only an empty cell is null: 'nan' must reach the checks as NaN
            # (non_finite_value), not vanish into a null (unparseable_value)
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, null_values=[""],
                include_columns=list(columns)))


def _header(path: Path) -> list[str]:
    """The column names of the file's first line ([] for an empty file).

    Raises:
        InputFileError: not gzip, or unreadable.
    """
    import csv

    try:
        with _inflating(path) as fh:
            first = fh.readline(1 << 16).decode("utf-8", errors="replace")
    except _GZIP_ERRORS as exc:
        raise InputFileError(f"day file {str(path)!r} is corrupt or truncated: {exc}") from exc
    # the line ends at \n, \r\n or a lone \r (as the text mode with newline="" read it)
    return next(csv.reader([re.split(r"[\r\n]", first, maxsplit=1)[0]]), [])
