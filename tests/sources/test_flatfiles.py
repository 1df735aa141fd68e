"""Reading one day file: a damaged gzip stream is an InputFileError naming the file (its date
fails, nothing is lost), whatever the damage; the header's line may end in \\r."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from stocksdb.errors import InputFileError
from stocksdb.sources.flatfiles import read_day_file

HEADER = "ticker,volume,open,close,high,low,window_start,transactions"
ROW = "AAPL,1000,10.5,11.0,11.5,10.0,1704171600000000000,42"


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


# 5,000 rows: the deflate stream is long enough to damage in its middle
GOOD = _gzip(HEADER + "\n" + (ROW + "\n") * 5000)
DAMAGED = {
    "truncated": GOOD[:-12],
    "cut in half": GOOD[:len(GOOD) // 2],
    "bad crc": GOOD[:-8] + b"\0\0\0\0" + GOOD[-4:],
    "garbage inside": GOOD[:200] + b"\xff" * 64 + GOOD[264:],
    "not gzip": (HEADER + "\n" + ROW + "\n").encode(),
    "trailing junk": GOOD + b"junk",
}


@pytest.mark.parametrize("damage", list(DAMAGED))
def test_a_damaged_file_is_an_input_error_naming_it(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "2024-01-02.csv.gz"
    path.write_bytes(DAMAGED[damage])
    with pytest.raises(InputFileError, match="2024-01-02.csv.gz"):
        read_day_file(path)


def test_a_sound_file_reads_every_row(tmp_path: Path) -> None:
    path = tmp_path / "2024-01-02.csv.gz"
    path.write_bytes(GOOD)
    rows = read_day_file(path)
    assert rows.table is not None and rows.table.num_rows == 5000
    assert rows.table["close"].to_pylist()[:2] == [11.0, 11.0]
    assert rows.columns == tuple(HEADER.split(","))


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_the_header_line_may_end_in_a_carriage_return(tmp_path: Path, newline: str) -> None:
    """Old Mac (\\r) and Windows (\\r\\n) line ends: the header is still its eight names."""
    path = tmp_path / "2024-01-02.csv.gz"
    path.write_bytes(_gzip(HEADER + newline + ROW + newline + ROW + newline))
    rows = read_day_file(path)
    assert rows.columns == tuple(HEADER.split(","))
    assert rows.table is not None and rows.table["volume"].to_pylist() == [1000.0, 1000.0]
