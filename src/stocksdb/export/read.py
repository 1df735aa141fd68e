"""A dataset's rows as Arrow tables, one chunk (a year and a range of security ids) at a time.

Reads: the dataset's tables (DatasetSpec.reads) with `COPY (SELECT ...) TO STDOUT (FORMAT
csv)`, parsed by pyarrow's C++ CSV reader straight into the spec's Arrow types: no Python
object per value. The caller's session sets extra_float_digits > 0, so every float8 is printed
in its shortest form that reads back to the same double (PostgreSQL >= 12): exact.
Memory: one chunk at a time, `size` securities over at most one year (export_dataset's
`chunk_securities`, 1,000 by default: about 250,000 bars).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from stocksdb.export.datasets import DatasetSpec, range_condition

# [low, high) of security_id; None is unbounded (ids of rows missing from securities too).
IdRange = tuple[int | None, int | None]


def arrow_schema(spec: DatasetSpec) -> pa.Schema:
    """The Arrow schema of the spec's columns, in order."""
    return pa.schema([(c.name, pa.type_for_alias(c.arrow_type)) for c in spec.columns])


def id_ranges(conn: psycopg.Connection[Any], size: int) -> list[IdRange]:
    """Consecutive ranges of `size` securities, open at both ends."""
    ids = [r[0] for r in conn.execute(
        "SELECT security_id FROM stocks_research.securities ORDER BY 1").fetchall()]
    edges: list[int | None] = [None, *ids[size::size], None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def read_chunks(conn: psycopg.Connection[Any], spec: DatasetSpec, first: date, last: date,
                ranges: Sequence[IdRange]) -> Iterator[pa.Table]:
    """The non-empty chunks of rows dated first..last, in (security_id, ...) order."""
    dates = range_condition(spec, first, last)
    ident = sql.SQL("{}.security_id").format(sql.Identifier(spec.alias))
    for low, high in ranges:
        where = [dates, *(sql.SQL("{} {} {}").format(ident, sql.SQL(op), sql.Literal(v))
                          for op, v in ((">=", low), ("<", high)) if v is not None)]
        table = _read_chunk(conn, spec, sql.SQL(" AND ").join(where))
        if table.num_rows:
            yield table


def _read_chunk(conn: psycopg.Connection[Any], spec: DatasetSpec,
                where: sql.Composable) -> pa.Table:
    query = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(spec.select(where))
    buf = io.BytesIO()
    with conn.cursor() as cur, cur.copy(query) as copy:
        for data in copy:
            buf.write(data)
    schema = arrow_schema(spec)
    if not buf.tell():
        return schema.empty_table()
    # COPY's CSV: NULL is an unquoted empty field, booleans are t/f, dates ISO (DateStyle).
    convert = pacsv.ConvertOptions(column_types=schema, true_values=["t"], false_values=["f"],
                                   null_values=[""], strings_can_be_null=True,
                                   quoted_strings_can_be_null=False)
    table = pacsv.read_csv(pa.BufferReader(pa.py_buffer(buf.getbuffer())),
                           read_options=pacsv.ReadOptions(column_names=schema.names),
                           convert_options=convert)
    return table.cast(schema)
