"""What the lineage document knows about a table beyond the job registry: its layer and the
expectations on it (freshness, completeness, retention), declared as data next to its writer.

A job declares the tables it writes in `Job(tables=(Table(...), ...))` (jobs/registry.py); the
audit trail (schema `ingestion`), written by the runner and the migrator rather than by one
job, is declared here, next to the migrations that create it. `created_tables()` reads the
shipped migrations, so the document can list the tables no one declares without a database.
ops/lineage.py renders docs/data_lineage.md from all three.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum

DATA_SCHEMA = "stocks_research"
AUDIT_SCHEMA = "ingestion"


class Layer(StrEnum):
    """How far a table is from the vendor (LAYER_MEANING says it in a sentence)."""

    RAW = "raw"
    CANONICAL = "canonical"
    DERIVED = "derived"
    AUDIT = "audit"


LAYER_MEANING = {
    Layer.RAW: "what a vendor stated, kept whole (every filing, every vintage) so the layers "
               "above can be derived again",
    Layer.CANONICAL: "one checked row per fact, keyed our way (security_id, session), loaded "
                     "from a source by its job",
    Layer.DERIVED: "computed from other tables only, by a job without sources: rebuilt from "
                   "the database, without any vendor",
    Layer.AUDIT: "what the runs did (runs, gate results, rejected rows, files read), schema "
                 "`ingestion`",
}


@dataclass(frozen=True)
class Table:
    """One table's lineage facts. Freshness, completeness and retention are sentences for the
    reader; write the numbers of a check from its constants (f-strings) so they cannot drift.

    Raises:
        ValueError: an expectation is empty (write 'none' if there truly is none).
    """

    name: str                  # as in Job.writes (schema stocks_research), or "ingestion.x"
    _: KW_ONLY
    layer: Layer
    freshness: str             # when a new fact is expected in the table
    completeness: str          # which rows are expected, and what a missing one becomes
    retention: str             # how long rows stay, and what removes one
    writer: str = ""           # who writes it, for tables no job declares (the audit trail)

    def __post_init__(self) -> None:
        empty = [f for f in ("freshness", "completeness", "retention") if not getattr(self, f)]
        if empty:
            raise ValueError(f"table {self.name}: {', '.join(empty)} is empty; say what is "
                             "expected, or 'none'")

    @property
    def qualified(self) -> str:
        """schema.table (a bare name is in stocks_research)."""
        return self.name if "." in self.name else f"{DATA_SCHEMA}.{self.name}"


_KEPT = ("forever: stocksdb prunes nothing; every backup holds it, and a cold rebuild starts a "
         "new history (the backup taken before the drop keeps the old one)")
_RUNS = "rows of a run are removed only with its job_runs row (ON DELETE CASCADE)"

AUDIT_TABLES: tuple[Table, ...] = (
    Table("ingestion.schema_migrations", layer=Layer.AUDIT,
          writer="`stocksdb db migrate` (db/migrate.py)",
          freshness="as each migration is applied, in the migration's own transaction",
          completeness="one row per applied migration file with its sha256; an edited applied "
                       "file is an error, never skipped",
          retention=_KEPT),
    Table("ingestion.job_runs", layer=Layer.AUDIT,
          writer="every `stocksdb run` (jobs/runner.py)",
          freshness="a row as the run starts (status running), closed as it ends; a run whose "
                    "process died is closed 'abandoned' by the next run or `db status`",
          completeness="one row per run, refused, failed and interrupted ones included, with "
                       "its parameters (never secrets), counts and error",
          retention=_KEPT),
    Table("ingestion.gate_results", layer=Layer.AUDIT,
          writer="the runner, after each gate phase (gates/gate.py record_gate)",
          freshness="as each gate phase of a run ends",
          completeness="every result of every check of each phase, passes included, with up "
                       "to five example keys and the observed values",
          retention=f"{_KEPT}; {_RUNS}"),
    Table("ingestion.rejected_rows", layer=Layer.AUDIT,
          writer="the jobs, through jobs/base.py write_rejected",
          freshness="in the transaction that loads the rest of the input (per date for "
                    "prices_daily)",
          completeness="every input row not loaded, with its reason code (docs/checks.md), "
                       "where it came from and the raw row",
          retention=f"{_KEPT}; {_RUNS}"),
    Table("ingestion.source_files", layer=Layer.AUDIT,
          writer="job `prices_daily`, one row per day file",
          freshness="in the transaction that merges the day file's bars",
          completeness="one row per day file loaded (source, key): size, etag, sha256, rows "
                       "and the run that last loaded it; a failed date records none",
          retention=f"{_KEPT}; loading a file again updates its row"),
    Table("ingestion.quality_findings", layer=Layer.AUDIT,
          writer="jobs `corporate_actions` (conflicting duplicates) and `prices_daily` (false "
                 "ticks, jobs/prices_ticks.py); `stocksdb reconcile` (ops/reconcile.py, under "
                 "a `reconcile` job_runs row)",
          freshness="corporate_actions: in the run's transaction, where its post-gate reads "
                    "them; prices_daily: in a transaction of their own after the run's sessions, "
                    "before its post-gate",
          completeness="every conflicting duplicate of a batch, naming both values and their "
                       "source rows; they refuse the atomic run, which is rolled back with "
                       "them, so the kept evidence is the gate's examples in gate_results. "
                       "Every false tick of a prices_daily run's range (severity warn), kept "
                       "with the run",
          retention=f"{_KEPT}; {_RUNS}"),
)

_DDL = re.compile(r"\b(CREATE|DROP)\s+TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(\w+\.\w+)",
                  re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")


def created_tables() -> list[str]:
    """schema.table of every table the migrations (and the migration ledger) leave in the
    database, in the order they were first created. (A migration renaming a table would need
    teaching here; tests/test_lineage.py compares with a migrated database.)"""
    from stocksdb.db.migrate import LEDGER_DDL, available_migrations

    tables: dict[str, None] = {}
    for text in (LEDGER_DDL, *(m.sql for m in available_migrations())):
        for verb, name in _DDL.findall(_COMMENT.sub("", text)):
            if verb.upper() == "CREATE":
                tables.setdefault(name.lower(), None)
            else:
                tables.pop(name.lower(), None)
    return list(tables)
