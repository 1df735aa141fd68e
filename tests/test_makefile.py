"""The Makefile's install steps, read with `make -n` (what make would run) in a copy of the
repository's Makefile and pyproject.toml: nothing is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def make_n(workdir: Path, target: str) -> str:
    """What `make -n TARGET` would run in `workdir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    done = subprocess.run(["make", "-n", target], cwd=workdir, env=env, capture_output=True,
                          text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder with the Makefile and pyproject.toml, and no virtualenv."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def pip_installs(plan: str) -> list[str]:
    return [line for line in plan.splitlines() if "pip install" in line]


def test_demo_installs_runtime_dependencies_only_and_shows_progress(checkout: Path) -> None:
    """`make demo` on a fresh checkout installs `-e .` (never the dev extra), with pip's
    progress bar and without --quiet."""
    installs = pip_installs(make_n(checkout, "demo"))
    assert any(line.rstrip().endswith("-e .") for line in installs), installs
    assert not any("[dev]" in line for line in installs), installs
    assert all("--progress-bar on" in line and "--quiet" not in line for line in installs)


@pytest.mark.parametrize("target", ["test", "lint", "bench"])
def test_test_lint_and_bench_install_the_dev_extra(checkout: Path, target: str) -> None:
    """test, lint and bench (and so .ci/run) install the dev extra first."""
    installs = pip_installs(make_n(checkout, target))
    assert any("-e '.[dev]'" in line for line in installs), installs


def test_stamps_skip_installs_already_done(checkout: Path) -> None:
    """With both stamps newer than pyproject.toml, neither demo nor test installs again; with
    only the runtime stamp, test installs the dev extra and nothing else."""
    venv = checkout / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/python").touch(mode=0o755)
    (venv / ".installed-runtime").touch()
    assert pip_installs(make_n(checkout, "demo")) == []
    installs = pip_installs(make_n(checkout, "test"))
    assert len(installs) == 1 and "[dev]" in installs[0], installs
    (venv / ".installed-dev").touch()
    assert pip_installs(make_n(checkout, "test")) == []
