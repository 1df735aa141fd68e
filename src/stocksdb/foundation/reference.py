"""Reference data: instruments, exchange sessions and holidays, validated, from three files.

In:  instruments.json, sessions.json and holidays.json (by default the copies shipped in the
     package under stocksdb/config/reference/; pass other paths for a custom deployment).
Out: a ReferenceDataset. `ReferenceDataLoader.load_all()` reads the files once and returns the
     same dataset on later calls; `load_all(refresh=True)` re-reads them when one changed (its
     mtime or size moved and its sha256 differs). A bad file raises ReferenceDataError naming
     the file, the line and the field.

    loader = ReferenceDataLoader()
    dataset = loader.load_all()
    instrument = dataset.instruments["EURUSD"]

The shipped sessions and holidays are generated from exchange_calendars
(`python -m stocksdb.foundation.reference_build DIR`); tests check they still agree with it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from stocksdb.errors import ReferenceDataError
from stocksdb.foundation.reference_files import Document, Record, read_document
from stocksdb.foundation.reference_parse import (
    ASSET_CLASSES,
    as_bool,
    as_choice,
    as_cik,
    as_currency,
    as_date,
    as_figi,
    as_mic,
    as_positive,
    as_symbol,
    as_text,
    as_time,
    as_timezone,
    as_vendor_symbols,
    as_weekmask,
)

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "config" / "reference"
AssetClass = Literal["equity", "etf", "index", "fx", "future"]
HolidayKind = Literal["closed", "early_close"]


@dataclass(frozen=True)
class Instrument:
    """One tradable instrument. Equities carry the securities master's fields (FIGIs, CIK,
    listing dates); FX pairs their base currency (`currency` is the quote currency: USD for
    EURUSD); futures their contract size and tick size (in `currency`)."""

    symbol: str                        # our key: AAPL, EURUSD, ES
    name: str
    asset_class: AssetClass
    currency: str                      # ISO 4217; what prices are quoted in
    primary_exchange: str | None = None   # ISO 10383 MIC; None for over-the-counter FX
    security_type: str | None = None   # CS (common stock), ETF ... as in securities
    composite_figi: str | None = None
    share_class_figi: str | None = None
    cik: str | None = None             # 10 digits
    list_date: date | None = None
    delist_date: date | None = None
    active: bool = True
    base_currency: str | None = None   # FX only
    contract_size: float | None = None     # futures: units of the underlying per contract
    tick_size: float | None = None
    vendor_symbols: Mapping[str, str] = field(default_factory=dict,   # {"yahoo": "EURUSD=X"}
                                              hash=False)


@dataclass(frozen=True)
class ExchangeSessions:
    """An exchange's regular trading hours, in its own time zone. `calendar` is the
    exchange_calendars calendar its sessions follow (XNAS and ARCX follow XNYS's)."""

    exchange: str
    calendar: str
    timezone: str
    open: time
    close: time
    early_close: time | None
    weekmask: str                      # Monday..Sunday, '1' = a trading weekday


@dataclass(frozen=True)
class Holiday:
    """A weekday an exchange is closed (`closed`) or closes early (`early_close`, at
    `close`, local time)."""

    exchange: str
    day: date
    name: str
    kind: HolidayKind
    close: time | None = None


@dataclass(frozen=True)
class ReferenceDataset:
    """The validated reference data. `holidays` maps each exchange to its holidays and early
    closes in date order, for the span `holidays_first`..`holidays_last`."""

    instruments: Mapping[str, Instrument]
    sessions: Mapping[str, ExchangeSessions]
    holidays: Mapping[str, tuple[Holiday, ...]]
    holidays_first: date
    holidays_last: date


def parse_instruments(doc: Document) -> dict[str, Instrument]:
    """The instruments of an instruments document, by symbol.

    Raises:
        ReferenceDataError: a bad field, or a symbol listed twice.
    """
    out: dict[str, Instrument] = {}
    for rec in doc.records("instruments"):
        inst = _instrument(rec)
        if inst.symbol in out:
            raise rec.fail(f"symbol {inst.symbol!r} is listed twice; keep one", "symbol")
        out[inst.symbol] = inst
    return out


_INSTRUMENT_FIELDS = frozenset(Instrument.__dataclass_fields__)


def _instrument(rec: Record) -> Instrument:
    rec.only(_INSTRUMENT_FIELDS)
    kind = rec.need("asset_class", as_choice(ASSET_CLASSES))
    inst = Instrument(
        symbol=rec.need("symbol", as_symbol), name=rec.need("name", as_text),
        asset_class=kind,  # type: ignore[arg-type]  # one of ASSET_CLASSES
        currency=rec.need("currency", as_currency),
        primary_exchange=rec.get("primary_exchange", as_mic),
        security_type=rec.get("security_type", as_text),
        composite_figi=rec.get("composite_figi", as_figi),
        share_class_figi=rec.get("share_class_figi", as_figi),
        cik=rec.get("cik", as_cik), list_date=rec.get("list_date", as_date),
        delist_date=rec.get("delist_date", as_date),
        active=rec.get("active", as_bool, default=True) is not False,
        base_currency=rec.get("base_currency", as_currency, required=kind == "fx"),
        contract_size=rec.get("contract_size", as_positive),
        tick_size=rec.get("tick_size", as_positive),
        vendor_symbols=MappingProxyType(rec.get("vendor_symbols", as_vendor_symbols) or {}))
    if inst.list_date and inst.delist_date and inst.delist_date < inst.list_date:
        raise rec.fail(f"{inst.delist_date} is before list_date {inst.list_date}", "delist_date")
    return inst


def parse_sessions(doc: Document) -> dict[str, ExchangeSessions]:
    """The exchanges of a sessions document, by MIC.

    Raises:
        ReferenceDataError: a bad field, or an exchange listed twice.
    """
    out: dict[str, ExchangeSessions] = {}
    for rec in doc.records("exchanges"):
        rec.only(frozenset(ExchangeSessions.__dataclass_fields__))
        item = ExchangeSessions(
            exchange=rec.need("exchange", as_mic), calendar=rec.need("calendar", as_text),
            timezone=rec.need("timezone", as_timezone), open=rec.need("open", as_time),
            close=rec.need("close", as_time), early_close=rec.get("early_close", as_time),
            weekmask=rec.need("weekmask", as_weekmask))
        if item.close <= item.open:
            raise rec.fail(f"{item.close} is not after open {item.open}", "close")
        if item.exchange in out:
            raise rec.fail(f"exchange {item.exchange!r} is listed twice; keep one", "exchange")
        out[item.exchange] = item
    return out


def parse_holidays(doc: Document, exchanges: Mapping[str, ExchangeSessions]
                   ) -> tuple[dict[str, tuple[Holiday, ...]], date, date]:
    """The holidays of a holidays document by exchange (date order), and the span they cover.

    Raises:
        ReferenceDataError: a bad field, an exchange the sessions file lacks, a date outside
            the span, or one exchange and date listed twice.
    """
    first, last = doc.header("first_date", as_date), doc.header("last_date", as_date)
    found: dict[str, dict[date, Holiday]] = {x: {} for x in exchanges}
    for rec in doc.records("holidays"):
        rec.only(frozenset({"exchange", "date", "name", "kind", "close"}))
        exchange = rec.need("exchange", as_mic)
        if exchange not in exchanges:
            raise rec.fail(f"{exchange!r} is not an exchange of the sessions file "
                           f"({', '.join(exchanges)}); add it there first", "exchange")
        day = rec.need("date", as_date)
        if not first <= day <= last:
            raise rec.fail(f"{day} is outside the file's span {first} .. {last}", "date")
        kind = rec.need("kind", as_choice(("closed", "early_close")))
        close = rec.get("close", as_time, required=kind == "early_close")
        if day in found[exchange]:
            raise rec.fail(f"{exchange} {day} is listed twice; keep one", "date")
        found[exchange][day] = Holiday(exchange, day, rec.need("name", as_text),
                                       kind, close)  # type: ignore[arg-type]
    return {x: tuple(h for _, h in sorted(days.items())) for x, days in found.items()}, \
        first, last


@dataclass(frozen=True)
class _Stamp:
    """What a file was when it was read: cheap identity (mtime, size) and content hash."""

    mtime_ns: int
    size: int
    sha256: str


class ReferenceDataLoader:
    """Reads, validates and memoizes the three reference files (thread-safe)."""

    def __init__(self, instruments_path: Path | str | None = None,
                 sessions_path: Path | str | None = None,
                 holidays_path: Path | str | None = None) -> None:
        self.instruments_path = Path(instruments_path or DEFAULT_DIR / "instruments.json")
        self.sessions_path = Path(sessions_path or DEFAULT_DIR / "sessions.json")
        self.holidays_path = Path(holidays_path or DEFAULT_DIR / "holidays.json")
        self._lock = threading.Lock()
        self._dataset: ReferenceDataset | None = None
        self._stamps: dict[Path, _Stamp] = {}

    @property
    def paths(self) -> tuple[Path, Path, Path]:
        """The instruments, sessions and holidays files, in that order."""
        return self.instruments_path, self.sessions_path, self.holidays_path

    def load_all(self, refresh: bool = False) -> ReferenceDataset:
        """The dataset: read on the first call, then the same object, unless `refresh` and a
        file changed since it was read (then all three are read again).

        Raises:
            ReferenceDataError: a file is missing, unreadable or holds a bad value.
        """
        with self._lock:
            if self._dataset is None or (refresh and self._changed()):
                read = {p: _read(p) for p in self.paths}
                self._dataset = _build({p: data for p, (data, _) in read.items()}, *self.paths)
                self._stamps = {p: stamp for p, (_, stamp) in read.items()}
            return self._dataset

    def _changed(self) -> bool:
        """A file's content differs from what was read (a bare touch is not a change)."""
        changed = False
        for path, old in self._stamps.items():
            try:
                st = path.stat()
            except OSError:
                return True      # gone: re-reading reports it
            if (st.st_mtime_ns, st.st_size) == (old.mtime_ns, old.size):
                continue
            _, new = _read(path)
            if new.sha256 != old.sha256:
                changed = True
            self._stamps[path] = new
        return changed


def _read(path: Path) -> tuple[bytes, _Stamp]:
    """The file's bytes and its stamp. The stat comes first: a write between the two leaves
    an older mtime in the stamp, so the next refresh hashes the file again."""
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise ReferenceDataError(f"cannot be read ({exc.strerror or exc}); check the path",
                                 path=path, line=None, field=None) from None
    return data, _Stamp(st.st_mtime_ns, st.st_size, hashlib.sha256(data).hexdigest())


def _build(raw: Mapping[Path, bytes], instruments: Path, sessions: Path,
           holidays: Path) -> ReferenceDataset:
    exchanges = parse_sessions(read_document(sessions, raw[sessions]))
    days, first, last = parse_holidays(read_document(holidays, raw[holidays]), exchanges)
    return ReferenceDataset(
        instruments=MappingProxyType(parse_instruments(read_document(instruments,
                                                                     raw[instruments]))),
        sessions=MappingProxyType(exchanges), holidays=MappingProxyType(days),
        holidays_first=first, holidays_last=last)
