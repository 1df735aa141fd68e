"""Backups, restores and the read-only role.

create_backup   pg_dump + manifest, verified, never overwriting   (backup/dump.py)
restore_backup  verify, restore aside, validate, swap names       (backup/restore.py, swap.py)
grant_reader    a LOGIN role that reads stocks_research only       (backup/reader.py)
"""

from __future__ import annotations

from stocksdb.backup.dump import BackupResult, create_backup
from stocksdb.backup.manifest import Manifest, manifest_path, read_manifest
from stocksdb.backup.reader import grant_reader
from stocksdb.backup.restore import RestoreResult, restore_backup

__all__ = ["BackupResult", "Manifest", "RestoreResult", "create_backup", "grant_reader",
           "manifest_path", "read_manifest", "restore_backup"]
