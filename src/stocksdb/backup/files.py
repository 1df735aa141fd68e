"""Files that appear whole or not at all, and never replace an existing one.

In:  a directory and a final name. Out: the file under that name, written through a temporary
sibling (a dot-name ending in `.tmp`) that is removed whatever happens.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stocksdb.errors import BackupIntegrityError

TEMP_SUFFIX = ".tmp"


@contextmanager
def temp_sibling(directory: Path, name: str) -> Iterator[Path]:
    """A fresh empty temporary file in `directory`; deleted on exit if still there."""
    fd, raw = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    path = Path(raw)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def fsync_file(path: Path) -> None:
    """Flush `path`'s content to disk, so a rename cannot publish a file with holes."""
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def publish_new(tmp: Path, final: Path) -> bool:
    """Give `tmp` the name `final` unless that name exists; True when published.

    A hard link is atomic and fails on an existing name, so two writers never overwrite each
    other; on filesystems without hard links we fall back to check-then-os.replace.
    """
    fsync_file(tmp)
    try:
        os.link(tmp, final)
    except FileExistsError:
        return False
    except OSError:
        if final.exists():
            return False
        os.replace(tmp, final)
        return True
    tmp.unlink()
    return True


def write_new_text(final: Path, text: str) -> bool:
    """Write `text` to `final` via a temporary sibling; False (nothing written) if it exists."""
    with temp_sibling(final.parent, final.name) as tmp:
        tmp.write_text(text, encoding="utf-8")
        return publish_new(tmp, final)


def copy_new(src: Path, directory: Path) -> tuple[Path, bool]:
    """Copy `src` into `directory` under its own name; (path, False) if that name exists.

    Raises:
        BackupIntegrityError: the copy's bytes differ from the source's (not published).
    """
    final = directory / src.name
    if final.exists():
        return final, False
    with temp_sibling(directory, src.name) as tmp:
        shutil.copyfile(src, tmp)
        expected, actual = sha256_and_size(src), sha256_and_size(tmp)
        if actual != expected:
            raise BackupIntegrityError(
                f"copy of {str(src)!r} to {str(directory)!r} has (sha256, size) {actual}, "
                f"expected {expected}; check the destination disk and run backup again",
                path=final, expected=expected, actual=actual)
        return final, publish_new(tmp, final)


def sha256_and_size(path: Path) -> tuple[str, int]:
    """Hex sha256 of the file's bytes, and its size in bytes."""
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return digest, path.stat().st_size
