"""The README's tour (its first ```sh block) runs line by line with bash -e, where `make demo`
leaves a user: `sample/` already written. Each line runs as written, with two stand-ins: the
virtualenv's activation is a PATH holding `stocksdb` and `python`, and `stocksdb db start` is
the test server already running (STOCKSDB_DSN)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fix_cli import stocksdb

README = Path(__file__).resolve().parents[1] / "README.md"

# Lines the test stands in for, and why.
STAND_INS = {
    "source .venv/bin/activate": "PATH holds stocksdb and python",
    "stocksdb db start": "the test database's server is running",
}


def tour_block(markdown: str) -> str:
    """The first ```sh block after the "## A tour" heading."""
    tour = markdown[markdown.index("## A tour"):]
    found = re.search(r"^```sh\n(.*?)^```$", tour, flags=re.M | re.S)
    assert found, "README has no ```sh block in its tour"
    return found.group(1)


def as_script(block: str) -> str:
    """The block with the stand-ins replaced by no-ops (each still echoed by bash -x)."""
    lines = []
    for line in block.splitlines():
        command = line.split("#", 1)[0].strip()
        lines.append(f": {command}" if command in STAND_INS else line)
    return "\n".join(lines) + "\n"


def user_path(tmp_path: Path) -> str:
    """A PATH whose `stocksdb` and `python` are this interpreter's (the activated venv)."""
    bin_dir = tmp_path / "venv-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "stocksdb"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m stocksdb "$@"\n')
    wrapper.chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def test_tour_stand_ins_are_in_the_tour() -> None:
    """The lines the test replaces are still the tour's (else it would test another tour)."""
    commands = {line.split("#", 1)[0].strip()
                for line in tour_block(README.read_text(encoding="utf-8")).splitlines()}
    assert set(STAND_INS) <= commands, sorted(commands)


def test_readme_tour_runs_line_by_line_after_make_demo(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every line of the tour exits 0 where `make demo` left a user (sample/ written, here
    with 50 securities over the default dates); the tour's own `stocksdb sample sample/`
    keeps that sample."""
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    code, _, err = stocksdb(capsys, "sample", str(workdir / "sample"), "--securities", "50")
    assert code == 0, err
    env = {**os.environ, "PATH": user_path(tmp_path), "STOCKSDB_DSN": db,
           "STOCKSDB_HOME": str(tmp_path / "home")}
    script = as_script(tour_block(README.read_text(encoding="utf-8")))
    done = subprocess.run(["bash", "-euxo", "pipefail", "-c", script], cwd=workdir, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=900, check=False)
    tail = "\n".join(done.stderr.splitlines()[-25:])
    assert done.returncode == 0, f"a tour line failed (bash -x trace, last lines):\n{tail}"
    assert "kept as it is" in done.stdout, "the tour's `stocksdb sample` kept make demo's"
