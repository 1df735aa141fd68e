"""How query results become bytes in the cache and come back.

In:  a DataFrame (FRAMES: Arrow IPC stream) or a JSON-able value (JSON). Out: bytes, and the
same value again. A codec's `name` is part of every cache key, so a change of format is a new
name and old entries are simply never read.

Arrow IPC keeps what the read API returns: column order, dtypes (float64, int64, nullable
Int64), `datetime.date` objects in trade_date and the index, through pandas metadata.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, TypeVar

import pandas as pd

T = TypeVar("T")


class Codec(Protocol[T]):
    """Turns one kind of query result into bytes and back."""

    name: str

    def dumps(self, value: T) -> bytes: ...

    def loads(self, data: bytes) -> T: ...


class FrameCodec:
    """DataFrames as one Arrow IPC stream."""

    name = "arrow-ipc-1"

    def dumps(self, value: pd.DataFrame) -> bytes:
        import pyarrow as pa

        table = pa.Table.from_pandas(value)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return bytes(sink.getvalue())

    def loads(self, data: bytes) -> pd.DataFrame:
        import pyarrow as pa

        frame = pa.ipc.open_stream(data).read_all().to_pandas()
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"cached value decoded to {type(frame).__name__}, not a DataFrame")
        return frame


class JsonCodec:
    """Values JSON can hold (dicts, lists, numbers, strings) as UTF-8 JSON."""

    name = "json-1"

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


FRAMES = FrameCodec()
JSON = JsonCodec()
