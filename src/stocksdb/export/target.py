"""The export's directory: checked before any work, built beside it, then moved into place.

In:  --out and whether --overwrite was given. Out: the files appear under --out all at once
(a rename of a finished temporary directory `.NAME.export-XXXX` in the same parent); a failed
export leaves --out as it was. --overwrite replaces only a previous export (a directory with
`_manifest.json`), never an arbitrary non-empty directory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stocksdb.errors import ExportNotConfirmedError, ExportTargetError
from stocksdb.export.manifest import MANIFEST_NAME, PreviousExport, read_previous


def check_target(out: Path, *, overwrite: bool) -> PreviousExport | None:
    """The previous export `out` holds (to replace), or None when `out` is new or empty.

    Raises:
        ExportTargetError: `out` is a file, or a non-empty directory that is not an export.
        ExportNotConfirmedError: `out` holds an export and `overwrite` is false.
    """
    if not out.exists():
        return None
    if not out.is_dir():
        raise ExportTargetError(f"--out {str(out)!r} is a file, expected a directory; "
                                "choose a new or empty directory")
    if not any(out.iterdir()):
        return None
    if not (out / MANIFEST_NAME).is_file():
        raise ExportTargetError(
            f"--out {str(out)!r} is a non-empty directory without {MANIFEST_NAME}, so not a "
            "stocksdb export; nothing was written; choose a new or empty directory "
            "(--overwrite replaces only a previous export)")
    previous = read_previous(out)
    if not overwrite:
        raise ExportNotConfirmedError(
            f"--out {str(out)!r} already holds {previous.describe(out)}; nothing was written; "
            "pass --overwrite to delete them and write this export instead")
    return previous


@contextmanager
def staging_dir(out: Path) -> Iterator[Path]:
    """A new empty directory beside `out` to build the export in; removed if the block fails
    (publish() moves it into place)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)   # gone already when published


def publish(tmp: Path, out: Path, previous: PreviousExport | None) -> None:
    """Move the finished export `tmp` to `out`, replacing an empty `out` or the previous
    export (moved aside first, then deleted: `out` is never a mix of both)."""
    if previous is None:
        if out.exists():
            out.rmdir()                       # empty (checked), so nothing is lost
        tmp.rename(out)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.replaced-", dir=out.parent))
    aside.rmdir()
    out.rename(aside)
    tmp.rename(out)
    shutil.rmtree(aside)
