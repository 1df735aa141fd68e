"""The whole exception hierarchy of stocksdb.

StocksdbError
 ├─ ConfigError ── MissingCredentialError
 ├─ InputError ── DateOutOfRangeError, InvalidIdentifierError, InputFileError
 ├─ SourceError ── VendorResponseError, RateLimitedError
 ├─ ServerError                        embedded PostgreSQL could not start / stop
 ├─ GateFailedError                    a phase gate refused (exit 3)
 └─ DatabaseStateError ── MigrationChecksumError, SchemaVersionError, UnknownJobError

Library code raises these; only the CLI prints them and maps `exit_code` to the process exit.
"""

from __future__ import annotations

from typing import Any


class StocksdbError(Exception):
    """Base class of every error stocksdb raises on purpose."""

    exit_code = 1


class ConfigError(StocksdbError):
    """A setting is missing or malformed."""


class MissingCredentialError(ConfigError):
    """A source needs a secret that is not configured."""


class InputError(StocksdbError):
    """A user-supplied parameter or input file is unusable as a whole."""

    exit_code = 2


class DateOutOfRangeError(InputError):
    """A date parameter is outside what the calendar or data covers."""


class InvalidIdentifierError(InputError):
    """A FIGI, ticker or CIK does not have the expected form."""


class InputFileError(InputError):
    """An input file is missing, unreadable, or lacks required columns."""


class SourceError(StocksdbError):
    """A vendor could not be read."""


class VendorResponseError(SourceError):
    """A vendor answered with something we cannot use."""


class RateLimitedError(SourceError):
    """A vendor kept refusing us with HTTP 429 after all retries."""


class ServerError(StocksdbError):
    """The embedded PostgreSQL server could not be initialised, started or stopped."""


class GateFailedError(StocksdbError):
    """A phase gate refused to let a job run or accepted its output with failures."""

    exit_code = 3

    def __init__(self, message: str, *, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class DatabaseStateError(StocksdbError):
    """The database is not in the state the operation needs."""


class MigrationChecksumError(DatabaseStateError):
    """An applied migration file was edited afterwards."""


class SchemaVersionError(DatabaseStateError):
    """The database schema is older or newer than this code."""


class UnknownJobError(DatabaseStateError):
    """A job name that is not registered."""

    exit_code = 2
