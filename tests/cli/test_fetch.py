"""`stocksdb fetch` on the files vendor, in-process: one JSON object on stdout, progress on
stderr, the cache under STOCKSDB_HOME or --cache-dir, and exit 2 with --fail-on-quality."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stocksdb.foundation import vendors
from tests.fix_cli import stocksdb
from tests.fix_foundation import snapshot, write_bars

WEEK = {"2024-01-02": 10.0, "2024-01-03": 11.0, "2024-01-04": 12.0, "2024-01-05": 13.0}
PULL = ("fetch", "--vendor", "files", "--start", "2024-01-02", "--end", "2024-01-05")


@pytest.fixture
def home(tmp_path: Path, files_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """STOCKSDB_HOME in a temp dir and the files vendor over `files_dir` holding AAA's week."""
    monkeypatch.setenv("STOCKSDB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STOCKSDB_VENDOR_FILES_DIR", str(files_dir))
    write_bars(files_dir, "AAA", WEEK)
    return tmp_path / "home"


def fetch_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any],
                                                                      str]:
    """Exit code, the stdout JSON and stderr of `stocksdb ARGS`."""
    code, out, err = stocksdb(capsys, *args)
    return code, json.loads(out), err


def test_a_pull_prints_one_json_summary_and_caches_under_home(
        capsys: pytest.CaptureFixture[str], home: Path) -> None:
    """Exit 0; stdout is exactly one JSON object with the documented keys; the dataset is
    under $STOCKSDB_HOME/cache/pricing; progress is on stderr."""
    code, summary, err = fetch_json(capsys, *PULL, "--symbols", "aaa")
    assert code == 0, err
    assert summary == {
        "dataset": summary["dataset"], "format": "parquet", "rows": 4,
        "symbols": {"AAA": {"rows": 4, "first": "2024-01-02", "last": "2024-01-05"}},
        "issues": [], "status": "ok", "cache": {"hit": False, "evicted": 0}}
    dataset = Path(summary["dataset"])
    assert dataset.parent == home / "cache" / "pricing" and dataset.is_file()
    assert "fetching 1 symbol(s) from files, 2024-01-02..2024-01-05" in err
    assert "status ok: 4 rows" in err


def test_the_second_pull_is_a_cache_hit(capsys: pytest.CaptureFixture[str], home: Path,
                                        files_dir: Path) -> None:
    """Same command again, after the vendor's file is gone: a hit, same dataset."""
    first = fetch_json(capsys, *PULL, "--symbols", "AAA")[1]
    (files_dir / "AAA.csv").unlink()
    code, again, err = fetch_json(capsys, *PULL, "--symbols", "AAA")
    assert code == 0, err
    assert again == {**first, "cache": {"hit": True, "evicted": 0}}


def test_cache_dir_and_max_entries(capsys: pytest.CaptureFixture[str], home: Path,
                                   tmp_path: Path) -> None:
    """--cache-dir moves the cache; --cache-max-entries 1 evicts the previous dataset."""
    elsewhere = tmp_path / "elsewhere"
    options = ("--cache-dir", str(elsewhere), "--cache-max-entries", "1")
    fetch_json(capsys, *PULL, "--symbols", "AAA", *options)
    code, second, err = fetch_json(capsys, *PULL, "--symbols", "AAA", "--end", "2024-01-04",
                                   *options)
    assert code == 0, err
    assert second["cache"] == {"hit": False, "evicted": 1}
    assert sorted(p.name for p in elsewhere.iterdir() if p.suffix == ".parquet") == [
        Path(second["dataset"]).name]
    assert not (home / "cache").exists()


def test_no_data_without_the_flag_is_reported_and_exits_0(
        capsys: pytest.CaptureFixture[str], home: Path) -> None:
    """ZZZ has no file: status error with a no_data issue, still exit 0 and cached."""
    code, summary, err = fetch_json(capsys, *PULL, "--symbols", "AAA,ZZZ")
    assert code == 0, err
    assert summary["status"] == "error"
    assert [(i["code"], i["severity"], i["symbol"]) for i in summary["issues"]] == [
        ("no_data", "error", "ZZZ")]
    assert Path(summary["dataset"]).is_file()


def test_fail_on_quality_exits_2_and_leaves_the_cache_unchanged(
        capsys: pytest.CaptureFixture[str], home: Path) -> None:
    """With --fail-on-quality, a symbol with no data exits 2, prints the summary with no
    dataset, and the cache (holding an earlier pull) is byte for byte unchanged."""
    fetch_json(capsys, *PULL, "--symbols", "AAA", "--end", "2024-01-04")
    cache_root = home / "cache" / "pricing"
    before = snapshot(cache_root)
    assert len(before) == 3
    code, summary, err = fetch_json(capsys, *PULL, "--symbols", "AAA,ZZZ",
                                    "--fail-on-quality", "--cache-max-entries", "1")
    assert code == 2, err
    assert (summary["status"], summary["dataset"], summary["format"]) == ("error", None, None)
    assert summary["symbols"]["ZZZ"] == {"rows": 0, "first": None, "last": None}
    assert snapshot(cache_root) == before


@pytest.mark.parametrize(("args", "message"), [
    (("--vendor", "nope", "--lookback-days", "5"), "vendor 'nope' is unknown; expected one of"),
    (("--vendor", "files", "--lookback-days", "5", "--start", "2024-01-02"),
     "pass exactly one of `start` and `lookback_days`"),
    (("--vendor", "files", "--lookback-days", "0"), "Invalid value for '--lookback-days'"),
])
def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], home: Path,
                                           args: tuple[str, ...], message: str) -> None:
    """An unknown vendor, both --start and --lookback-days, a zero lookback: exit 2, nothing
    on stdout, the reason on stderr."""
    code, out, err = stocksdb(capsys, "fetch", "--symbols", "AAA", *args)
    assert (code, out) == (2, ""), err
    assert message in err


def test_help_names_every_registered_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    """The --vendor help (kept static for a fast start-up) lists each vendor in the registry."""
    code, out, _ = stocksdb(capsys, "fetch", "--help")
    assert code == 0
    text = " ".join(out.split())
    missing = [name for name in vendors() if name not in text]
    assert not missing, f"add these vendors to cli/fetch.py VENDOR_HELP: {missing}"
