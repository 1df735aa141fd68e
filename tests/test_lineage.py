"""The lineage document: built from whatever jobs are registered, with no holes: a job that
writes a table without declaring its lineage is named with what to add."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from stocksdb.db.lineage import Layer, Table, created_tables
from stocksdb.gates import checks as c
from stocksdb.jobs.base import JobContext, Outcome
from stocksdb.jobs.registry import Job, jobs
from stocksdb.ops.lineage import lineage_problems, render_lineage
from tests.fix_cli import stocksdb


def _noop(_: JobContext, __: Any) -> Outcome:
    return Outcome(counts={})


def _read(_: JobContext) -> None:
    return None


def table(name: str, layer: Layer = Layer.CANONICAL) -> Table:
    return Table(name, layer=layer, freshness=f"{name} fresh", completeness=f"{name} whole",
                 retention=f"{name} kept")


def toy(name: str, writes: tuple[str, ...], *, reads: tuple[str, ...] = (),
        sources: tuple[str, ...] = ("files",), tables: tuple[Table, ...] | None = None,
        **extra: Any) -> Job[Any]:
    """A job writing `writes`, declaring them canonical (derived without sources) unless
    `tables` says otherwise."""
    layer = Layer.CANONICAL if sources else Layer.DERIVED
    return Job[Any](name=name, summary=f"toy {name}", run=_noop,
                    sources=dict.fromkeys(sources, _read), writes=writes, reads=reads,
                    tables=tuple(table(w, layer) for w in writes) if tables is None else tables,
                    **extra)


def test_every_registered_job_declares_the_lineage_of_what_it_writes() -> None:
    """The registry as shipped: every written table has its Table, with a layer that fits."""
    problems = lineage_problems(jobs())
    assert problems == [], "\n".join(problems)


def test_a_job_without_lineage_facts_is_named_with_what_to_declare() -> None:
    """A new job writing trading_sessions with no `tables`: the problem names the job, the
    table and the Table to add; rendering refuses with the same sentence."""
    new = toy("trading_sessions", ("trading_sessions",), sources=("calendar",), tables=())
    expected = ("job trading_sessions writes trading_sessions but declares no lineage for it; "
                "add tables=(Table('trading_sessions', layer=Layer.RAW|CANONICAL|DERIVED, "
                "freshness='...', completeness='...', retention='...'),) to its Job in module "
                "tests.test_lineage (Table and Layer are in stocksdb.db.lineage)")
    assert lineage_problems([new]) == [expected]
    with pytest.raises(ValueError, match="1 declaration problems: job trading_sessions writes"):
        render_lineage([new])


def test_wrong_declarations_are_each_named() -> None:
    """A Table of a table not written, a derived table read from a source, a sourceless job's
    canonical table, an audit table outside `ingestion`, a table twice declared and one no
    migration creates: one problem each."""
    cases = {
        "which it does not write": toy("a", ("securities",),
                                       tables=(table("securities"), table("ticker_history"))),
        "comes from other tables only": toy("b", ("securities",),
                                            tables=(table("securities", Layer.DERIVED),)),
        "declare layer=Layer.DERIVED": toy("c", ("securities",), sources=(),
                                           tables=(table("securities"),)),
        "the audit layer is exactly": toy("d", ("securities",),
                                          tables=(table("securities", Layer.AUDIT),)),
        "no migration creates": toy("e", ("prices_dialy",)),
    }
    for fragment, job in cases.items():
        problems = lineage_problems([job])
        assert len(problems) == 1 and fragment in problems[0], (fragment, problems)
    twice = lineage_problems([toy("f", ("securities",)), toy("g", ("securities",))])
    assert twice == ["the lineage of stocks_research.securities is declared twice; keep the one "
                     "next to its writer"]


def test_an_empty_expectation_is_refused() -> None:
    with pytest.raises(ValueError, match="table x: freshness, retention is empty"):
        Table("x", layer=Layer.RAW, freshness="", completeness="all", retention="")


def test_sections_show_sources_upstream_downstream_and_gate_thresholds() -> None:
    """Three toy jobs: the middle table's section lists its job, sources, the table it reads,
    the table that reads it, its gates with the coverage thresholds of docs/checks.md (90 %
    warn, 75 % fail, 20 securities), and its declared expectations."""
    registry = [
        toy("ids", ("securities",)),
        toy("bars", ("prices_daily",), reads=("securities",), sources=("files", "massive"),
            pre_gate=(c.securities_present,), post_gate=(c.date_coverage,)),
        toy("factors", ("adjustment_factors_daily",), reads=("prices_daily",), sources=()),
    ]
    text = render_lineage(registry)
    section = text.split("### stocks_research.prices_daily\n", 1)[1].split("###", 1)[0]
    assert section.strip().splitlines()[2:] == [
        "| layer | canonical |",
        "| written by | job `bars` |",
        "| what the job does | toy bars |",
        "| sources | `files`, `massive` |",
        "| upstream | `securities` |",
        "| downstream | `adjustment_factors_daily` |",
        "| pre-gate | `securities.non_empty` |",
        "| post-gate | `prices_daily.date_coverage` (warn_below=0.9, fail_below=0.75, "
        "min_securities=20) |",
        "| freshness | prices_daily fresh |",
        "| completeness | prices_daily whole |",
        "| retention | prices_daily kept |",
    ], section
    assert "| `stocks_research.adjustment_factors_daily` | derived | job `factors` | - | " \
           "`prices_daily` |" in text
    assert "  t_prices_daily -->|factors| t_adjustment_factors_daily" in text
    assert "  s_massive -->|bars| t_prices_daily" in text


def test_tables_nobody_declares_are_listed_as_unwritten() -> None:
    """With only a securities job registered, the other tables the migrations create are
    listed under 'no job writes yet'; the audit trail is always declared."""
    text = render_lineage([toy("ids", ("securities",))])
    unwritten = text.split("## Tables no job writes yet\n", 1)[1]
    assert "- `stocks_research.prices_daily`" in unwritten
    assert "- `stocks_research.macro_events`" in unwritten
    assert "securities`" not in unwritten and "ingestion." not in unwritten
    assert "### ingestion.job_runs\n" in text


def test_created_tables_are_those_of_a_migrated_database(db: str) -> None:
    """The migrations read as text give exactly the tables a migrated database has (the
    dropped ingestion.job_steps included out)."""
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT table_schema || '.' || table_name FROM "
                            "information_schema.tables WHERE table_type = 'BASE TABLE' AND "
                            "table_schema IN ('stocks_research', 'ingestion')").fetchall()
    assert sorted(created_tables()) == sorted(r[0] for r in rows)
    assert "ingestion.job_steps" not in created_tables()


def test_cli_prints_or_writes_the_document(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`stocksdb lineage` prints the document; `--out FILE` writes it, leaving no temporary
    file behind."""
    committed = render_lineage()
    code, out, err = stocksdb(capsys, "lineage")
    assert (code, out) == (0, committed), err
    target = tmp_path / "lineage.md"
    code, out, err = stocksdb(capsys, "lineage", "--out", str(target))
    assert code == 0, err
    assert out == f"lineage written to {target}\n"
    assert target.read_text() == committed
    assert [p.name for p in tmp_path.iterdir()] == ["lineage.md"]
