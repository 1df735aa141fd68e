"""Options several commands share, their choices built from the library's vocabularies, and
the one way listings are printed (`--format table|csv|json`, echo_frame).

Every listing prints alike: integers as integers (an integer column pandas widened to float
because of a missing value included), missing values empty in tables and CSV and null in JSON,
dates as YYYY-MM-DD, numbers as JSON numbers; tables never cut dates, tickers or numbers (text
columns such as names wrap instead).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

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


def format_option(*, json_alias: bool = False) -> Callable[[FC], FC]:
    """`--format table|csv|json` of the commands that print a listing; the command receives
    `fmt`. With `json_alias`, `--json` stays as a short form of `--format json` (passing it
    with `--format table` or `csv` is a usage error)."""
    def decorate(f: FC) -> FC:
        command: Callable[..., Any] = f
        if json_alias:
            @functools.wraps(f)
            def merged(*args: Any, as_json: bool, fmt: str | None, **kwargs: Any) -> Any:
                if as_json and fmt not in (None, "json"):
                    raise click.UsageError(f"--json is --format json; it cannot go with "
                                           f"--format {fmt}")
                return f(*args, fmt="json" if as_json else fmt or "table", **kwargs)

            command = click.option("--json", "as_json", is_flag=True,
                                   help="Same as --format json.")(merged)
        return cast("FC", click.option(   # `merged` keeps f's parameters but not its type
            "--format", "fmt", type=click.Choice(list(FORMATS)),
            default=None if json_alias else "table", show_default=not json_alias,
            help="Output format" + (" [default: table]." if json_alias else "."))(command))
    return decorate


# Column names whose cells must never be cut or wrapped in a table: keys people copy.
_KEY_NAMES = ("ticker", "symbol", "figi", "date", "series_id", "run_id", "job", "table",
              "reason", "digest")


def plain_value(value: Any) -> Any:
    """A cell as a JSON-ready Python value: numpy/pandas scalars become int/float/bool, a
    missing value (None, NaN, NaT, NA) None, a date (or a midnight timestamp) 'YYYY-MM-DD',
    another instant its ISO form, a Decimal a float; lists and dicts value by value."""
    import numpy as np

    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    return _plain_scalar(value)


def _plain_scalar(value: Any) -> Any:
    import datetime as dt
    import math
    from decimal import Decimal

    import pandas as pd

    if value is None or value is pd.NaT or value is pd.NA or \
            (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        midnight = value.time() == dt.time(0) and value.tzinfo is None
        return value.date().isoformat() if midnight else value.isoformat()
    return value.isoformat() if isinstance(value, dt.date) else value


def _integer_columns(frame: pd.DataFrame, counts: Sequence[str] = ()) -> set[str]:
    """Float columns that hold whole numbers and a missing value (integer columns pandas
    widened to float64 because of the missing value), or only whole numbers and are named in
    `counts` (e.g. volumes): they print 12, not 12.0."""
    import numpy as np

    found = set()
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind == "f" and (column.isna().any() or name in counts):
            values = column.dropna().to_numpy()
            if len(values) and bool(np.all(np.mod(values, 1) == 0)):
                found.add(str(name))
    return found


def frame_records(frame: pd.DataFrame, counts: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The rows of `frame` as dicts of plain values (see plain_value), whole numbers of
    integer columns (see _integer_columns) as int."""
    integers = _integer_columns(frame, counts)
    records = []
    for row in frame.to_dict(orient="records"):
        record = {str(k): plain_value(v) for k, v in row.items()}
        for name in integers:
            if record[name] is not None:
                record[name] = int(record[name])
        records.append(record)
    return records


def cell_text(value: Any) -> str:
    """A plain value as a table or CSV cell: missing empty, lists comma-separated."""
    if value is None:
        return ""
    if isinstance(value, list) and not any(isinstance(v, (list, dict)) for v in value):
        return ", ".join(cell_text(v) for v in value)
    if isinstance(value, (list, dict)):   # nested: JSON keeps its structure readable
        import json

        return json.dumps(value, default=str)
    return str(value)


def echo_json(document: Any) -> None:
    """`document` as indented JSON with plain values (dates 'YYYY-MM-DD', numbers as
    numbers)."""
    import json

    click.echo(json.dumps(plain_value(document), indent=1, default=str))


def echo_frame(frame: pd.DataFrame, fmt: str, columns: Sequence[str] | None = None,
               cell: Callable[[str, Any, dict[str, Any]], str] | None = None, *,
               document: Any = None, title: str | None = None,
               counts: Sequence[str] = ()) -> None:
    """`frame` as CSV or JSON records (every column), or as a table of `columns` (default:
    every column) whose cells are `cell(column, plain value, the row's plain values)`.

    `document`, when given, is what --format json prints instead of the records (the command's
    JSON report). Tables keep keys whole (dates, tickers, ids, numbers never wrap nor shrink;
    text such as names wraps) and grow past the terminal's width rather than cut them. Float
    columns named in `counts` print as integers when every value is whole."""
    records = frame_records(frame, counts)
    if fmt == "json":
        echo_json(records if document is None else document)
        return
    names = [str(c) for c in frame.columns]
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([cell_text(r[n]) for n in names] for r in records)
        click.echo(out.getvalue(), nl=False)
        return
    shown = list(columns) if columns is not None else names
    render = cell or (lambda _, v, __: cell_text(v))
    rows = [[render(n, r[n], r) for n in shown] for r in records]
    echo_table(shown, rows, wrap=[_wraps(frame, n) for n in shown], title=title,
               right=[frame[n].dtype.kind in "iuf" for n in shown])


def _wraps(frame: pd.DataFrame, name: str) -> bool:
    """Whether a column may wrap: free text only (strings that are not keys)."""
    if any(key in name for key in _KEY_NAMES) or name.endswith("_at"):
        return False
    values = frame[name].dropna()
    return bool(len(values)) and all(isinstance(v, str) for v in values)


def echo_table(columns: Sequence[str], rows: Sequence[Sequence[str]],
               wrap: Sequence[bool] | None = None, title: str | None = None,
               right: Sequence[bool] | None = None, markup: bool = False) -> None:
    """A rich table on stdout: columns not marked in `wrap` keep their cells on one line at
    full width (the console widens past COLUMNS if it must), the others wrap; columns marked
    in `right` (numbers) are right-aligned. Cells are plain text (a '[b]' in data stays as it
    is) unless `markup`, for cells the command styled with rich markup."""
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    cells = [[Text.from_markup(c) if markup else Text(c) for c in row] for row in rows]
    table = Table(title=title)
    flags = zip(columns, wrap or [False] * len(columns), right or [False] * len(columns),
                strict=True)
    for name, wraps, numeric in flags:
        widest = max([len(name), *(r[len(table.columns)].cell_len for r in cells)])
        justify: Literal["left", "right"] = "right" if numeric else "left"
        if wraps:
            table.add_column(name, overflow="fold", min_width=min(widest, 12), justify=justify)
        else:
            table.add_column(name, no_wrap=True, min_width=widest, justify=justify)
    for row in cells:
        table.add_row(*row)
    console = Console()
    # Measured without a width limit: the table's true minimum (rich measures against the limit).
    needed = Measurement.get(console, console.options.update_width(100_000), table).minimum
    if needed > console.width:
        console = Console(width=needed)
    console.print(table)


def echo_report(fmt: str, *, document: Any, rows: Sequence[Mapping[str, Any]],
                columns: Sequence[str], render: Callable[[], None]) -> None:
    """A command's report in `fmt`: JSON prints `document` (the whole report), CSV its listing
    `rows` (`columns`, in that order), table the command's own `render()`."""
    import pandas as pd

    if fmt == "table":
        render()
        return
    echo_frame(pd.DataFrame(list(rows), columns=list(columns)), fmt, document=document)
