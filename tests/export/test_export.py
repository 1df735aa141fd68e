"""export_dataset on a loaded sample: read back with pyarrow.dataset and DuckDB, compared row for
row with stocksdb.read_prices and with plain SQL over the tables."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from stocksdb.api import read_prices_frame
from stocksdb.db.checksum import database_checksums
from stocksdb.db.connection import connect
from stocksdb.export import export_dataset
from tests.fix_export import EXPORT_END, EXPORT_START, SESSIONS_PER_YEAR, ExportMarket

PRICE_COLUMNS = ["security_id", "composite_figi", "ticker", "trade_date", "open", "high", "low",
                 "close", "volume"]


def sql_rows(dsn: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a plain SQL query (the independent side of a comparison)."""
    with connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def manifest_of(out: Path) -> dict[str, Any]:
    """The export's _manifest.json."""
    return dict(json.loads((out / "_manifest.json").read_text()))


def as_float(value: object) -> object:
    """A numeric column's Decimal as the nearest double (None stays None)."""
    return float(value) if isinstance(value, Decimal) else value


def read_back(out: Path) -> pd.DataFrame:
    """The export through pyarrow.dataset with Hive partitioning, in key order."""
    frame: pd.DataFrame = pads.dataset(out, format="parquet", partitioning="hive").to_table(
        ).to_pandas()
    return frame.sort_values(["security_id", "trade_date"], ignore_index=True)


def read_api(dsn: str, *, adjusted: bool, start: date = EXPORT_START,
             end: date = EXPORT_END) -> pd.DataFrame:
    """Every security's bars through stocksdb.read_prices' frame, by FIGI, in key order."""
    figis = [r[0] for r in sql_rows(dsn, "SELECT composite_figi FROM securities")]
    with connect(dsn) as conn:
        frame = read_prices_frame(conn, figis=figis, start=start, end=end, adjusted=adjusted)
    return frame.sort_values(["security_id", "trade_date"], ignore_index=True)


def test_prices_read_back_equal_read_prices_row_for_row(export_market: ExportMarket,
                                                        tmp_path: Path) -> None:
    """Raw bars through pyarrow.dataset: the same rows, FIGIs, point-in-time tickers and
    values as read_prices(adjusted=False); volume stays an integer."""
    export_dataset(export_market.dsn, "prices", tmp_path / "out")
    got = read_back(tmp_path / "out")
    want = read_api(export_market.dsn, adjusted=False)
    assert len(got) == len(want) > 1000, (len(got), len(want))
    for column in PRICE_COLUMNS:
        assert got[column].tolist() == want[column].tolist(), column
    assert got["volume"].dtype == "int64"


def test_adjusted_columns_equal_read_prices_adjusted(export_market: ExportMarket,
                                                     tmp_path: Path) -> None:
    """--adjusted: adj_* and the factors are bit for bit read_prices(adjusted=True); the raw
    columns stay raw, and a split in the range makes them differ before its ex-date."""
    export_dataset(export_market.dsn, "prices", tmp_path / "out", adjusted=True)
    got = read_back(tmp_path / "out")
    want = read_api(export_market.dsn, adjusted=True)
    raw = read_api(export_market.dsn, adjusted=False)
    assert len(got) == len(want) == len(raw)
    for column in ("open", "high", "low", "close", "volume"):
        assert got[f"adj_{column}"].tolist() == want[column].tolist(), column
        assert got[column].tolist() == raw[column].tolist(), column
    for column in ("price_factor", "volume_factor"):
        assert got[column].tolist() == want[column].tolist(), column
    split = export_market.cases["forward_split"]
    before = got[(got["composite_figi"] == split["composite_figi"])
                 & (got["trade_date"] < date.fromisoformat(split["execution_date"]))]
    assert len(before) and (before["adj_close"] < before["close"]).all(), split


def test_year_partitions_hold_each_years_sessions(export_market: ExportMarket,
                                                  tmp_path: Path) -> None:
    """A range over a year end gives year=2023/ and year=2024/, each with that year's 41
    sessions (hand-counted), and rows per partition as SQL counts them."""
    manifest = export_dataset(export_market.dsn, "prices", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "_manifest.json", "year=2023", "year=2024"]
    got = read_back(tmp_path / "out")
    sessions = got.groupby("year")["trade_date"].nunique().to_dict()
    assert sessions == SESSIONS_PER_YEAR
    counted = dict(sql_rows(export_market.dsn, "SELECT extract(year FROM trade_date)::int, "
                                               "count(*) FROM prices_daily GROUP BY 1"))
    assert manifest.rows_by_year == counted
    assert got.groupby("year").size().to_dict() == counted


def test_renamed_security_carries_its_ticker_of_each_day(export_market: ExportMarket,
                                                         tmp_path: Path) -> None:
    """The sample's renamed security: its old ticker before the change date, the new one
    from it on (the sample's manifest, not our resolver, says which is which)."""
    export_dataset(export_market.dsn, "prices", tmp_path / "out")
    got = read_back(tmp_path / "out")
    renamed = export_market.cases["renamed"]
    bars = got[got["composite_figi"] == renamed["composite_figi"]]
    change = date.fromisoformat(renamed["change_date"])
    assert set(bars.loc[bars["trade_date"] < change, "ticker"]) == {renamed["old_ticker"]}
    assert set(bars.loc[bars["trade_date"] >= change, "ticker"]) == {renamed["new_ticker"]}


def test_duckdb_reads_the_same_rows(export_market: ExportMarket, tmp_path: Path) -> None:
    """DuckDB's read_parquet with hive_partitioning sees the bars of read_prices (adjusted)
    and the year as a partition column."""
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "out"
    export_dataset(export_market.dsn, "prices", out, adjusted=True)
    con = duckdb.connect()
    got = con.execute(f"SELECT * FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true)"
                      " ORDER BY security_id, trade_date").df()
    want = read_api(export_market.dsn, adjusted=True)
    assert len(got) == len(want)
    assert [d.date() for d in got["trade_date"]] == want["trade_date"].tolist()
    assert got["ticker"].tolist() == want["ticker"].tolist()
    assert got["adj_close"].tolist() == want["close"].tolist()
    years = con.execute(f"SELECT DISTINCT year FROM read_parquet('{out}/**/*.parquet', "
                        "hive_partitioning=true) ORDER BY 1").fetchall()
    assert years == [(2023,), (2024,)]


def test_schema_types_and_manifest_schema(export_market: ExportMarket, tmp_path: Path) -> None:
    """Dates are date32, prices float64, ids and volumes int64 in the files, and the manifest
    names the same types."""
    export_dataset(export_market.dsn, "prices", tmp_path / "out")
    schema = pads.dataset(tmp_path / "out", format="parquet").schema
    assert schema.field("trade_date").type == pa.date32()
    assert schema.field("close").type == pa.float64()
    assert schema.field("security_id").type == pa.int64()
    assert schema.field("volume").type == pa.int64()
    body = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert body["schema"]["trade_date"] == "date32[day]"
    assert body["schema"]["close"] == "double"
    assert list(body["schema"]) == schema.names


def test_manifest_counts_and_source_checksum(export_market: ExportMarket, tmp_path: Path) -> None:
    """rows equal the table's count in the range; files' rows add up; the source checksum of
    every table read is the digest `db checksum` gives, and for a sub-range the range digest
    counts only that range's rows."""
    export_dataset(export_market.dsn, "prices", tmp_path / "all")
    export_dataset(export_market.dsn, "prices", tmp_path / "jan", start=date(2024, 1, 1),
                   end=date(2024, 1, 31))
    whole, jan = manifest_of(tmp_path / "all"), manifest_of(tmp_path / "jan")
    with connect(export_market.dsn) as conn:
        sums = database_checksums(conn)
    (total,), = sql_rows(export_market.dsn, "SELECT count(*) FROM prices_daily")
    (in_jan,), = sql_rows(export_market.dsn, "SELECT count(*) FROM prices_daily WHERE "
                                             "trade_date BETWEEN '2024-01-01' AND '2024-01-31'")
    assert whole["rows"] == total and jan["rows"] == in_jan
    assert sum(f["rows"] for f in whole["files"]) == total
    assert jan["rows_per_partition"] == {"year=2024": in_jan}
    for body in (whole, jan):
        tables = body["source_checksum"]["tables"]
        assert set(tables) == {"prices_daily", "securities", "ticker_history"}
        assert all(tables[t]["digest"] == sums[t].digest for t in tables)
    assert whole["source_checksum"]["range"]["digest"] == sums["prices_daily"].digest
    assert jan["source_checksum"]["range"]["rows"] == in_jan
    assert jan["source_checksum"]["range"]["digest"] != sums["prices_daily"].digest


def test_factors_export_is_the_factor_table(export_market: ExportMarket, tmp_path: Path) -> None:
    """The factors dataset holds every row of adjustment_factors_daily with its values."""
    export_dataset(export_market.dsn, "factors", tmp_path / "out")
    got = pads.dataset(tmp_path / "out", partitioning="hive").to_table().to_pandas()
    want = sql_rows(export_market.dsn, "SELECT security_id, trade_date, method, price_factor, "
                    "volume_factor, split_factor, dividend_factor FROM adjustment_factors_daily")
    cols = ["security_id", "trade_date", "method", "price_factor", "volume_factor",
            "split_factor", "dividend_factor"]
    assert sorted(got[cols].itertuples(index=False, name=None)) == sorted(want)


def test_fundamentals_export_carries_every_version_and_yoy(export_market: ExportMarket,
                                                           tmp_path: Path) -> None:
    """Every fundamentals_quarterly row, partitioned by period_end's year, with its YoY;
    numeric values become the nearest float64."""
    export_dataset(export_market.dsn, "fundamentals", tmp_path / "out")
    table = pads.dataset(tmp_path / "out", partitioning="hive").to_table()
    want = sql_rows(export_market.dsn, """
        SELECT q.security_id, q.period_end, q.filed_date, q.revenue, y.revenue_yoy
          FROM fundamentals_quarterly q LEFT JOIN fundamentals_quarterly_yoy y
         USING (security_id, period_end, filed_date)""")
    assert table.num_rows == len(want) > 0
    got = {(r["security_id"], r["period_end"], r["filed_date"]): (r["revenue"], r["revenue_yoy"])
           for r in table.to_pylist()}
    assert got == {k[:3]: (as_float(k[3]), as_float(k[4])) for k in want}
    years = {r["year"] for r in table.select(["year"]).to_pylist()}
    assert years == {d.year for _, d, *_ in want}


def test_small_chunks_give_the_same_file_in_key_order(export_market: ExportMarket,
                                                      tmp_path: Path) -> None:
    """Read 7 securities at a time, a year's file gets one row group per chunk and the same
    rows as one chunk gives, sorted by (security_id, trade_date)."""
    import pyarrow.parquet as pq

    export_dataset(export_market.dsn, "prices", tmp_path / "one")
    export_dataset(export_market.dsn, "prices", tmp_path / "many", chunk_securities=7)
    for year in (2023, 2024):
        one = pq.read_table(tmp_path / "one" / f"year={year}" / "part-0.parquet")
        many = pq.ParquetFile(tmp_path / "many" / f"year={year}" / "part-0.parquet")
        assert many.metadata.num_row_groups > 1
        assert many.read().equals(one)
        keys = list(zip(one["security_id"].to_pylist(), one["trade_date"].to_pylist(),
                        strict=True))
        assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_bars_without_a_factor_export_with_null_adjusted_columns(
        export_market_copy: ExportMarket, tmp_path: Path) -> None:
    """Factors missing for one session (prices loaded after the factors run): those bars are
    still exported, raw, with null factors and adj_* columns, and the manifest warns with
    their count."""
    dsn = export_market_copy.dsn
    with connect(dsn, autocommit=True) as conn:
        deleted = conn.execute("DELETE FROM adjustment_factors_daily WHERE trade_date = "
                               "'2024-02-29'").rowcount
    (bars,), = sql_rows(dsn, "SELECT count(*) FROM prices_daily")
    manifest = export_dataset(dsn, "prices", tmp_path / "out", adjusted=True)
    got = read_back(tmp_path / "out")
    unadjusted = got[got["price_factor"].isna()]
    assert len(got) == bars and deleted > 0
    assert set(unadjusted["trade_date"]) == {date(2024, 2, 29)} and len(unadjusted) == deleted
    assert unadjusted["adj_close"].isna().all() and unadjusted["close"].notna().all()
    assert any(w.startswith(f"{deleted} bar(s) have no crsp factor") for w in manifest.warnings)


def test_range_digest_changes_only_with_rows_inside_the_range(
        export_market_copy: ExportMarket, tmp_path: Path) -> None:
    """Changing a bar outside January 2024 changes prices_daily's table digest but not the
    January export's range digest; changing one inside changes both."""
    dsn = export_market_copy.dsn

    def digests(name: str) -> tuple[str, str]:
        export_dataset(dsn, "prices", tmp_path / name, start=date(2024, 1, 1),
                       end=date(2024, 1, 31))
        body = manifest_of(tmp_path / name)["source_checksum"]
        return body["tables"]["prices_daily"]["digest"], body["range"]["digest"]

    def bump(day: str) -> None:
        with connect(dsn, autocommit=True) as conn:
            conn.execute("UPDATE prices_daily SET volume = volume + 1 WHERE trade_date = %s "
                         "AND security_id = (SELECT min(security_id) FROM prices_daily "
                         "WHERE trade_date = %s)", (day, day))

    table0, range0 = digests("before")
    bump("2024-02-01")
    table1, range1 = digests("outside")
    bump("2024-01-31")
    table2, range2 = digests("inside")
    assert table1 != table0 and range1 == range0
    assert table2 != table1 and range2 != range1
