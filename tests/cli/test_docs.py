"""Docs cannot drift: CLI reference, reason codes and settings are documented."""

from __future__ import annotations

from pathlib import Path

from stocksdb.cli.docs import render_cli_docs
from stocksdb.config import SETTING_HELP, Settings
from stocksdb.domain.reasons import GateReason, Reason

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_cli_reference_is_current() -> None:
    """docs/cli.md equals what `python -m stocksdb.cli.docs` renders now."""
    assert (DOCS / "cli.md").read_text() == render_cli_docs(), \
        "regenerate: python -m stocksdb.cli.docs > docs/cli.md"


def test_every_reason_code_is_documented() -> None:
    """Each Reason value appears as `code` in docs/checks.md."""
    text = (DOCS / "checks.md").read_text()
    missing = [r.value for r in Reason if f"`{r.value}`" not in text]
    assert not missing, f"document these reason codes in docs/checks.md: {missing}"


def test_every_setting_is_declared_with_help() -> None:
    """Every Settings field that is configurable has a help line (and so a docs row)."""
    fields = set(Settings.__dataclass_fields__) - {"pg_env"}
    assert fields == set(SETTING_HELP), fields ^ set(SETTING_HELP)


def test_every_gate_check_and_reason_is_documented() -> None:
    """Each check every gate runs, and each gate reason code, appears in docs/checks.md (both
    are data of the checks: no database needed)."""
    from stocksdb.gates.base import GateCheck
    from stocksdb.gates.gate import GATES

    text = (DOCS / "checks.md").read_text()
    checks = [check for gate in GATES.values() for check in (*gate.pre, *gate.post)]
    declared = [check for check in checks if isinstance(check, GateCheck)]
    assert declared == checks, "every gate check is a GateCheck (name and reason as data)"
    used = {check.reason for check in declared}
    assert used == set(GateReason), f"gate reasons no check uses: {set(GateReason) - used}"
    names = {check.name for check in declared} | {r.value for r in GateReason}
    missing = sorted(name for name in names if f"`{name}`" not in text)
    assert not missing, f"document these checks / reason codes in docs/checks.md: {missing}"
