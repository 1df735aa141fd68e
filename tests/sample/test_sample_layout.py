"""The sample's files have the shapes of SPEC section 12 and of the vendors' formats."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import exchange_calendars
import pytest

from stocksdb.domain.identifiers import is_valid_figi
from stocksdb.sample import SampleManifest
from tests.fix_data import ny_midnight_ns
from tests.fix_sample import (
    DAY_HEADER,
    day_files,
    figi_on,
    make_small_sample,
    read_csv,
    read_day,
    read_day_header,
    read_json,
    sessions_of,
)

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PRICE = re.compile(r"^\d+(\.\d{1,4})?$")
SECURITY_HEADER = ["composite_figi", "share_class_figi", "name", "security_type",
                   "primary_exchange", "currency", "cik", "list_date", "delist_date", "active"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    """The small sample and its manifest."""
    out = tmp_path_factory.mktemp("layout") / "market"
    return out, make_small_sample(out)


@pytest.fixture(scope="module")
def securities(sample: tuple[Path, SampleManifest]) -> list[dict[str, str]]:
    """reference/securities.csv rows."""
    return read_csv(sample[0] / "reference" / "securities.csv")


def test_every_spec_path_exists(sample: tuple[Path, SampleManifest]) -> None:
    """reference, flatfiles, corporate_actions, fundamentals and the manifest are written."""
    root = sample[0]
    for relative in ("reference/securities.csv", "reference/ticker_history.csv",
                     "corporate_actions/splits.json", "corporate_actions/dividends.json",
                     "manifest.json"):
        assert (root / relative).is_file(), relative
    names = [p.name for p in (root / "fundamentals" / "companyfacts").iterdir()]
    assert names and all(re.fullmatch(r"CIK\d{10}\.json", n) for n in names), names


def test_securities_have_the_spec_columns_and_well_formed_fields(
    sample: tuple[Path, SampleManifest], securities: list[dict[str, str]]
) -> None:
    """Header exact; FIGIs valid; CIK 10 digits (empty for ETFs); MIC, USD, ISO dates."""
    header = (sample[0] / "reference" / "securities.csv").read_text().splitlines()[0]
    assert header.split(",") == SECURITY_HEADER
    for row in securities:
        assert is_valid_figi(row["composite_figi"]) and is_valid_figi(row["share_class_figi"])
        assert row["security_type"] in {"CS", "ETF"}
        assert re.fullmatch(r"\d{10}", row["cik"]) or (row["cik"] == "" and
                                                      row["security_type"] == "ETF"), row
        assert row["primary_exchange"] in {"XNYS", "XNAS", "ARCX"} and row["currency"] == "USD"
        assert ISO.match(row["list_date"]) and (row["delist_date"] == "" or
                                                ISO.match(row["delist_date"]))
        assert row["active"] == ("true" if row["delist_date"] == "" else "false"), row
    figis = [r["composite_figi"] for r in securities] + [r["share_class_figi"] for r in securities]
    assert len(set(figis)) == len(figis)


def test_ticker_intervals_never_overlap(sample: tuple[Path, SampleManifest]) -> None:
    """One ticker names one security at a time; one security has one ticker at a time."""
    rows = read_csv(sample[0] / "reference" / "ticker_history.csv")
    assert list(rows[0]) == ["composite_figi", "ticker", "valid_from", "valid_to"]
    for key in ("ticker", "composite_figi"):
        groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in rows:
            assert row["valid_to"] == "" or row["valid_from"] < row["valid_to"], row
            groups[row[key]].append((row["valid_from"], row["valid_to"] or "9999-12-31"))
        for name, spans in groups.items():
            spans.sort()
            for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
                assert end <= start, f"{key} {name} has overlapping intervals {spans}"


def test_one_day_file_per_xnys_session_and_none_on_holidays(
    sample: tuple[Path, SampleManifest],
) -> None:
    """Day files are exactly the XNYS sessions of the range, under YYYY/MM/."""
    root = sample[0]
    calendar = exchange_calendars.get_calendar("XNYS")
    expected = [ts.date().isoformat() for ts in calendar.sessions_in_range("2024-05-01",
                                                                           "2024-07-31")]
    assert sessions_of(root) == expected
    assert "2024-07-04" not in day_files(root) and "2024-06-19" not in day_files(root)
    for day, path in day_files(root).items():
        assert path.parent.name == day[5:7] and path.parent.parent.name == day[:4], path


def test_day_files_are_reproducible_gzip(sample: tuple[Path, SampleManifest]) -> None:
    """Gzip headers hold mtime 0 and no original file name."""
    for path in day_files(sample[0]).values():
        head = path.read_bytes()[:10]
        assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\0\0\0\0", path
        assert not head[3] & 0x08, f"{path} stores a file name"


def test_day_rows_have_the_massive_layout(sample: tuple[Path, SampleManifest]) -> None:
    """Massive header; integer volume and trades; prices positive with <= 4 decimals."""
    root, manifest = sample
    bad = {(c["ticker"], c["date"]) for c in manifest.cases["bad_bars"]}
    for day in sessions_of(root):
        assert read_day_header(root, day) == DAY_HEADER
        for row in read_day(root, day):
            assert row["volume"].isdigit() and row["transactions"].isdigit(), row
            assert all(PRICE.match(row[c]) and float(row[c]) > 0
                       for c in ("open", "close", "high", "low")), row
            o, c, h, lo = (float(row[k]) for k in ("open", "close", "high", "low"))
            if (row["ticker"], day) not in bad:
                assert lo <= min(o, c) and max(o, c) <= h, (day, row)


def test_window_start_is_new_york_midnight_of_the_file_date(
    sample: tuple[Path, SampleManifest],
) -> None:
    """Every row's window_start is 00:00 New York of its file's date, but the planted one."""
    root, manifest = sample
    planted = {(c["ticker"], c["date"]) for c in manifest.cases["wrong_window_start"]}
    assert ny_midnight_ns("2024-01-02") == 1704171600000000000
    wrong = []
    for day in sessions_of(root):
        midnight = str(ny_midnight_ns(day))
        wrong += [(r["ticker"], day) for r in read_day(root, day) if r["window_start"] != midnight]
    assert set(wrong) == planted and len(wrong) == len(planted)


def test_rows_name_listed_securities_by_their_ticker_of_the_day(
    sample: tuple[Path, SampleManifest], securities: list[dict[str, str]]
) -> None:
    """Each known ticker resolves to a security listed that day; only planted ones do not."""
    root, manifest = sample
    listing = {r["composite_figi"]: (r["list_date"], r["delist_date"] or "9999") for r in
               securities}
    planted = {(c["ticker"], c["date"]) for c in manifest.cases["unknown_tickers"]}
    unknown = set()
    for day in sessions_of(root)[::7]:
        for row in read_day(root, day):
            figi = figi_on(root, row["ticker"], day)
            if figi is None:
                unknown.add((row["ticker"], day))
                continue
            assert listing[figi][0] <= day < listing[figi][1], (day, row["ticker"], figi)
    assert unknown <= planted


def test_actions_have_the_massive_v3_shape(sample: tuple[Path, SampleManifest]) -> None:
    """splits.json and dividends.json carry results, status OK and a request_id."""
    root = sample[0]
    split_keys = {"id", "execution_date", "split_from", "split_to", "ticker"}
    dividend_keys = {"id", "cash_amount", "currency", "declaration_date", "dividend_type",
                     "ex_dividend_date", "frequency", "pay_date", "record_date", "ticker"}
    for name, keys in (("splits", split_keys), ("dividends", dividend_keys)):
        body = read_json(root / "corporate_actions" / f"{name}.json")
        assert body["status"] == "OK" and re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
        assert body["results"], name
        assert all(set(r) == keys for r in body["results"]), name
    for d in read_json(root / "corporate_actions" / "dividends.json")["results"]:
        assert (d["dividend_type"], d["frequency"]) in {("CD", 4), ("SC", 0)}, d
        assert d["declaration_date"] < d["ex_dividend_date"] <= d["record_date"] < d["pay_date"]


def test_companyfacts_have_the_sec_shape(sample: tuple[Path, SampleManifest]) -> None:
    """cik, entityName, dei shares and us-gaap revenue / diluted EPS facts per filing."""
    for path in sorted((sample[0] / "fundamentals" / "companyfacts").iterdir()):
        doc = read_json(path)
        assert path.name == f"CIK{doc['cik']:010d}.json" and doc["entityName"]
        gaap = doc["facts"]["us-gaap"]
        assert "EntityCommonStockSharesOutstanding" in doc["facts"]["dei"]
        revenue = gaap["RevenueFromContractWithCustomerExcludingAssessedTax"]["units"]["USD"]
        eps = gaap["EarningsPerShareDiluted"]["units"]["USD/shares"]
        for fact in revenue + eps:
            assert {"start", "end", "val", "accn", "fy", "fp", "form", "filed"} <= set(fact)
            assert fact["form"] in {"10-Q", "10-K"} and fact["filed"] > fact["end"], fact
        assert all(isinstance(f["val"], int) for f in revenue)


def test_filings_report_year_to_date_and_no_fourth_quarter(
    sample: tuple[Path, SampleManifest],
) -> None:
    """Q2/Q3 10-Qs add 6/9-month facts, 10-Ks report the year, Q4 is never a quarter fact."""
    for path in (sample[0] / "fundamentals" / "companyfacts").iterdir():
        facts = read_json(path)["facts"]["us-gaap"][
            "RevenueFromContractWithCustomerExcludingAssessedTax"]["units"]["USD"]
        by_filing: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for fact in facts:
            by_filing[fact["accn"]].append(fact)
        for accn, group in by_filing.items():
            months = sorted({round(_days(f) / 30.4) for f in group})
            expected = {"Q1": [3], "Q2": [3, 6], "Q3": [3, 9], "FY": [12]}[group[0]["fp"]]
            assert months == expected, (path.name, accn, months)
            ends = sorted({f["end"] for f in group})
            assert len(ends) == 2 and ends[0][:4] < ends[1][:4], "prior-year comparative"


def _days(fact: dict[str, Any]) -> int:
    return (date.fromisoformat(fact["end"]) - date.fromisoformat(fact["start"])).days + 1
