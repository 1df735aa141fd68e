"""`stocksdb report`: write the visual quality report, a static page readable offline."""

from __future__ import annotations

from pathlib import Path

import click

from stocksdb.cli import CliState, pass_state


def _symbols(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    symbols = [s.strip().upper() for s in value.split(",") if s.strip()]
    if not symbols:
        raise click.BadParameter(f"{value!r} names no symbol; pass e.g. AAPL,MSFT")
    return symbols


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("reports", "latest"), show_default=True,
              help="Directory of index.html and data/*.csv (created; files replaced).")
@click.option("--symbols", default=None, callback=_symbols, metavar="A,B",
              help="Securities to chart (comma-separated; default: the three most traded).")
@click.option("--open", "open_page", is_flag=True,
              help="Open the page in a web browser (nothing happens where there is none).")
@pass_state
def report(state: CliState, out_dir: Path, symbols: list[str] | None, open_page: bool) -> None:
    """Write a static HTML quality report: coverage, rejected rows, gates, job runs, prices
    of a few symbols and quality findings; prints the page's path."""
    from stocksdb.db.connection import connect
    from stocksdb.report.page import write_report

    with connect(state.dsn()) as conn:
        result = write_report(conn, out_dir, symbols=symbols)
    click.echo(str(result.index))
    if open_page:
        _open(result.index)


def _open(index: Path) -> None:
    """Open the page in a browser where there is one. Without a display and without $BROWSER
    it does nothing (webbrowser would start a console browser such as lynx in this terminal, or
    fail); a page that no browser took is said on stderr, and the exit stays 0."""
    import os
    import sys
    import webbrowser

    graphical = sys.platform in ("darwin", "win32") or any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"))
    if not (graphical and webbrowser.open(index.resolve().as_uri())):
        click.echo("no web browser to open the page with; open the path above yourself",
                   err=True)
