"""Type aliases with meaning; each says how its values are produced."""

from __future__ import annotations

from datetime import date
from typing import NewType

# Our surrogate key for a security. Never a ticker: tickers are reused and renamed.
SecurityId = NewType("SecurityId", int)
# A 12-character OpenFIGI composite identifier with a valid check digit; produce with
# domain.identifiers.parse_figi().
Figi = NewType("Figi", str)
# A date that is a trading session of the calendar in use; produce with
# domain.sessions.parse_session().
Session = NewType("Session", date)
# Anything parse_date() accepts: a date, or an ISO 'YYYY-MM-DD' string.
DateLike = date | str
