"""Options several commands share, their choices built from the library's vocabularies."""

from __future__ import annotations

from collections.abc import Callable

import click
from click.decorators import FC

from stocksdb.domain.adjustments import AdjustmentMethod


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
