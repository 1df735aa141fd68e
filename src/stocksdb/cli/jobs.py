"""`stocksdb jobs`: the registered jobs, in run order, with their sources and dependencies."""

from __future__ import annotations

import click

from stocksdb.cli.options import echo_frame, format_option


@click.command()
@format_option(json_alias=True)
def jobs(fmt: str) -> None:
    """List the jobs `stocksdb run` knows, in dependency order: each job's sources (the first is
    the default of --source; none: it reads only the database), the jobs it depends on, and the
    run options it takes."""
    import pandas as pd

    from stocksdb.jobs.registry import jobs as registered

    listed = registered()
    if fmt == "table":
        _render(listed)
        return
    echo_frame(pd.DataFrame(
        [{"job": j.name, "sources": list(j.sources), "depends_on": list(j.depends_on),
          "options": sorted(j.options), "atomic": j.atomic, "summary": j.summary}
         for j in listed], columns=["job", "sources", "depends_on", "options", "atomic",
                                    "summary"]), fmt)


def _render(listed: tuple[object, ...]) -> None:
    """Two lines per job: its sources, dependencies and options, then its summary."""
    from stocksdb.jobs.registry import Job

    for j in listed:
        assert isinstance(j, Job)
        sources = ", ".join(j.sources) or "(database only)"
        after = f"; after {', '.join(j.depends_on)}" if j.depends_on else ""
        options = "; options " + ", ".join(f"--{o.replace('_', '-')}" for o in sorted(j.options)) \
            if j.options else ""
        click.echo(f"{j.name}: sources {sources}{after}{options}\n    {j.summary}")
