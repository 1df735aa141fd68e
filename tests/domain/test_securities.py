"""Securities rows without a database: what parses, and the reason each bad row is refused."""

from __future__ import annotations

from datetime import date

import pytest

from stocksdb.domain.reasons import Reason
from stocksdb.domain.securities import SecurityRow, parse_security
from tests.fix_data import AAPL, make_security


def test_a_good_row_is_normalised() -> None:
    """Codes upper-cased, the CIK zero-padded to 10 digits, dates parsed, empty text None."""
    raw = make_security(f" {AAPL} ", share_class_figi="BBG001S5N8V8", name=" Apple Inc. ",
                        security_type="", primary_exchange="xnas", currency="usd", cik="320193",
                        list_date="1980-12-12", delist_date="", active="")
    assert parse_security(raw) == SecurityRow(
        composite_figi=AAPL, share_class_figi="BBG001S5N8V8", name="Apple Inc.",
        security_type=None, primary_exchange="XNAS", currency="USD", cik="0000320193",
        list_date=date(1980, 12, 12), delist_date=None, is_active=True)


def test_a_delisted_row_keeps_both_dates_and_is_inactive() -> None:
    """delist_date after list_date is fine; active 'f' is False."""
    row = parse_security(make_security(AAPL, list_date="2000-01-03", delist_date="2020-06-30",
                                       active="f"))
    assert isinstance(row, SecurityRow), row
    assert (row.list_date, row.delist_date, row.is_active) == \
        (date(2000, 1, 3), date(2020, 6, 30), False)


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"composite_figi": "BBG000B9XRY5"}, Reason.INVALID_FIGI),       # check digit is 4
    ({"composite_figi": "BBG000B9XRY"}, Reason.INVALID_FIGI),        # 11 characters
    ({"composite_figi": ""}, Reason.INVALID_FIGI),
    ({"share_class_figi": "BBG001S5N8V9"}, Reason.INVALID_SHARE_CLASS_FIGI),
    ({"list_date": "2000-02-30"}, Reason.INVALID_DATE),
    ({"delist_date": "30/06/2020"}, Reason.INVALID_DATE),
    ({"cik": "CIK320193"}, Reason.INVALID_CIK),
    ({"cik": "12345678901"}, Reason.INVALID_CIK),                   # 11 digits
    ({"primary_exchange": "NASDAQ"}, Reason.INVALID_EXCHANGE),
    ({"currency": "US$"}, Reason.INVALID_CURRENCY),
    ({"active": "maybe"}, Reason.INVALID_BOOLEAN),
    ({"list_date": "2020-06-30", "delist_date": "2020-06-29"}, Reason.DELIST_BEFORE_LIST),
])
def test_bad_rows_are_refused_with_their_reason(overrides: dict[str, str],
                                                reason: Reason) -> None:
    """Each broken field gives its own reason and a detail naming the offending value."""
    raw = {**make_security(AAPL), **overrides}
    got = parse_security(raw)
    assert isinstance(got, tuple) and got[0] == reason, got
    shown = [v for v in overrides.values() if v]
    assert not shown or any(v in got[1] for v in shown), got[1]


def test_the_figi_is_checked_before_the_other_fields() -> None:
    """A row broken twice is refused for its FIGI first."""
    got = parse_security(make_security("BBG000B9XRY5", cik="x", currency="US$"))
    assert isinstance(got, tuple) and got[0] == Reason.INVALID_FIGI
