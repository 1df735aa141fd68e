"""The manifest that travels beside every dump: what the file is and what the database held.

In:  facts read from the database at the dump's snapshot, and the dump's digest.
Out: `full_YYYYMMDD_HHMM.manifest.json` beside `full_YYYYMMDD_HHMM.dump`; restore reads it first.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stocksdb.errors import BackupIntegrityError

MANIFEST_FORMAT = 1
DUMP_SUFFIX = ".dump"
MANIFEST_SUFFIX = ".manifest.json"


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """Everything restore needs to check a dump before and after using it."""

    file: str                     # the dump's file name, e.g. full_20250131_2215.dump
    sha256: str                   # hex digest of the dump's bytes
    size: int                     # bytes
    created_at: str               # UTC ISO 8601, when the dump's snapshot was taken
    database: str                 # name of the database dumped
    server_version: str           # e.g. "16.4"
    pg_dump_major: int            # pg_restore must be at least this new to read the file
    schema_version: int | None    # latest applied migration (None: no ledger)
    migrations: list[str] = field(default_factory=list)       # applied migration names
    row_counts: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    checksums: dict[str, str] = field(default_factory=dict)   # stocks_research table -> digest
    format: int = MANIFEST_FORMAT

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data."""
        return asdict(self)

    def to_json(self) -> str:
        """The manifest file's text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"


def manifest_path(dump: Path) -> Path:
    """`full_X.dump` -> `full_X.manifest.json` in the same directory."""
    stem = dump.name.removesuffix(DUMP_SUFFIX)
    return dump.with_name(stem + MANIFEST_SUFFIX)


def read_manifest(path: Path) -> Manifest:
    """Parse a manifest file.

    Raises:
        BackupIntegrityError: the file is missing, not JSON, or lacks fields.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupIntegrityError(
            f"manifest {str(path)!r} not found; a dump is only restored beside its manifest",
            path=path) from None
    except (OSError, ValueError) as exc:
        raise BackupIntegrityError(f"manifest {str(path)!r} is unreadable: {exc}",
                                   path=path) from exc
    try:
        return Manifest(**data)
    except TypeError as exc:
        raise BackupIntegrityError(
            f"manifest {str(path)!r} does not have the expected fields ({exc}); "
            "it was not written by this version of stocksdb backup", path=path) from exc
