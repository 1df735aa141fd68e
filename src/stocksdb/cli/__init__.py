"""The `stocksdb` command line: a thin shell over the library.

Global options: --dsn, --log-format text|json, --quiet, --debug. Exit codes: 0 ok, 1 error (or a
run with failed dates), 2 usage, 3 a gate refused (a schema behind or ahead of the code
included). Every error is translated here and only here, into one `error: ...` line (with the
traceback before it under --debug): ours by their message (`cli_message` when they have one,
naming flags instead of keyword arguments) and exit_code, the rest by cli/failures.py.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click

from stocksdb import __version__
from stocksdb.config import Settings
from stocksdb.errors import StocksdbError
from stocksdb.redact import redact


@dataclass
class CliState:
    """What every command receives: settings and how to talk to the user."""

    settings: Settings
    debug: bool = False
    log_format: str = "text"
    quiet: bool = False          # only warnings and errors on stderr; no progress bar

    def dsn(self) -> str:
        """The configured database (starting the embedded server when it is the one)."""
        from stocksdb.db.server import resolve_dsn

        return resolve_dsn(self.settings)


pass_state = click.make_pass_decorator(CliState)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        import json

        return json.dumps({"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                           "level": record.levelname.lower(), "logger": record.name,
                           "message": record.getMessage()})


def setup_logging(log_format: str, debug: bool, secrets: Iterable[str] = (), *,
                  quiet: bool = False) -> None:
    """Log to stderr: rich on a terminal, plain lines otherwise, or JSON lines; every record
    redacted (known `secrets`, credential-shaped values) before it is written. `quiet`: only
    warnings and errors (`debug` wins over it)."""
    from stocksdb.redact import RedactingFilter

    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    root = logging.getLogger("stocksdb")
    root.handlers.clear()
    root.setLevel(level)
    root.propagate = False
    handler: logging.Handler
    if log_format == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_JsonFormatter())
    elif sys.stderr.isatty():
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=debug)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # On the handler, not the logger: a logger's filters skip records of its child loggers.
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)


@click.group()
@click.version_option(__version__, prog_name="stocksdb")
@click.option("--dsn", envvar=None, default=None, metavar="DSN",
              help="PostgreSQL connection string (else STOCKSDB_DSN, else TIMESCALEDB_URL, "
                   "else TIMESCALEDB_HOST & co, else PG*, else embedded).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Log line format on stderr.")
@click.option("--quiet", "-q", is_flag=True,
              help="Only warnings and errors on stderr (no progress); results still print.")
@click.option("--debug", is_flag=True, help="Debug logging and tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, dsn: str | None, log_format: str, quiet: bool, debug: bool) -> None:
    """stocksdb: a research-grade warehouse of US-equity market data on PostgreSQL."""
    from stocksdb.redact import configured_secrets

    settings = Settings.from_env(os.environ, dsn=dsn)
    setup_logging(log_format, debug, configured_secrets(settings), quiet=quiet)
    ctx.obj = CliState(settings, debug=debug, log_format=log_format, quiet=quiet)


def _register() -> None:
    from stocksdb.cli import (
        backbone,
        backup,
        cache,
        db,
        doctor,
        export,
        fetch,
        ingest,
        jobs,
        lineage,
        macro,
        ops,
        prices,
        quality,
        reconcile,
        rejects,
        report,
        sample,
        validate,
    )

    cli.add_command(db.db)
    cli.add_command(ingest.run)
    cli.add_command(jobs.jobs)
    cli.add_command(lineage.lineage)
    cli.add_command(sample.sample)
    cli.add_command(validate.validate)
    cli.add_command(quality.quality)
    cli.add_command(reconcile.reconcile)
    cli.add_command(report.report)
    cli.add_command(rejects.rejects)
    cli.add_command(prices.prices)
    cli.add_command(prices.fundamentals)
    cli.add_command(macro.macro)
    cli.add_command(export.export)
    cli.add_command(fetch.fetch)
    cli.add_command(doctor.doctor)
    cli.add_command(backbone.backbone)
    cli.add_command(backup.backup)
    cli.add_command(cache.cache)
    cli.add_command(backup.restore)
    cli.add_command(ops.bootstrap)
    cli.add_command(ops.rebuild)
    db.db.add_command(backup.grant_reader)   # stocksdb db grant-reader ROLE


_register()


def _env_secrets(argv: list[str] | None) -> tuple[str, ...]:
    """Secrets configured by the environment and a --dsn argument, for redacting errors."""
    from stocksdb.redact import configured_secrets

    args = argv if argv is not None else sys.argv[1:]
    dsn = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "--dsn"), None)
    try:
        return configured_secrets(Settings.from_env(os.environ, dsn=dsn))
    except StocksdbError:
        return ()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, translate every error to one line and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result: Any = cli.main(args=argv, prog_name="stocksdb", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the boundary: everything becomes a sentence
        return _report(exc, debug, _env_secrets(argv))
    return int(result) if isinstance(result, int) else 0


def _report(exc: Exception, debug: bool, secrets: Iterable[str] = ()) -> int:
    """Print `error: <one line>` (after the traceback with --debug); the exit code."""
    if isinstance(exc, StocksdbError):
        message, code = exc.cli_message or str(exc), exc.exit_code
    else:
        from stocksdb.cli.failures import describe_failure

        message, code = describe_failure(exc)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    click.secho(f"error: {redact(message, secrets)}", err=True, fg="red")
    return code
