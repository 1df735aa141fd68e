"""Securities rows: validation of one raw row into a `SecurityRow`.

In:  a raw securities row (a dict as the vendor or file sent it). Out: a `SecurityRow`, or the
reason and detail it is rejected with (the job quarantines those). Pure: no database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from stocksdb.domain.fields import (
    parse_bool,
    parse_cik,
    parse_currency,
    parse_mic,
    parse_optional_date,
)
from stocksdb.domain.identifiers import is_valid_figi
from stocksdb.domain.reasons import Reason


@dataclass(frozen=True)
class SecurityRow:
    """A validated securities row."""

    composite_figi: str
    share_class_figi: str | None
    name: str | None
    security_type: str | None
    primary_exchange: str | None
    currency: str | None
    cik: str | None
    list_date: date | None
    delist_date: date | None
    is_active: bool


def _field_error(raw: Mapping[str, Any]) -> tuple[Reason, str] | None:
    """The first problem of a raw row, or None."""
    figi = raw.get("composite_figi")
    if not figi or not is_valid_figi(figi.strip()):
        return Reason.INVALID_FIGI, (f"composite_figi {figi!r} is not a FIGI; expected 12 chars "
                                     "starting BBG with a valid check digit")
    scf = raw.get("share_class_figi")
    if scf and not is_valid_figi(scf.strip()):
        return Reason.INVALID_SHARE_CLASS_FIGI, f"share_class_figi {scf!r} is not a FIGI"
    checks: tuple[tuple[Reason, Callable[[], object]], ...] = (
        (Reason.INVALID_DATE, lambda: parse_optional_date(raw.get("list_date"), "list_date")),
        (Reason.INVALID_DATE, lambda: parse_optional_date(raw.get("delist_date"), "delist_date")),
        (Reason.INVALID_CIK, lambda: parse_cik(raw.get("cik"))),
        (Reason.INVALID_EXCHANGE, lambda: parse_mic(raw.get("primary_exchange"))),
        (Reason.INVALID_CURRENCY, lambda: parse_currency(raw.get("currency"))),
        (Reason.INVALID_BOOLEAN, lambda: parse_bool(raw.get("active"))),
    )
    for reason, parse in checks:
        try:
            parse()
        except ValueError as exc:
            return reason, str(exc)
    return None


def parse_security(raw: Mapping[str, Any]) -> SecurityRow | tuple[Reason, str]:
    """A validated row, or (reason, detail) saying why it is rejected."""
    problem = _field_error(raw)
    if problem:
        return problem
    listed = parse_optional_date(raw.get("list_date"))
    delisted = parse_optional_date(raw.get("delist_date"))
    if listed and delisted and delisted < listed:
        return Reason.DELIST_BEFORE_LIST, f"delist_date {delisted} is before list_date {listed}"
    text = {k: (raw.get(k) or "").strip() or None for k in ("name", "security_type")}
    return SecurityRow(
        composite_figi=str(raw["composite_figi"]).strip(),
        share_class_figi=(raw.get("share_class_figi") or "").strip() or None,
        name=text["name"], security_type=text["security_type"],
        primary_exchange=parse_mic(raw.get("primary_exchange")),
        currency=parse_currency(raw.get("currency")), cik=parse_cik(raw.get("cik")),
        list_date=listed, delist_date=delisted, is_active=parse_bool(raw.get("active")),
    )
