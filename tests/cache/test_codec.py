"""FRAMES gives back the frame it was given: dtypes, missing values, dates, index and column
order, on the fast path (the read API's default-index frames) and on pandas' metadata path."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from stocksdb.cache.codec import FRAMES


def bars() -> pd.DataFrame:
    """The read API's shapes: strings (one missing), ints, a nullable Int64 with a gap,
    floats with NaN, `datetime.date` objects."""
    return pd.DataFrame({
        "ticker": pd.array(["AAPL", None, "IBM"], dtype="str"),
        "security_id": np.array([1, 2, 3], dtype="int64"),
        "trade_date": [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)],
        "close": [1.5, np.nan, 3.25],
        "transactions": pd.array([10, None, 30], dtype="Int64"),
        "active": [True, False, True],
    })


@pytest.mark.parametrize("frame", [
    bars(),
    bars().iloc[0:0],
    bars()[["close", "ticker", "transactions"]],
    bars().set_index("security_id"),                 # not the default index: pandas' path
    bars().set_axis(pd.RangeIndex(5, 8)),             # a RangeIndex not from 0
    bars().rename_axis(columns="field"),              # a named column index
], ids=["bars", "empty", "reordered", "indexed", "offset", "named-columns"])
def test_a_frame_comes_back_exactly(frame: pd.DataFrame) -> None:
    back = FRAMES.loads(FRAMES.dumps(frame))
    assert_frame_equal(back, frame, check_exact=True)
    if len(frame) and "trade_date" in frame:
        assert isinstance(back["trade_date"].iloc[0], date)


def test_only_default_index_frames_skip_pandas_metadata() -> None:
    """The fast path is taken for the read API's frames and only for them."""
    import pyarrow as pa

    def metadata(frame: pd.DataFrame) -> set[bytes]:
        schema = pa.ipc.open_stream(FRAMES.dumps(frame)).schema
        return set((schema.metadata or {}).keys())

    assert metadata(bars()) == {b"stocksdb.dtypes"}
    assert b"pandas" in metadata(bars().set_index("security_id"))
