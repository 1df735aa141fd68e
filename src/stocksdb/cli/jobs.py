"""`stocksdb jobs`: the registered jobs, in run order, with their sources and dependencies."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
def jobs(as_json: bool) -> None:
    """List the jobs `stocksdb run` knows, in dependency order: each job's sources (the first is
    the default of --source; none: it reads only the database), the jobs it depends on, and the
    run options it takes."""
    from stocksdb.jobs.registry import jobs as registered

    listed = registered()
    if as_json:
        click.echo(json.dumps([{"job": j.name, "sources": list(j.sources),
                                "depends_on": list(j.depends_on), "options": sorted(j.options),
                                "atomic": j.atomic, "summary": j.summary} for j in listed],
                              indent=2))
        return
    for j in listed:
        sources = ", ".join(j.sources) or "(database only)"
        after = f"; after {', '.join(j.depends_on)}" if j.depends_on else ""
        options = "; options " + ", ".join(f"--{o.replace('_', '-')}" for o in sorted(j.options)) \
            if j.options else ""
        click.echo(f"{j.name}: sources {sources}{after}{options}\n    {j.summary}")
