"""What each exportable dataset is: its source table, its columns (SQL expression and Arrow
type), the date it is partitioned and filtered by, and the tables it reads.

Reads (when queried by stocksdb.export.read): prices_daily, adjustment_factors_daily,
fundamentals_quarterly, fundamentals_quarterly_yoy, securities, ticker_history.
No pyarrow here: the CLI builds its choices from DATASET_NAMES without loading it.

Types: ids and counts int64; dates date32; prices, factors and volumes float64 (the tables'
double precision, so exact); fundamentals' numeric columns float64 too (the nearest double:
exact for whole amounts below 2**53, within half an ulp for EPS and YoY); the ticker as of the
row's date (trade_date; filed_date for fundamentals), null when no ticker named the security.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from psycopg import sql

DATASET_NAMES = ("prices", "factors", "fundamentals")


@dataclass(frozen=True)
class Column:
    """One exported column: its name, the SQL expression producing it, its Arrow type alias."""

    name: str
    expression: str
    arrow_type: str   # a pyarrow.type_for_alias name: int64, double, date32, string, bool


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset as one SELECT: `alias` names `table` in `joins` and `columns`."""

    name: str
    table: str                    # the table the range checksum and the row count are of
    alias: str
    date_column: str              # of `table`: the --start/--end filter and the year partition
    columns: tuple[Column, ...]
    joins: sql.Composable
    order_by: tuple[str, ...]     # of `table`, security_id first (chunks are id ranges)
    reads: tuple[str, ...]        # every table the SELECT reads (whole-table checksums)

    def select(self, where: sql.Composable) -> sql.Composed:
        """SELECT of the columns over the rows matching `where`, in `order_by` order."""
        a = sql.Identifier(self.alias)
        return sql.SQL("SELECT {cols} FROM {tbl} {a} {joins} WHERE {where} ORDER BY {order}"
                       ).format(
            cols=sql.SQL(", ").join(sql.SQL(c.expression) for c in self.columns),
            tbl=sql.Identifier("stocks_research", self.table), a=a, joins=self.joins,
            where=where,
            order=sql.SQL(", ").join(sql.SQL("{}.{}").format(a, sql.Identifier(c))
                                     for c in self.order_by))


def _identity(alias: str, on: str) -> tuple[tuple[Column, ...], sql.Composable]:
    """security_id, composite_figi and the ticker valid on `alias`.`on` (ticker_history's
    valid_to is exclusive; one security has one ticker at a time, so no row is repeated)."""
    columns = (Column("security_id", f"{alias}.security_id", "int64"),
               Column("composite_figi", "s.composite_figi", "string"),
               Column("ticker", "th.ticker", "string"))
    joins = sql.SQL(
        "LEFT JOIN stocks_research.securities s ON s.security_id = {a}.security_id "
        "LEFT JOIN stocks_research.ticker_history th ON th.security_id = {a}.security_id "
        "AND th.valid_from <= {a}.{on} AND (th.valid_to IS NULL OR {a}.{on} < th.valid_to)"
    ).format(a=sql.Identifier(alias), on=sql.Identifier(on))
    return columns, joins


_IDENTITY_TABLES = ("securities", "ticker_history")
_PRICES = ("open", "high", "low", "close")


def prices_spec(*, method: str | None) -> DatasetSpec:
    """prices_daily with each bar's FIGI and ticker that day; with `method`, its factors of
    that method and the adjusted columns (null where the bar has no factor)."""
    ident, joins = _identity("p", "trade_date")
    raw = (Column("trade_date", "p.trade_date", "date32"),
           *(Column(c, f"p.{c}", "double") for c in _PRICES),
           Column("volume", "p.volume", "int64"), Column("transactions", "p.transactions", "int64"),
           Column("source", "p.source", "string"))
    if method is None:
        return DatasetSpec("prices", "prices_daily", "p", "trade_date", (*ident, *raw), joins,
                           ("security_id", "trade_date"), ("prices_daily", *_IDENTITY_TABLES))
    # The same float8 products stocksdb.read_prices computes in numpy: IEEE-754 either way.
    adjusted = (Column("price_factor", "f.price_factor", "double"),
                Column("volume_factor", "f.volume_factor", "double"),
                *(Column(f"adj_{c}", f"p.{c} * f.price_factor", "double") for c in _PRICES),
                Column("adj_volume", "p.volume * f.volume_factor", "double"))
    factor_join = sql.SQL(
        " LEFT JOIN stocks_research.adjustment_factors_daily f ON f.security_id = p.security_id "
        "AND f.trade_date = p.trade_date AND f.method = {}").format(sql.Literal(method))
    return DatasetSpec("prices", "prices_daily", "p", "trade_date", (*ident, *raw, *adjusted),
                       sql.Composed([joins, factor_join]), ("security_id", "trade_date"),
                       ("prices_daily", "adjustment_factors_daily", *_IDENTITY_TABLES))


def factors_spec() -> DatasetSpec:
    """adjustment_factors_daily, both methods, with each row's FIGI and ticker that day."""
    ident, joins = _identity("f", "trade_date")
    own = (Column("trade_date", "f.trade_date", "date32"), Column("method", "f.method", "string"),
           *(Column(c, f"f.{c}", "double") for c in ("price_factor", "volume_factor",
                                                      "split_factor", "dividend_factor")))
    return DatasetSpec("factors", "adjustment_factors_daily", "f", "trade_date", (*ident, *own),
                       joins, ("security_id", "trade_date", "method"),
                       ("adjustment_factors_daily", *_IDENTITY_TABLES))


def fundamentals_spec() -> DatasetSpec:
    """Every version of every quarter (fundamentals_quarterly) with its YoY row, if any: all
    filings, not one as-of date, so readers can choose theirs by filed_date."""
    ident, joins = _identity("q", "filed_date")
    dates = ("period_start", "period_end", "filed_date")
    own = (*(Column(c, f"q.{c}", "date32") for c in dates),
           Column("fiscal_year", "q.fiscal_year", "int64"),
           Column("fiscal_quarter", "q.fiscal_quarter", "int64"),
           Column("revenue", "q.revenue", "double"),
           Column("eps_diluted", "q.eps_diluted", "double"),
           *(Column(c, f"q.{c}", "bool") for c in ("revenue_derived", "eps_derived",
                                                    "eps_approximate")),
           Column("source_accession", "q.source_accession", "string"),
           Column("prior_period_end", "y.prior_period_end", "date32"),
           Column("revenue_yoy", "y.revenue_yoy", "double"),
           Column("eps_diluted_yoy", "y.eps_diluted_yoy", "double"))
    yoy_join = sql.SQL(" LEFT JOIN stocks_research.fundamentals_quarterly_yoy y "
                       "ON (y.security_id, y.period_end, y.filed_date) "
                       "= (q.security_id, q.period_end, q.filed_date)")
    return DatasetSpec("fundamentals", "fundamentals_quarterly", "q", "period_end",
                       (*ident, *own), sql.Composed([joins, yoy_join]),
                       ("security_id", "period_end", "filed_date"),
                       ("fundamentals_quarterly", "fundamentals_quarterly_yoy",
                        *_IDENTITY_TABLES))


def date_bounds(conn: psycopg.Connection[Any], spec: DatasetSpec, start: date | None,
                end: date | None) -> tuple[date, date] | None:
    """First and last date of the table's rows within start..end (inclusive), or None."""
    query = sql.SQL("SELECT min({c}), max({c}) FROM {t} {a} WHERE {w}").format(
        c=sql.Identifier(spec.date_column), t=sql.Identifier("stocks_research", spec.table),
        a=sql.Identifier(spec.alias), w=range_condition(spec, start, end))
    row = conn.execute(query).fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])


def range_condition(spec: DatasetSpec, start: date | None, end: date | None, *,
                    qualified: bool = True) -> sql.Composable:
    """`date_column` between start and end (either may be open), on the spec's alias (or,
    not `qualified`, on the bare column, as the checksum's query names it)."""
    col: sql.Composable = sql.Identifier(spec.date_column)
    if qualified:
        col = sql.SQL("{}.{}").format(sql.Identifier(spec.alias), col)
    parts = [sql.SQL("{} {} {}").format(col, sql.SQL(op), sql.Literal(day))
             for op, day in ((">=", start), ("<=", end)) if day is not None]
    return sql.SQL(" AND ").join(parts) if parts else sql.SQL("TRUE")


def dataset_spec(name: str, *, method: str | None = None) -> DatasetSpec:
    """The spec of dataset `name` (one of DATASET_NAMES); `method` adjusts prices."""
    if name == "prices":
        return prices_spec(method=method)
    return factors_spec() if name == "factors" else fundamentals_spec()
