"""The job registry: jobs declared as data, found in their modules, run in dependency order,
and a source a job lacks is a usage error naming the sources it has."""

from __future__ import annotations

from typing import Any

import pytest

from stocksdb.db.locks import table_locks
from stocksdb.jobs.base import JobContext, Outcome
from stocksdb.jobs.registry import Job, get_job, in_dependency_order, job_names
from tests.fix_cli import stocksdb

# SPEC section 4, in the order it lists the jobs; then trading_sessions (issue 14), after the
# prices whose range and dates it checks.
SPEC_ORDER = ["securities_master", "ticker_history", "prices_daily", "corporate_actions",
              "adjustment_factors_daily", "fundamentals_quarterly_raw", "fundamentals_derived"]
# cross_sections (issue 16) right after the factors it copies; then the macro jobs (issue 14),
# which depend on none, and trading_sessions (after prices).
ALL_JOBS = [*SPEC_ORDER[:5], "cross_sections", *SPEC_ORDER[5:], "macro_calendar",
            "macro_observations", "trading_sessions"]


def _noop(_: JobContext, __: None) -> Outcome:
    return Outcome(counts={})


def toy(name: str, *after: str) -> Job[None]:
    return Job[None](name=name, summary="toy", run=_noop, depends_on=after)


def test_registered_jobs_run_in_spec_order() -> None:
    assert job_names() == ALL_JOBS


def test_dependency_order_puts_each_job_after_what_it_needs() -> None:
    """Declared in reverse, a diamond comes back with each job after its dependencies and
    ties broken alphabetically: a, then b before c (both need only a), then d."""
    declared = [toy("d", "b", "c"), toy("c", "a"), toy("b", "a"), toy("a")]
    assert [j.name for j in in_dependency_order(declared)] == ["a", "b", "c", "d"]


def test_a_cycle_or_an_undeclared_dependency_is_refused() -> None:
    with pytest.raises(ValueError, match="cycle: a -> b -> a"):
        in_dependency_order([toy("a", "b"), toy("b", "a")])
    with pytest.raises(ValueError, match="job a depends on missing"):
        in_dependency_order([toy("a", "missing")])


def test_unknown_option_in_a_declaration_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown options"):
        Job[None](name="x", summary="x", run=_noop, options=frozenset({"colour"}))


def test_source_defaults_to_the_jobs_first_and_defaults_fill_in() -> None:
    from stocksdb.jobs.runner import RunRequest

    prices = get_job("prices_daily").resolve(RunRequest(job="prices_daily"))
    assert prices.source == "files"
    factors = get_job("adjustment_factors_daily").resolve(
        RunRequest(job="adjustment_factors_daily"))
    assert (factors.source, factors.method) == (None, "crsp")


def test_bootstrap_profile_maps_to_each_jobs_source() -> None:
    """With prices from massive, fundamentals come from the SEC; database-only jobs read none."""
    got: dict[str, Any] = {j: get_job(j).source_for("massive")
                           for j in [*SPEC_ORDER, "trading_sessions"]}
    assert got == {"securities_master": "massive", "ticker_history": "massive",
                   "prices_daily": "massive", "corporate_actions": "massive",
                   "adjustment_factors_daily": None, "fundamentals_quarterly_raw": "sec",
                   "fundamentals_derived": None, "trading_sessions": "calendar"}
    assert get_job("fundamentals_quarterly_raw").source_for("files") == "files"
    assert [get_job(j).source_for(p) for j in ("macro_observations", "macro_calendar")
            for p in ("massive", "files")] == ["fred", "files", "fred", "files"]


def test_bootstrap_profiles_are_the_securities_masters_sources() -> None:
    """--source of bootstrap/rebuild stays files|massive although the macro jobs, which
    depend on no job, have a `fred` source."""
    from stocksdb.ops.bootstrap import profiles

    assert profiles() == ["files", "massive"]


def test_locks_are_taken_in_alphabetical_table_order() -> None:
    """corporate_actions writes its table and reads three others (docs/checks.md)."""
    job = get_job("corporate_actions")
    locks = [(lk.table, lk.exclusive) for lk in table_locks(job.writes, job.reads)]
    assert locks == [("corporate_actions", True), ("prices_daily", False),
                     ("securities", False), ("ticker_history", False)]


def test_a_source_the_job_lacks_is_exit_2_naming_its_sources(
        db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Once `--source sec` silently took the Massive path and failed on a missing API key."""
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "securities_master", "--source", "sec")
    assert code == 2, err
    assert "job securities_master has sources files, massive" in err
    assert "massive_api_key" not in err
    code, _, err = stocksdb(capsys, "--dsn", db, "run", "adjustment_factors_daily",
                            "--source", "files")
    assert code == 2, err
    assert "job adjustment_factors_daily has no sources" in err


def test_jobs_command_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = stocksdb(capsys, "jobs")
    assert code == 0
    lines = [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert lines == ALL_JOBS
    assert "fundamentals_quarterly_raw: sources files, sec; after securities_master" in out


def test_an_option_the_job_does_not_take_is_refused_not_ignored() -> None:
    """`--method` means nothing to prices_daily: once it was silently dropped."""
    from stocksdb.domain.adjustments import AdjustmentMethod
    from stocksdb.errors import InputError
    from stocksdb.jobs.runner import RunRequest

    with pytest.raises(InputError, match="job prices_daily does not take --method"):
        get_job("prices_daily").resolve(RunRequest(job="prices_daily",
                                                   method=AdjustmentMethod.CRSP))
