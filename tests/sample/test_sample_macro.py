"""The sample's macro folder has FRED's shapes, a revised vintage and a "." (docs/macro.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from stocksdb.sample import SampleManifest
from tests.fix_sample import make_small_sample, read_json

SERIES = ["CPIAUCSL", "FEDFUNDS", "GDP"]
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    """The small sample (May-July 2024) and its manifest."""
    out = tmp_path_factory.mktemp("macro") / "market"
    return out, make_small_sample(out)


def _observations(root: Path, series_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = read_json(root / "macro" / "observations" /
                                           f"{series_id}.json")["observations"]
    return rows


def test_macro_files_are_fred_answers(sample: tuple[Path, SampleManifest]) -> None:
    """Observations and series answers per series, one calendar; counted in the manifest."""
    root, manifest = sample
    for folder in ("observations", "series"):
        assert sorted(p.stem for p in (root / "macro" / folder).iterdir()) == SERIES
    answer = read_json(root / "macro" / "observations" / "GDP.json")
    assert (answer["realtime_start"], answer["realtime_end"], answer["count"]) == (
        "1776-07-04", "9999-12-31", len(answer["observations"]))
    for row in answer["observations"]:
        assert set(row) == {"realtime_start", "realtime_end", "date", "value"}
        assert all(ISO.match(row[k]) for k in ("realtime_start", "realtime_end", "date"))
        assert row["realtime_start"] <= manifest.options["end"], row   # known on the last day
    info = read_json(root / "macro" / "series" / "GDP.json")["seriess"][0]
    assert (info["id"], info["frequency"]) == ("GDP", "Quarterly")
    calendar = read_json(root / "macro" / "release_dates.json")
    assert calendar["count"] == len(calendar["release_dates"]) > 0
    assert all(manifest.options["start"] <= r["date"] <= manifest.options["end"]
               for r in calendar["release_dates"])
    assert manifest.counts["macro_files"] == 7


def test_manifest_macro_case_is_in_the_files(sample: tuple[Path, SampleManifest]) -> None:
    """The revised quarter has its two vintages back to back; the missing quarter is "."
    (in every vintage: one row)."""
    root, manifest = sample
    case = manifest.cases["macro"]
    rows = _observations(root, "GDP")
    revised = [r for r in rows if r["date"] == case["revised"]["date"]]
    first, later = case["revised"]["first"], case["revised"]["revised"]
    assert [(r["realtime_start"], r["realtime_end"]) for r in revised] == [
        (first["realtime_start"], first["realtime_end"]),
        (later["realtime_start"], later["realtime_end"])]
    assert float(revised[0]["value"]) == first["value"] != later["value"]
    dots = [r for r in rows if r["value"] == "."]
    assert [r["date"] for r in dots] == [case["missing"]["date"]]


def test_vintages_never_overlap_and_each_date_ends_open(
        sample: tuple[Path, SampleManifest]) -> None:
    """Per series and date: each realtime_end is the day before the next realtime_start, and
    the last is 9999-12-31 (what FRED's all-vintages answers look like)."""
    from datetime import date, timedelta

    for series_id in SERIES:
        by_date: dict[str, list[dict[str, Any]]] = {}
        for row in _observations(sample[0], series_id):
            by_date.setdefault(row["date"], []).append(row)
        for day, vintages in by_date.items():
            assert vintages[-1]["realtime_end"] == "9999-12-31", (series_id, day)
            for a, b in zip(vintages, vintages[1:], strict=False):
                expected = date.fromisoformat(b["realtime_start"]) - timedelta(days=1)
                assert a["realtime_end"] == expected.isoformat(), (series_id, day)
