"""`stocksdb prices`: several symbols and FIGIs at once, and the same `adjusted` default as the
library's read_prices."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

import stocksdb as library
from stocksdb.api import read_prices_frame
from stocksdb.cli.prices import prices as prices_command
from stocksdb.db.connection import connect
from tests.fix_cli import stocksdb
from tests.fix_data import IBM, META

# adjusted_market (tests/fix_data.py): META (FB until 2024-01-04) closes 350, 351, 88 raw with
# a 1->4 split going ex on 2024-01-04, so adjusted closes are 350/4, 351/4, 88.
META_RAW = [350.0, 351.0, 88.0]
META_ADJUSTED = [87.5, 87.75, 88.0]


def _json(capsys: pytest.CaptureFixture[str], dsn: str, *args: str) -> list[dict[str, Any]]:
    code, out, err = stocksdb(capsys, "--dsn", dsn, "prices", *args, "--format", "json")
    assert code == 0, err
    return list(json.loads(out))


def test_cli_and_library_default_to_adjusted(adjusted_market: str,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Without a flag, `stocksdb prices`, read_prices_frame and stocksdb.read_prices all give
    adjusted closes; --raw and adjusted=False the raw ones; the declared defaults agree."""
    cli_default = [r["close"] for r in _json(capsys, adjusted_market, "META")]
    cli_raw = [r["close"] for r in _json(capsys, adjusted_market, "META", "--raw")]
    with connect(adjusted_market) as conn:
        api_default = list(read_prices_frame(conn, symbols=["META"])["close"])
    monkeypatch.setenv("STOCKSDB_DSN", adjusted_market)
    public_default = list(library.read_prices("META")["close"])
    public_raw = list(library.read_prices("META", adjusted=False)["close"])
    assert cli_default == api_default == public_default == META_ADJUSTED
    assert cli_raw == public_raw == META_RAW
    (option,) = [p for p in prices_command.params if p.name == "adjusted"]
    for function in (read_prices_frame, library.read_prices):
        default = inspect.signature(function).parameters["adjusted"].default
        assert default is option.default is True, function


def test_symbols_split_on_commas_and_spaces_and_figis_name_securities(
        adjusted_market: str, capsys: pytest.CaptureFixture[str]) -> None:
    """'AAPL,ibm' and a composite FIGI in one call: three securities, the FIGI's bars under the
    FIGI, its whole history (FB then META) raw."""
    rows = _json(capsys, adjusted_market, "AAPL,ibm", META, "--raw")
    assert sorted({r["symbol"] for r in rows}) == ["AAPL", META, "IBM"]
    meta = [r for r in rows if r["symbol"] == META]
    assert [r["close"] for r in meta] == META_RAW
    assert [r["ticker"] for r in meta] == ["FB", "FB", "META"]
    assert [r["trade_date"] for r in meta] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    spaced = _json(capsys, adjusted_market, f"AAPL {IBM}", "--raw")
    assert {r["symbol"] for r in spaced} == {"AAPL", IBM}


@pytest.mark.parametrize(("symbol", "says"), [("BBG000B9XRY5", "check digit"),
                                              ("BBG000BPH459", "BBG000BPH459"),
                                              (" , ", "SYMBOLS")],
                         ids=["bad-check-digit", "figi-not-loaded", "empty"])
def test_bad_symbols_are_usage_errors(adjusted_market: str, symbol: str, says: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A FIGI with a wrong check digit, a valid FIGI not in securities (MSFT's), or only
    separators: exit 2 with one sentence naming the problem."""
    code, out, err = stocksdb(capsys, "--dsn", adjusted_market, "prices", symbol)
    assert code == 2 and says in err and "Traceback" not in err, err
