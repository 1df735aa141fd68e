"""`stocksdb export`: exit codes, refusal to overwrite, empty ranges, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fix_cli import stocksdb
from tests.fix_export import ExportMarket


def manifest_of(out: Path) -> dict[str, object]:
    """The export's _manifest.json."""
    return dict(json.loads((out / "_manifest.json").read_text()))


def tree(out: Path) -> list[str]:
    """Every file under `out`, relative, sorted."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def test_export_refuses_an_existing_export_without_overwrite(
        export_market: ExportMarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second export into the same --out exits 1, names what it would delete and leaves it
    as it was; with --overwrite it replaces it whole (no file of the old one is left)."""
    out, dsn = tmp_path / "out", export_market.dsn
    code, _, err = stocksdb(capsys, "--dsn", dsn, "export", "prices", "--out", str(out),
                            "--end", "2023-12-31")
    assert code == 0, err
    before = (out / "_manifest.json").read_text()
    rows = manifest_of(out)["rows"]
    code, _, err = stocksdb(capsys, "--dsn", dsn, "export", "prices", "--out", str(out),
                            "--start", "2024-01-01")
    assert code == 1, err
    assert f"an export of prices ({rows:,} rows" in err and "--overwrite" in err, err
    assert "Traceback" not in err
    assert (out / "_manifest.json").read_text() == before
    assert tree(out) == ["_manifest.json", "year=2023/part-0.parquet"]
    code, _, err = stocksdb(capsys, "--dsn", dsn, "export", "prices", "--out", str(out),
                            "--start", "2024-01-01", "--overwrite")
    assert code == 0, err
    assert f"replaced an export of prices ({rows:,} rows" in err, err
    assert tree(out) == ["_manifest.json", "year=2024/part-0.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]   # no staging or replaced leftovers


def test_export_never_deletes_a_directory_that_is_not_an_export(
        export_market: ExportMarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A non-empty directory without _manifest.json is refused with exit 2, even with
    --overwrite, and its files stay."""
    out = tmp_path / "notes"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = stocksdb(capsys, "--dsn", export_market.dsn, "export", "factors", "--out",
                            str(out), "--overwrite")
    assert code == 2, err
    assert "not a stocksdb export" in err, err
    assert tree(out) == ["keep.txt"]


def test_empty_range_warns_and_writes_a_manifest_of_zero_rows(
        export_market: ExportMarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A range with no bars exits 0 with a warning; the export is _manifest.json alone."""
    out = tmp_path / "out"
    code, stdout, err = stocksdb(capsys, "--dsn", export_market.dsn, "export", "prices",
                                 "--out", str(out), "--start", "2030-01-01")
    assert code == 0, err
    assert "no rows of prices_daily" in err and "WARNING" in err.upper(), err
    assert "0 rows" in stdout
    assert tree(out) == ["_manifest.json"]
    body = manifest_of(out)
    assert body["rows"] == 0 and body["files"] == [] and body["rows_per_partition"] == {}


@pytest.mark.parametrize(("args", "message"), [
    (["bogus"], "'bogus' is not one of"),
    (["factors", "--adjusted"], "--adjusted applies to the prices dataset"),
    (["prices", "--start", "2024-02-01", "--end", "2024-01-01"], "earlier than `start`"),
    (["prices", "--adjusted", "--method", "exdate_close"], "no adjustment factors stored"),
])
def test_usage_errors_exit_2_and_write_nothing(
        export_market: ExportMarket, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        args: list[str], message: str) -> None:
    """An unknown dataset, --adjusted for factors, an end before the start, and a method
    without stored factors (the sample has crsp only) exit 2 naming the problem."""
    out = tmp_path / "out"
    code, _, err = stocksdb(capsys, "--dsn", export_market.dsn, "export", *args,
                            "--out", str(out))
    assert code == 2, err
    assert message in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_json_prints_the_manifest_written(export_market: ExportMarket, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints exactly the _manifest.json body; it records the range and the flag."""
    out = tmp_path / "out"
    code, stdout, err = stocksdb(capsys, "--dsn", export_market.dsn, "export", "prices",
                                 "--out", str(out), "--adjusted", "--start", "2023-12-01",
                                 "--end", "2024-01-31", "--json")
    assert code == 0, err
    printed = json.loads(stdout)
    assert printed == manifest_of(out)
    assert printed["range"] == {"start": "2023-12-01", "end": "2024-01-31",
                                "first_date": "2023-12-01", "last_date": "2024-01-31"}
    assert printed["adjusted"] is True and printed["adjustment_method"] == "crsp"
    assert sorted(printed["rows_per_partition"]) == ["year=2023", "year=2024"]


def test_a_failed_overwrite_keeps_the_previous_export(
        export_market: ExportMarket, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An export that fails after it started building (no exdate_close factors) leaves the
    export in --out byte for byte, and no temporary directory beside it."""
    out = tmp_path / "out"
    code, _, err = stocksdb(capsys, "--dsn", export_market.dsn, "export", "prices", "--out",
                            str(out))
    assert code == 0, err
    before = {p: (out / p).read_bytes() for p in tree(out)}
    code, _, err = stocksdb(capsys, "--dsn", export_market.dsn, "export", "prices", "--out",
                            str(out), "--overwrite", "--adjusted", "--method", "exdate_close")
    assert code == 2, err
    assert {p: (out / p).read_bytes() for p in tree(out)} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
