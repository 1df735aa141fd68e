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

    def copy(self, value: T) -> T:
        """A copy of `value` its receiver may change without changing `value`."""
        ...


class FrameCodec:
    """DataFrames as one Arrow IPC stream.

    A frame with the default index (0..n-1) and plain column names, the read API's frames,
    is written without pandas' metadata: what decoding it would rebuild is the default index,
    and the dtypes a plain Arrow conversion does not give back (pandas' nullable Int64 and the
    like), which the stream's own `stocksdb.dtypes` metadata names instead. Decoding such a
    stream is then one single-threaded Arrow conversion and a cast of those columns, about a
    quarter of the time of pandas' metadata path (docs/cache.md). Any other frame keeps
    pandas' metadata.
    """

    name = "arrow-ipc-2"
    _DTYPES = b"stocksdb.dtypes"

    def dumps(self, value: pd.DataFrame) -> bytes:
        import pyarrow as pa

        if _plain(value):
            table = pa.Table.from_pandas(value, preserve_index=False)
            # The dtypes a plain conversion does not give back (tried here, on the miss path,
            # so that a hit casts nothing it need not).
            plain = table.to_pandas(use_threads=False, ignore_metadata=True).dtypes
            cast = {str(c): str(t) for (c, t), back in zip(value.dtypes.items(), plain,
                                                             strict=True) if t != back}
            table = table.replace_schema_metadata({self._DTYPES: json.dumps(cast).encode()})
        else:
            table = pa.Table.from_pandas(value)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return bytes(sink.getvalue())

    def loads(self, data: bytes) -> pd.DataFrame:
        import pyarrow as pa

        table = pa.ipc.open_stream(data).read_all()
        cast = (table.schema.metadata or {}).get(self._DTYPES)
        if cast is None:
            frame = table.to_pandas(use_threads=False)
        else:
            frame = table.to_pandas(use_threads=False, ignore_metadata=True)
            for column, dtype in json.loads(cast).items():
                frame[column] = frame[column].astype(dtype)
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"cached value decoded to {type(frame).__name__}, not a DataFrame")
        return frame


    def copy(self, value: pd.DataFrame) -> pd.DataFrame:
        return value.copy(deep=True)


def _plain(frame: pd.DataFrame) -> bool:
    """The default index and unique string column names with no name on the column index:
    nothing pandas' metadata would add."""
    index = frame.index
    return (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
            and index.name is None and frame.columns.name is None
            and frame.columns.is_unique and all(isinstance(c, str) for c in frame.columns))


class JsonCodec:
    """Values JSON can hold (dicts, lists, numbers, strings) as UTF-8 JSON."""

    name = "json-1"

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)

    def copy(self, value: Any) -> Any:
        return json.loads(json.dumps(value))


FRAMES = FrameCodec()
JSON = JsonCodec()
