"""The research API and `stocksdb prices`: point-in-time symbols, raw and adjusted bars."""

from __future__ import annotations

import json
from datetime import date

import pytest

from stocksdb.api import read_prices_frame
from stocksdb.cli import main
from stocksdb.db.connection import connect
from stocksdb.db.queries import MANY_IDS
from stocksdb.errors import InputError


def test_renamed_security_comes_back_whole_and_adjusted(adjusted_market: str) -> None:
    """META resolves to the security that was FB before; its split scales earlier bars by 1/4."""
    with connect(adjusted_market) as c:
        frame = read_prices_frame(c, symbols=["META"], start=date(2024, 1, 1),
                                  end=date(2024, 1, 31))
        raw = read_prices_frame(c, symbols=["meta"], end=date(2024, 1, 31), adjusted=False)
    assert list(frame["ticker"]) == ["FB", "FB", "META"]
    assert list(frame["close"]) == [350 * 0.25, 351 * 0.25, 88.0]   # raw closes 350, 351, 88
    assert list(frame["volume"]) == [4000.0, 4000.0, 1000.0]
    assert list(raw["close"]) == [350.0, 351.0, 88.0]
    assert set(frame["symbol"]) == {"META"}


def test_symbol_resolves_as_of_a_date(adjusted_market: str) -> None:
    """FB as of 2024-01-03 is the same security; unknown symbols are a clear error."""
    with connect(adjusted_market) as c:
        fb = read_prices_frame(c, symbols=["FB"], as_of=date(2024, 1, 3), adjusted=False)
        assert list(fb["close"]) == [350.0, 351.0, 88.0]
        with pytest.raises(InputError, match="NOPE"):
            read_prices_frame(c, symbols=["NOPE"])
        with pytest.raises(InputError, match="exdate_close"):
            read_prices_frame(c, symbols=["AAPL"], method="exdate_close")


def test_prices_command_prints_csv_and_json(adjusted_market: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """`stocksdb prices META --adjusted --format json|csv` prints the same bars."""
    code = main(["--dsn", adjusted_market, "prices", "META", "--adjusted", "--format", "json",
                 "--end", "2024-01-31"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0 and [r["close"] for r in rows] == [87.5, 87.75, 88.0]
    main(["--dsn", adjusted_market, "prices", "AAPL", "--format", "csv", "--end", "2024-01-31"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("symbol,ticker,composite_figi") and len(lines) == 4


def test_frame_has_fixed_columns_and_types(adjusted_market: str) -> None:
    """Columns in a fixed order on a fresh 0..n-1 index, rows in (security, date) order (ids
    follow FIGI order: IBM BBG000BLNNH6 before META BBG000MM2P62); dates are datetime.date,
    ids int64, prices, volumes and factors float64."""
    with connect(adjusted_market) as c:
        frame = read_prices_frame(c, symbols=["META", "IBM"], end=date(2024, 1, 31))
    assert list(frame.columns) == ["symbol", "ticker", "composite_figi", "security_id",
                                   "trade_date", "open", "high", "low", "close", "volume",
                                   "price_factor", "volume_factor"]
    assert list(frame.index) == [0, 1, 2, 3, 4, 5]
    assert list(frame["symbol"]) == ["IBM"] * 3 + ["META"] * 3
    assert list(frame["ticker"]) == ["IBM", "IBM", "IBM", "FB", "FB", "META"]
    assert list(frame["composite_figi"]) == ["BBG000BLNNH6"] * 3 + ["BBG000MM2P62"] * 3
    assert list(frame["trade_date"]) == [date(2024, 1, 2), date(2024, 1, 3),
                                         date(2024, 1, 4)] * 2
    assert all(type(d) is date for d in frame["trade_date"])
    assert list(frame["close"]) == [160.0, 161.0, 162.0, 87.5, 87.75, 88.0]
    assert list(frame["price_factor"]) == [1.0, 1.0, 1.0, 0.25, 0.25, 1.0]
    assert str(frame["security_id"].dtype) == "int64"
    assert {str(frame[col].dtype) for col in ("open", "high", "low", "close", "volume",
                                              "price_factor", "volume_factor")} == {"float64"}


def test_many_figis_give_the_frame_and_errors_a_few_give(adjusted_market: str) -> None:
    """A FIGI list longer than MANY_IDS is matched against every security's names (the
    cross-section path): the same frame as the short list, and the same InputError naming
    the unknown FIGIs in the order given."""
    with connect(adjusted_market) as c:
        real = [r[0] for r in c.execute("SELECT composite_figi FROM securities ORDER BY 1")]
        few = read_prices_frame(c, figis=real, end=date(2024, 1, 31))
        many = read_prices_frame(c, figis=real * (MANY_IDS // len(real) + 1),
                                 end=date(2024, 1, 31))
        fake = [f"BBG{n:09d}" for n in range(MANY_IDS)]
        with pytest.raises(InputError) as long_list:
            read_prices_frame(c, figis=[*real, *fake])
        with pytest.raises(InputError) as short_list:
            read_prices_frame(c, figis=[*real, *fake[:2]])
    assert many.equals(few) and len(few) == 9   # 3 securities x 3 sessions with factors
    assert list(few["symbol"]) == list(few["composite_figi"])
    assert str(long_list.value) == f"composite FIGI(s) {fake} are not in securities"
    assert str(short_list.value) == f"composite FIGI(s) {fake[:2]} are not in securities"
