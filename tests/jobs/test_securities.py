"""securities_master: upsert by composite FIGI, quarantine bad rows, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from stocksdb.config import Settings
from stocksdb.db.checksum import database_checksums
from stocksdb.db.connection import connect
from stocksdb.errors import InputFileError
from stocksdb.jobs.runner import RunRequest, run_job
from tests.fix_data import (
    AAPL,
    IBM,
    META,
    make_interval,
    make_security,
    rejected_keys,
    run_counts,
    write_reference,
)
from tests.fix_pg import count_rows

SETTINGS = Settings()


def test_securities_load_with_their_attributes(db: str, reference_dir: Path) -> None:
    """Three valid rows become three securities keyed by composite FIGI."""
    counts = run_counts(db, "securities_master", reference_dir)
    assert counts["inserted"] == 3 and counts["rejected"] == 0, counts
    with connect(db) as c:
        row = c.execute("SELECT name, cik, primary_exchange, is_active FROM securities "
                        "WHERE composite_figi = %s", (META,)).fetchone()
    assert row == ("Meta Platforms", "0001326801", "XNAS", True)


def test_rerun_over_same_input_leaves_checksum_unchanged(db: str, reference_dir: Path) -> None:
    """A second run inserts and updates nothing and keeps every table digest."""
    run_counts(db, "securities_master", reference_dir)
    with connect(db) as c:
        before = database_checksums(c)
    counts = run_counts(db, "securities_master", reference_dir)
    with connect(db) as c:
        after = database_checksums(c)
    assert (counts["inserted"], counts["updated"], counts["unchanged"]) == (0, 0, 3)
    assert after == before


def test_changed_attribute_updates_in_place_and_never_deletes(db: str, tmp_path: Path) -> None:
    """A delisting updates the row; a security missing from the next file is kept."""
    write_reference(tmp_path / "a", [make_security(AAPL), make_security(IBM)], [])
    run_counts(db, "securities_master", tmp_path / "a")
    with connect(db) as c:
        ids = dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())
    write_reference(tmp_path / "b", [make_security(AAPL, delist_date="2024-05-01",
                                                   active="false")], [])
    counts = run_counts(db, "securities_master", tmp_path / "b")
    assert counts["updated"] == 1
    with connect(db) as c:
        rows = dict(c.execute("SELECT composite_figi, security_id FROM securities").fetchall())
        active = c.execute("SELECT is_active FROM securities WHERE composite_figi = %s",
                           (AAPL,)).fetchone()
    assert rows == ids, "no security is deleted and ids never change"
    assert active == (False,)


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"composite_figi": "BBG000B9XRY5"}, "invalid_figi"),          # wrong check digit
    ({"composite_figi": "AAPL"}, "invalid_figi"),
    ({"list_date": "2024-13-01"}, "invalid_date"),
    ({"delist_date": "yesterday"}, "invalid_date"),
    ({"cik": "12ab"}, "invalid_cik"),
    ({"active": "maybe"}, "invalid_boolean"),
    ({"list_date": "2020-01-02", "delist_date": "2019-01-02"}, "delist_before_list"),
    ({"share_class_figi": "BBG001S5N8V9"}, "invalid_share_class_figi"),
])
def test_malformed_row_is_rejected_with_reason(db: str, tmp_path: Path,
                                               overrides: dict[str, str], reason: str) -> None:
    """A bad field quarantines the row with its reason and source line; good rows load."""
    bad = {**make_security(IBM), **overrides}
    write_reference(tmp_path, [make_security(AAPL), bad], [])
    counts = run_counts(db, "securities_master", tmp_path)
    assert counts["inserted"] == 1 and counts[f"rejected:{reason}"] == 1, counts
    assert rejected_keys(db) == [(reason, "securities.csv:3")]
    assert count_rows(db, "securities") == 1


def test_conflicting_duplicate_figi_rejects_both(db: str, tmp_path: Path) -> None:
    """Two rows of one FIGI with different names: neither is trusted, both are quarantined."""
    write_reference(tmp_path, [make_security(AAPL, name="A"), make_security(AAPL, name="B"),
                               make_security(IBM)], [])
    counts = run_counts(db, "securities_master", tmp_path)
    assert counts["inserted"] == 1 and counts["rejected:duplicate_key"] == 2, counts


def test_missing_column_is_a_clear_error(db: str, tmp_path: Path) -> None:
    """A file without the composite_figi column fails the run naming file and column."""
    cols = [c for c in ("share_class_figi", "name", "security_type", "primary_exchange",
                        "currency", "cik", "list_date", "delist_date", "active")]
    write_reference(tmp_path, [make_security(AAPL)], [make_interval(AAPL, "AAPL", "2000-01-03")],
                    security_columns=cols)
    with pytest.raises(InputFileError, match=r"securities\.csv.*lacks column.*composite_figi"):
        run_job(SETTINGS, db, RunRequest(job="securities_master", source="files", path=tmp_path))
    with connect(db) as c:
        status = c.execute("SELECT status, error FROM ingestion.job_runs").fetchall()
    assert status[0][0] == "failed" and "composite_figi" in status[0][1]
