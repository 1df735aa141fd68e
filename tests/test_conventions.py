"""Conventions of the test suite itself: test modules share code only through fix_*.py."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    """`tests.jobs.test_prices` and the like: a module whose last part starts with test_."""
    parts = dotted.split(".")
    return parts[0] == "tests" and parts[-1].startswith("test_")


def imported_test_modules(source: str) -> list[str]:
    """The test modules that `source` imports, in any spelling of the import statement."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] if _is_test_module(node.module) else []
            found += [f"{node.module}.{a.name}" for a in node.names
                      if _is_test_module(f"{node.module}.{a.name}")]
        elif isinstance(node, ast.ImportFrom):   # relative: `from . import test_x`, `from .test_x`
            names = [node.module or ""] + [a.name for a in node.names]
            found += [f"{'.' * node.level}{n}" for n in names if n.startswith("test_")]
    return found


def test_no_test_module_imports_another() -> None:
    """Shared builders live in tests/fix_*.py; a test module importing another couples them
    (and runs the other's module-level code)."""
    offenders = {str(path.relative_to(TESTS)): imported
                 for path in sorted(TESTS.rglob("test_*.py"))
                 if (imported := imported_test_modules(path.read_text(encoding="utf-8")))}
    assert not offenders, f"move the shared code to a tests/fix_*.py module: {offenders}"


def test_the_guard_sees_every_spelling_of_such_an_import() -> None:
    """Each way of importing a test module is caught; fixture modules are allowed."""
    cases = {
        "from tests.jobs.test_prices import bars": ["tests.jobs.test_prices"],
        "import tests.jobs.test_prices": ["tests.jobs.test_prices"],
        "from tests.jobs import test_prices": ["tests.jobs.test_prices"],
        "from .test_prices import bars": [".test_prices"],
        "from . import test_prices": [".test_prices"],
        "def f():\n    from tests.test_api import x\n": ["tests.test_api"],
        "from tests.fix_data import make_bar\nimport tests.fix_pg": [],
        "from stocksdb.jobs import test_helpers": [],
    }
    got = {source: imported_test_modules(source) for source in cases}
    assert got == cases
