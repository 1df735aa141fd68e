"""Small typed helpers over pandas frames."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of `frame` as dicts keyed by column name, values as Python scalars (our frames
    have string column names; pandas types the keys as Hashable)."""
    return cast("list[dict[str, Any]]", frame.to_dict("records"))
