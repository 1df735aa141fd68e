"""The whole exception hierarchy of stocksdb.

StocksdbError
 ├─ ConfigError ── MissingCredentialError, BackboneUnavailableError (institutional mode lacks
 │                Redis or Kafka)
 ├─ InputError ── DateOutOfRangeError, InvalidIdentifierError, InputFileError, RolePowersError,
 │                UnsupportedSourceError (a job's --source it does not have; exit 2),
 │                ExportTargetError (--out is a file or a non-empty non-export directory)
 │                                     InputFileError ── BackupIntegrityError,
 │                                                       FileTooLargeError,
 │                                                       ReferenceDataError
 ├─ SourceError ── VendorResponseError, RateLimitedError
 ├─ ServerError ── CacheServerError    embedded PostgreSQL (or Valkey) could not start / stop
 ├─ GateFailedError                    a phase gate refused (exit 3)
 ├─ LockBusyError                      --no-wait and another run holds a table the job needs
 ├─ BackupError ── BackupToolError, BackupCopyError, RestoreFailedError
 │                 a backup not written; pg_dump / pg_restore failed; the backup is complete but
 │                 its --copy-to copy failed; a restore failed before its swap (target unchanged)
 ├─ NotConfirmedError ── RestoreNotConfirmedError, ExportNotConfirmedError
 │                        destructive command without --yes / --overwrite (exit 1)
 ├─ RebuildFailedError                 a cold rebuild failed after its drop (names the backup)
 └─ DatabaseStateError ── MigrationChecksumError, SchemaVersionError (exit 3), UnknownJobError,
                          RestoreValidationError, ReaderVerificationError

Library code raises these; only the CLI prints them and maps `exit_code` to the process exit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stocksdb.domain.reasons import Reason


class StocksdbError(Exception):
    """Base class of every error stocksdb raises on purpose."""

    exit_code = 1
    # The message phrased for a command-line user (flags such as --as-of, where str() names
    # keyword arguments such as as_of=); None when one wording serves both. The CLI prints it.
    cli_message: str | None = None


class ConfigError(StocksdbError):
    """A setting is missing or malformed."""


class MissingCredentialError(ConfigError):
    """A source needs a secret that is not configured."""


class BackboneUnavailableError(ConfigError):
    """STOCKSDB_BACKBONE_MODE=institutional and a required component (Redis; Kafka when
    streaming is on) is not configured or not reachable; raised before any work."""

    def __init__(self, message: str, *, components: tuple[str, ...]) -> None:
        super().__init__(message)
        self.components = components   # "redis", "kafka": the ones missing


class InputError(StocksdbError):
    """A user-supplied parameter or input file is unusable as a whole."""

    exit_code = 2

    def __init__(self, message: str, *, cli_message: str | None = None) -> None:
        super().__init__(message)
        self.cli_message = cli_message


class DateOutOfRangeError(InputError):
    """A date parameter is outside what the calendar or data covers."""


class InvalidIdentifierError(InputError):
    """A FIGI, ticker or CIK does not have the expected form."""


class UnsupportedSourceError(InputError):
    """`--source` names a source the job does not have (a usage error)."""


class ExportTargetError(InputError):
    """`stocksdb export --out` names a file, or a non-empty directory that is not an export
    (--overwrite replaces only a previous export)."""


class InputFileError(InputError):
    """An input file is missing, unreadable, or lacks required columns."""


class FileTooLargeError(InputFileError):
    """A day file is larger (decompressed) than STOCKSDB_MAX_FILE_BYTES; its date fails."""

    reason = Reason.FILE_TOO_LARGE


class ReferenceDataError(InputFileError):
    """A reference data file (instruments, sessions, holidays) is unreadable or holds a bad
    value; the message names the file, the line and the field."""

    def __init__(self, problem: str, *, path: Path, line: int | None, field: str | None) -> None:
        where = f"{path}" + (f", line {line}" if line is not None else "") + \
            (f", field {field!r}" if field is not None else "")
        super().__init__(f"reference data {where}: {problem}")
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem


class RolePowersError(InputError):
    """A role asked to become a read-only reader holds powers beyond reading."""

    def __init__(self, message: str, *, role: str, powers: Sequence[str]) -> None:
        super().__init__(message)
        self.role = role
        self.powers = list(powers)


class SourceError(StocksdbError):
    """A vendor could not be read."""


class VendorResponseError(SourceError):
    """A vendor answered with something we cannot use."""


class RateLimitedError(SourceError):
    """A vendor kept refusing us with HTTP 429 after all retries."""


class ServerError(StocksdbError):
    """The embedded PostgreSQL server could not be initialised, started or stopped."""


class CacheServerError(ServerError):
    """The embedded Valkey server (`stocksdb cache start`) could not be started or stopped."""


class GateFailedError(StocksdbError):
    """A phase gate refused to let a job run or accepted its output with failures."""

    exit_code = 3

    def __init__(self, message: str, *, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class LockBusyError(StocksdbError):
    """Another run holds a table lock the job needs, and the caller asked not to wait."""


class RebuildFailedError(StocksdbError):
    """A cold rebuild failed after the drop; the message names the backup taken before it.
    The exit code is the cause's (2 for unusable input, 3 for a refused gate, else 1)."""

    def __init__(self, message: str, *, backup: Path | None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.backup = backup
        self.exit_code = exit_code


class DatabaseStateError(StocksdbError):
    """The database is not in the state the operation needs."""


class MigrationChecksumError(DatabaseStateError):
    """An applied migration file was edited afterwards."""


class SchemaVersionError(DatabaseStateError):
    """The database (or backup) schema is older or newer than this code: a refused gate."""

    exit_code = 3


class UnknownJobError(DatabaseStateError):
    """A job name that is not registered."""

    exit_code = 2


class BackupIntegrityError(InputFileError):
    """A backup file or its manifest is missing, truncated, altered or unreadable."""

    def __init__(self, message: str, *, path: Path, expected: object = None,
                 actual: object = None) -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.actual = actual


class BackupError(StocksdbError):
    """A backup could not be written or copied as asked."""


class BackupToolError(BackupError):
    """A PostgreSQL client tool (pg_dump, pg_restore) is missing, too old, or failed."""


class BackupCopyError(BackupError):
    """The backup itself is complete, but copying it where --copy-to asked failed."""

    def __init__(self, message: str, *, dump: Path, manifest: Path) -> None:
        super().__init__(message)
        self.dump = dump
        self.manifest = manifest


class RestoreFailedError(BackupError):
    """A restore failed before the target was swapped for the restored copy: no change."""

    def __init__(self, message: str, *, database: str) -> None:
        super().__init__(message)
        self.database = database


class NotConfirmedError(StocksdbError):
    """A destructive command was asked for without --yes; nothing was touched."""


class RestoreNotConfirmedError(NotConfirmedError):
    """A restore would destroy a database and `yes` was not given; nothing was touched."""

    def __init__(self, message: str, *, database: str, server: str,
                 row_counts: Mapping[str, int] | None) -> None:
        super().__init__(message)
        self.database = database
        self.server = server
        self.row_counts = dict(row_counts) if row_counts is not None else None


class ExportNotConfirmedError(NotConfirmedError):
    """--out already holds an export and --overwrite was not given; nothing was written."""


class RestoreValidationError(DatabaseStateError):
    """A restored database differs from its manifest (counts, checksums, orphans, views)."""

    def __init__(self, message: str, *, mismatches: Sequence[str]) -> None:
        super().__init__(message)
        self.mismatches = list(mismatches)


class ReaderVerificationError(DatabaseStateError):
    """A role granted read-only access did not behave so when logged in as it."""

    def __init__(self, message: str, *, role: str, problems: Sequence[str]) -> None:
        super().__init__(message)
        self.role = role
        self.problems = list(problems)
