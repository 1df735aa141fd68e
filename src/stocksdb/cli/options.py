"""Options several commands share, their choices built from the library's vocabularies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click
from click.decorators import FC

from stocksdb.domain.adjustments import AdjustmentMethod

if TYPE_CHECKING:
    import pandas as pd


def _to_method(_ctx: click.Context, _param: click.Parameter,
               value: str | None) -> AdjustmentMethod | None:
    return None if value is None else AdjustmentMethod(value)


def adjustment_method_option(*, default: AdjustmentMethod | None,
                             help: str) -> Callable[[FC], FC]:
    """`--method`: one of the AdjustmentMethod values; the command receives the member (or
    None when there is no default and none was given)."""
    return click.option("--method", type=click.Choice([m.value for m in AdjustmentMethod]),
                        default=None if default is None else default.value,
                        show_default=default is not None, callback=_to_method, help=help)


FORMATS = ("table", "csv", "json")


def format_option() -> Callable[[FC], FC]:
    """`--format table|csv|json` of the commands that print a frame."""
    return click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="table",
                        show_default=True, help="Output format.")


def echo_frame(frame: pd.DataFrame, fmt: str, columns: Sequence[str],
               cell: Callable[[str, Any, dict[str, Any]], str] = lambda _, v, __: str(v)
               ) -> None:
    """`frame` as CSV or JSON records (every column), or as a rich table of `columns` whose
    cells are `cell(column, value, the row's values by column)`."""
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
        return
    if fmt == "json":
        click.echo(frame.to_json(orient="records", date_format="iso", indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns)
    for row in (frame.loc[:, list(columns)].itertuples(index=False) if len(frame) else []):
        values = dict(zip(columns, row, strict=True))
        table.add_row(*(cell(name, v, values) for name, v in values.items()))
    Console().print(table)
