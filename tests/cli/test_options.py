"""The shared listing output of cli/options.py: tables that keep keys whole, typed CSV/JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from stocksdb.cli.options import echo_frame, format_option

LONG_NAME = "International Consolidated Widget Manufacturers and Distributors Holdings"


def _frame() -> pd.DataFrame:
    """A long name, a date, an integer column with a missing value (pandas makes it float)."""
    return pd.DataFrame({"ticker": ["BRK.B", "GOOGL"], "trade_date": [date(2024, 1, 2),
                                                                      date(2024, 12, 31)],
                         "name": [LONG_NAME, "Alphabet"], "shares": [12, None],
                         "close": [412.5, 140.25]})


def test_narrow_table_keeps_dates_and_tickers_whole(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """At COLUMNS=60 every date and ticker is on one line, whole; the long name wraps;
    the integer prints as 12 and the missing one as an empty cell."""
    monkeypatch.setenv("COLUMNS", "60")
    echo_frame(_frame(), "table")
    out = capsys.readouterr().out
    for key in ("2024-01-02", "2024-12-31", "BRK.B", "GOOGL", "Alphabet"):
        assert key in out, out
    assert LONG_NAME not in out.replace("\n", " "), "the long name should wrap:\n" + out
    assert "Widget" in out and "…" not in out, out
    assert "12.0" not in out and "nan" not in out.lower() and "None" not in out, out
    assert max(len(line) for line in out.splitlines()) <= 60, out


def test_table_grows_past_the_terminal_rather_than_cut_keys(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Keys that cannot fit in 20 columns still print whole (the table is wider than 20)."""
    monkeypatch.setenv("COLUMNS", "20")
    echo_frame(_frame(), "table")
    out = capsys.readouterr().out
    assert "2024-12-31" in out and "GOOGL" in out and "412.5" in out, out


def test_csv_and_json_give_typed_values(capsys: pytest.CaptureFixture[str]) -> None:
    """CSV: 12 not 12.0, missing empty, dates YYYY-MM-DD. JSON: numbers as numbers, null."""
    echo_frame(_frame(), "csv")
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["ticker", "trade_date", "name", "shares", "close"]
    assert rows[1] == ["BRK.B", "2024-01-02", LONG_NAME, "12", "412.5"]
    assert rows[2] == ["GOOGL", "2024-12-31", "Alphabet", "", "140.25"]
    echo_frame(_frame(), "json")
    records = json.loads(capsys.readouterr().out)
    assert records[0] == {"ticker": "BRK.B", "trade_date": "2024-01-02", "name": LONG_NAME,
                          "shares": 12, "close": 412.5}
    assert isinstance(records[0]["shares"], int) and records[1]["shares"] is None


def test_timestamps_at_midnight_print_as_dates(capsys: pytest.CaptureFixture[str]) -> None:
    """A datetime64 date column (as pandas reads dates) prints YYYY-MM-DD in JSON and CSV."""
    frame = pd.DataFrame({"trade_date": pd.to_datetime(["2024-03-01"]), "volume": [1000]})
    echo_frame(frame, "json")
    assert json.loads(capsys.readouterr().out) == [{"trade_date": "2024-03-01", "volume": 1000}]
    echo_frame(frame, "csv")
    assert capsys.readouterr().out == "trade_date,volume\n2024-03-01,1000\n"


@click.command()
@format_option(json_alias=True)
def _listing(fmt: str) -> None:
    click.echo(fmt)


def test_json_flag_is_an_alias_of_format_json() -> None:
    """--json means --format json; the default is table; --json --format csv is exit 2."""
    runner = CliRunner()
    assert runner.invoke(_listing, []).output == "table\n"
    assert runner.invoke(_listing, ["--json"]).output == "json\n"
    assert runner.invoke(_listing, ["--format", "json", "--json"]).output == "json\n"
    result = runner.invoke(_listing, ["--json", "--format", "csv"])
    assert result.exit_code == 2 and "--json" in result.output, result.output


def test_counts_print_whole_volumes_as_integers(capsys: pytest.CaptureFixture[str]) -> None:
    """A float volume column of whole numbers named in `counts` prints 1000, not 1000.0; one
    with a fraction stays float."""
    frame = pd.DataFrame({"volume": [1000.0, 4000.0], "odd": [1.5, 2.0]})
    echo_frame(frame, "csv", counts=["volume", "odd"])
    assert capsys.readouterr().out == "volume,odd\n1000,1.5\n4000,2.0\n"


def test_brackets_in_data_are_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    """A cell '[bold]x[/]' from the data prints as written (rich would swallow the tags)."""
    echo_frame(pd.DataFrame({"detail": ["[bold]x[/]"]}), "table")
    assert "[bold]x[/]" in capsys.readouterr().out
