"""The job registry: every job is declared once, as data, in its own module.

A job module under `stocksdb.jobs` declares `JOB = Job(...)`: its name, the function that does
the work, its sources (name -> a function reading the input from that source), its pre- and
post-gate checks, whether its writes and post-gate share one transaction, the jobs it depends
on, the tables it writes and reads (its locks), and the lineage facts of each table it writes
(`tables`: layer, freshness, completeness, retention; db/lineage.py). `jobs()` finds every
such module and returns the jobs in dependency order. The runner, the CLI, the gates, bootstrap,
rebuild and the lineage document all read this registry; adding a job is adding a module (and
a migration if it has tables).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from stocksdb.errors import InputError, UnknownJobError, UnsupportedSourceError
from stocksdb.jobs.base import JobContext, Outcome, RunRequest

if TYPE_CHECKING:
    from stocksdb.config import Settings
    from stocksdb.db.lineage import Table
    from stocksdb.domain.adjustments import AdjustmentMethod
    from stocksdb.gates.base import GateContext
    from stocksdb.gates.gate import Check, Phase

T = TypeVar("T")

# The options of `stocksdb run` a job may take (besides --source/--path).
OPTIONS = frozenset({"start", "end", "days", "symbols", "series", "method", "max_shrink"})


@dataclass(frozen=True, kw_only=True)
class Job(Generic[T]):
    """One job, as data. `T` is what its sources read and its `run` consumes."""

    name: str
    summary: str                                   # one line, for the docs
    run: Callable[[JobContext, T], Outcome]
    sources: Mapping[str, Callable[[JobContext], T]] = field(default_factory=dict)
    pre_gate: tuple[Check, ...] = ()
    post_gate: tuple[Check, ...] = ()
    atomic: bool = False         # writes and post-gate in one transaction: a failed gate writes
    depends_on: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()                   # tables (stocks_research), locked exclusive
    reads: tuple[str, ...] = ()                    # tables another job writes, locked shared
    options: frozenset[str] = frozenset()          # of OPTIONS
    defaults: Mapping[str, Any] = field(default_factory=dict)   # option -> default value
    # Bootstrap/rebuild: why this job has nothing to do for a profile, source tree and settings
    # (None: it has work), e.g. no FRED key.
    no_input: Callable[[str | None, Path | None, Settings], str | None] | None = None
    # Bootstrap/rebuild pass their --start/--end to the job (when it takes them); False for a
    # job whose dates mean something else (macro observation dates: history loads whole).
    bootstrap_dates: bool = True
    # One Table per table in `writes`: its layer and SLA (docs/data_lineage.md is built from it).
    tables: tuple[Table, ...] = ()

    def __post_init__(self) -> None:
        unknown = (self.options | set(self.defaults)) - OPTIONS
        if unknown:
            raise ValueError(f"job {self.name}: unknown options {sorted(unknown)}")

    @property
    def dated(self) -> bool:
        """The job walks trading sessions (it takes --start/--end/--days)."""
        return "start" in self.options

    def source_for(self, profile: str | None) -> str | None:
        """The source this job uses in a bootstrap/rebuild whose data comes from `profile`:
        the profile itself when the job has it, else the job's first other remote source
        (fundamentals read 'sec' when prices come from 'massive'); None for database-only
        jobs."""
        if not self.sources:
            return None
        if profile in self.sources:
            return profile
        remote = [s for s in self.sources if s != "files"]
        return remote[0] if remote and profile != "files" else next(iter(self.sources))

    def resolve(self, request: RunRequest) -> RunRequest:
        """`request` with its source chosen and the job's defaults filled in.

        Raises:
            UnsupportedSourceError: the job does not have `request.source`.
            InputError: an option the job does not take was given (it would be ignored).
        """
        ignored = sorted(o for o in OPTIONS - self.options if getattr(request, o) is not None)
        if ignored:
            takes = ", ".join(f"--{o.replace('_', '-')}" for o in sorted(self.options))
            raise InputError(f"job {self.name} does not take "
                             f"{', '.join('--' + o.replace('_', '-') for o in ignored)}; it "
                             f"takes {takes or 'no options besides --source/--path'}")
        source = request.source
        if source is None:
            source = next(iter(self.sources), None)
        elif source not in self.sources:
            has = (f"has sources {', '.join(self.sources)}" if self.sources
                   else "has no sources (it reads only the database); drop --source")
            raise UnsupportedSourceError(f"job {self.name} {has}")
        filled = {k: v for k, v in self.defaults.items() if getattr(request, k) is None}
        return replace(request, source=source, **filled)

    def checks(self, phase: Phase) -> tuple[Check, ...]:
        """The checks of the job's pre- or post-gate."""
        return self.pre_gate if phase == "pre" else self.post_gate

    def gate_context(self, *, method: AdjustmentMethod | None = None) -> GateContext:
        """What a check knows outside a run (validate, bootstrap's final validation)."""
        from stocksdb.gates.base import GateContext

        return GateContext(self.name, method=method or self.defaults.get("method"))

    def read(self, ctx: JobContext) -> T:
        """The job's input from the context's source (None for database-only jobs)."""
        if not self.sources:
            return None  # type: ignore[return-value]  # T is None for database-only jobs
        return self.sources[ctx.source](ctx)


@cache
def jobs() -> tuple[Job[Any], ...]:
    """Every job declared in a module under `stocksdb.jobs`, in dependency order."""
    import stocksdb.jobs as package

    found: dict[str, Job[Any]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for job in (v for v in vars(module).values() if isinstance(v, Job)):
            if found.setdefault(job.name, job) is not job:
                raise ValueError(f"job {job.name} is declared twice")
    return in_dependency_order(found.values())


def in_dependency_order(declared: Iterable[Job[Any]]) -> tuple[Job[Any], ...]:
    """`declared`, each job after the jobs it depends on; ties broken by visiting names
    alphabetically (a depth-first post-order), so the order never depends on import order.

    Raises:
        ValueError: a dependency is not declared, or jobs depend on each other in a cycle.
    """
    found = {j.name: j for j in declared}
    ordered: dict[str, Job[Any]] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in path:
            raise ValueError(f"jobs depend on each other in a cycle: "
                             f"{' -> '.join((*path, name))}")
        if name not in found:
            raise ValueError(f"job {path[-1]} depends on {name}, which is not declared")
        for dep in found[name].depends_on:
            visit(dep, (*path, name))
        ordered[name] = found[name]

    for name in sorted(found):
        visit(name, ())
    return tuple(ordered.values())


def job_names() -> list[str]:
    """Registered jobs, in run order."""
    return [j.name for j in jobs()]


def get_job(name: str) -> Job[Any]:
    """The job called `name`.

    Raises:
        UnknownJobError: no such job.
    """
    for job in jobs():
        if job.name == name:
            return job
    raise UnknownJobError(f"job {name!r} is unknown; expected one of {job_names()}")


def all_sources() -> list[str]:
    """Every source some job has, in first-seen order (the choices of --source)."""
    return list(dict.fromkeys(s for j in jobs() for s in j.sources))
