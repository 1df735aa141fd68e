"""generate_sample: options, determinism, the target directory and the manifest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stocksdb.errors import DateOutOfRangeError, InputError
from stocksdb.sample import SampleManifest, read_manifest
from tests.fix_sample import day_path, make_small_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    """The small sample (seed 7) and the manifest generate_sample returned."""
    out = tmp_path_factory.mktemp("generate") / "market"
    return out, make_small_sample(out)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_options_write_byte_identical_files(
    sample: tuple[Path, SampleManifest], tmp_path: Path
) -> None:
    """Two runs with the same options write the same file names with the same bytes."""
    first = _tree(sample[0])
    make_small_sample(tmp_path / "again")
    second = _tree(tmp_path / "again")
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"files differ between runs: {differing[:5]}"


def test_a_different_seed_changes_the_market(
    sample: tuple[Path, SampleManifest], tmp_path: Path
) -> None:
    """Seed 8 draws other securities and other prices."""
    make_small_sample(tmp_path / "other", seed=8)
    for relative in (Path("reference", "securities.csv"), Path("manifest.json")):
        assert (sample[0] / relative).read_bytes() != (tmp_path / "other" / relative).read_bytes()
    day = "2024-06-03"
    assert day_path(sample[0], day).read_bytes() != day_path(tmp_path / "other", day).read_bytes()


def test_manifest_on_disk_matches_the_returned_one(sample: tuple[Path, SampleManifest]) -> None:
    """read_manifest gives back what generate_sample returned, out_dir included."""
    root, manifest = sample
    assert manifest.out_dir == root
    assert read_manifest(root) == manifest
    assert manifest.options == {"securities": 60, "start": "2024-05-01", "end": "2024-07-31",
                                "seed": 7, "calendar": "XNYS"}


def test_manifest_counts_match_the_files(sample: tuple[Path, SampleManifest]) -> None:
    """Counts of securities, sessions, day files and all files agree with the disk."""
    root, manifest = sample
    counts = manifest.counts
    files = [p for p in root.rglob("*") if p.is_file() and p.name != "manifest.json"]
    assert counts["files"] == len(files)
    assert counts["day_files"] == counts["sessions"] == len(list(root.rglob("*.csv.gz")))
    assert counts["securities"] == 60
    assert counts["companyfacts"] == len(list((root / "fundamentals").rglob("*.json")))


def test_nothing_but_the_sample_is_left_next_to_it(sample: tuple[Path, SampleManifest]) -> None:
    """The hidden staging directory is renamed into place, not left behind."""
    assert [p.name for p in sample[0].parent.iterdir()] == ["market"]


@pytest.mark.parametrize(
    ("options", "error", "fragment"),
    [
        ({"securities": 49}, InputError, "parameter `securities` is 49"),
        ({"securities": True}, InputError, "expected an integer"),
        ({"seed": -1}, InputError, "parameter `seed` is -1"),
        ({"start": date(2024, 6, 1), "end": date(2024, 5, 1)}, InputError, "before `start`"),
        ({"end": date(2024, 5, 31)}, InputError, "sessions, fewer than"),
        ({"start": "2024-13-01"}, InputError, "expected 'YYYY-MM-DD'"),
        ({"start": date(1990, 1, 2)}, DateOutOfRangeError, "earlier than the first XNYS"),
        ({"end": date(2099, 1, 2)}, DateOutOfRangeError, "later than the last XNYS"),
    ],
)
def test_nonsense_options_are_refused(
    tmp_path: Path, options: dict[str, object], error: type[Exception], fragment: str
) -> None:
    """Each bad option raises an InputError naming the parameter and the bound."""
    with pytest.raises(error) as info:
        make_small_sample(tmp_path / "bad", **options)
    assert fragment in str(info.value), str(info.value)
    assert str(info.value)[0].islower()
    assert not (tmp_path / "bad").exists()


def test_a_non_empty_directory_is_refused(tmp_path: Path) -> None:
    """The sample never writes into a directory that already holds files."""
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not an empty directory"):
        make_small_sample(tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["keep.txt"]
