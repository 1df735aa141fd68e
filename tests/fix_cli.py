"""CLI helper: run `stocksdb` in-process against the real test database."""

from __future__ import annotations

import pytest

from stocksdb.cli import main


def stocksdb(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `stocksdb ARGS`."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
