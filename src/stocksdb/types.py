"""Type aliases with meaning; each says how its values are produced."""

from __future__ import annotations

from typing import NewType

# Our surrogate key for a security. Never a ticker: tickers are reused and renamed.
SecurityId = NewType("SecurityId", int)
# A 12-character OpenFIGI composite identifier with a valid check digit; produce with
# domain.identifiers.parse_figi().
Figi = NewType("Figi", str)
