"""Adjustment vocabulary: the dividend methods of adjustment factors.

Pure. The factor formula itself lives in SQL (`stocks_research.adjustment_factors(method)`,
migration 0011), so the job that stores factors and the gate that recomputes them share one text.
"""

from __future__ import annotations

from enum import StrEnum


class AdjustmentMethod(StrEnum):
    """How a cash dividend becomes a price factor (SPEC section 6); splits are the same in both.

    The value is what `adjustment_factors_daily.method` stores and what `--method` accepts.
    """

    CRSP = "crsp"                  # 1 - D / (previous raw close x same-day split factor)
    EXDATE_CLOSE = "exdate_close"  # C_ex / (C_ex + D), C_ex the raw close on the ex-date


DEFAULT_METHOD = AdjustmentMethod.CRSP   # when a caller names none


def parse_adjustment_method(value: str) -> AdjustmentMethod:
    """`value` as a method; raises ValueError naming the methods when it is none of them."""
    try:
        return AdjustmentMethod(value)
    except ValueError:
        names = ", ".join(m.value for m in AdjustmentMethod)
        raise ValueError(f"method {value!r} is not an adjustment method; expected one of "
                         f"{names}") from None
