"""connectivity_report() over the three components, the overall status and exit code, and
require_backbone() in institutional mode, on real servers (test PostgreSQL, valkey-server)
and ports where nothing listens."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stocksdb.cache.server import EmbeddedValkey
from stocksdb.config import Settings
from stocksdb.errors import BackboneUnavailableError
from stocksdb.foundation.connectivity import (
    ComponentReport,
    ComponentStatus,
    ConnectivityReport,
    connectivity_report,
    require_backbone,
)
from tests.fix_backbone import unused_port

TIMEOUT_S = 1.0
OK, DEGRADED, DOWN, DISABLED = (ComponentStatus.OK, ComponentStatus.DEGRADED,
                                ComponentStatus.DOWN, ComponentStatus.DISABLED)


def statuses(report: ConnectivityReport) -> dict[str, str]:
    return {c.component: c.status.value for c in report.components}


@pytest.mark.parametrize(("found", "overall", "code"), [
    ((OK, OK, OK), OK, 0),
    ((OK, DISABLED, DISABLED), OK, 0),
    ((OK, DEGRADED, DISABLED), DEGRADED, 1),
    ((OK, DEGRADED, DOWN), DOWN, 1),
    ((DOWN, OK, OK), DOWN, 1),
])
def test_overall_status_is_the_worst_and_disabled_counts_as_ok(
        found: tuple[ComponentStatus, ...], overall: ComponentStatus, code: int) -> None:
    """down > degraded > ok; disabled is not a failure; exit 1 for degraded or down."""
    report = ConnectivityReport(
        tuple(ComponentReport(name, status, "r") for name, status in
              zip(("postgres", "redis", "kafka"), found, strict=True)),
        datetime(2024, 3, 1, tzinfo=UTC))
    assert (report.status, report.exit_code) == (overall, code)


def test_report_over_real_servers_is_json_ready(db: str, valkey_server: EmbeddedValkey) -> None:
    """PostgreSQL and Valkey up, streaming off: ok / ok / disabled, exit 0, and as_dict()
    round-trips through JSON with each component by name."""
    settings = Settings.from_env({"STOCKSDB_DSN": db, "STOCKSDB_REDIS_URL": valkey_server.url()})
    report = connectivity_report(settings, timeout_s=TIMEOUT_S)
    assert statuses(report) == {"postgres": "ok", "redis": "ok", "kafka": "disabled"}
    assert report.exit_code == 0
    data = json.loads(json.dumps(report.as_dict()))
    assert (data["status"], data["backbone_mode"]) == ("ok", "standard")
    assert list(data["components"]) == ["postgres", "redis", "kafka"]
    assert set(data["components"]["redis"]) == {"status", "reason", "target", "origin",
                                                "elapsed_ms", "timings_ms", "facts"}


def test_report_never_raises_when_everything_is_down(tmp_path: Path) -> None:
    """Embedded PostgreSQL stopped, Redis and Kafka refused: three `down`s, exit 1."""
    port = unused_port()
    settings = Settings.from_env({"STOCKSDB_HOME": str(tmp_path),
                                  "STOCKSDB_REDIS_URL": f"redis://127.0.0.1:{port}",
                                  "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
                                  "KAFKA_INGEST_ENABLE_STREAMING": "on"})
    report = connectivity_report(settings, timeout_s=TIMEOUT_S)
    assert statuses(report) == {"postgres": "down", "redis": "down", "kafka": "down"}
    assert (report.status, report.exit_code) == (DOWN, 1)


def test_institutional_report_marks_a_missing_redis_down(db: str) -> None:
    """In institutional mode an unconfigured Redis is required, so `down` (not disabled)."""
    settings = Settings.from_env({"STOCKSDB_DSN": db, "STOCKSDB_BACKBONE_MODE": "institutional"})
    report = connectivity_report(settings, timeout_s=TIMEOUT_S)
    assert statuses(report) == {"postgres": "ok", "redis": "down", "kafka": "disabled"}
    assert report.as_dict()["backbone_mode"] == "institutional"


# -- require_backbone -------------------------------------------------------------------------
def test_standard_mode_requires_nothing_and_probes_nothing() -> None:
    """Without institutional mode, nothing configured is fine: no probe, nothing raised."""
    assert require_backbone(Settings(), timeout_s=TIMEOUT_S) == ()


def test_institutional_without_redis_fails_naming_the_variable() -> None:
    """No Redis URL: BackboneUnavailableError (exit 1) naming STOCKSDB_REDIS_URL."""
    settings = Settings.from_env({"STOCKSDB_BACKBONE_MODE": "institutional"})
    with pytest.raises(BackboneUnavailableError) as caught:
        require_backbone(settings, timeout_s=TIMEOUT_S)
    assert str(caught.value) == (
        "STOCKSDB_BACKBONE_MODE=institutional requires redis; redis is unavailable, so nothing "
        "was done\n  - redis: not configured, and institutional mode requires it; set "
        "STOCKSDB_REDIS_URL (or REDIS_URL)")
    assert (caught.value.components, caught.value.exit_code) == (("redis",), 1)


def test_institutional_with_redis_up_and_streaming_off_passes(
        valkey_server: EmbeddedValkey) -> None:
    """Redis reachable, streaming off: Kafka is not needed, so not probed."""
    settings = Settings.from_env({"STOCKSDB_BACKBONE_MODE": "institutional",
                                  "REDIS_URL": valkey_server.url(),
                                  "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}"})
    probes = require_backbone(settings, timeout_s=TIMEOUT_S)
    assert [(p.component, p.status) for p in probes] == [("redis", OK)]


def test_institutional_with_streaming_on_requires_a_reachable_kafka(
        valkey_server: EmbeddedValkey) -> None:
    """Streaming on and no broker listening: fails on Kafka alone, naming its variable."""
    settings = Settings.from_env({"STOCKSDB_BACKBONE_MODE": "institutional",
                                  "REDIS_URL": valkey_server.url(),
                                  "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}",
                                  "KAFKA_INGEST_ENABLE_STREAMING": "1"})
    with pytest.raises(BackboneUnavailableError) as caught:
        require_backbone(settings, timeout_s=TIMEOUT_S)
    message = str(caught.value)
    assert message.startswith("STOCKSDB_BACKBONE_MODE=institutional requires redis and kafka; "
                              "kafka is unavailable, so nothing was done\n  - kafka: "), message
    assert "check KAFKA_BOOTSTRAP_SERVERS" in message and caught.value.components == ("kafka",)


def test_institutional_lists_every_missing_component() -> None:
    """Neither Redis nor brokers configured, streaming on: one error naming both variables."""
    settings = Settings.from_env({"STOCKSDB_BACKBONE_MODE": "institutional",
                                  "KAFKA_INGEST_ENABLE_STREAMING": "yes"})
    with pytest.raises(BackboneUnavailableError) as caught:
        require_backbone(settings, timeout_s=TIMEOUT_S)
    lines = str(caught.value).splitlines()
    assert lines[0] == ("STOCKSDB_BACKBONE_MODE=institutional requires redis and kafka; redis "
                        "and kafka are unavailable, so nothing was done")
    assert "set STOCKSDB_REDIS_URL" in lines[1] and "set KAFKA_BOOTSTRAP_SERVERS" in lines[2]
    assert caught.value.components == ("redis", "kafka")


def test_every_status_and_connection_variable_is_documented() -> None:
    """docs/backbone.md explains each component status and each TIMESCALEDB_* variable."""
    from stocksdb.config import _TIMESCALE_PARTS, _TIMESCALE_TLS

    text = (Path(__file__).resolve().parents[2] / "docs" / "backbone.md").read_text()
    names = [f"`{s.value}`" for s in ComponentStatus]
    names += [f"`{var}`" for var, _ in _TIMESCALE_PARTS + _TIMESCALE_TLS]
    names += ["`TIMESCALEDB_URL`", "`STOCKSDB_BACKBONE_MODE`"]
    missing = [name for name in names if name not in text]
    assert not missing, f"document these in docs/backbone.md: {missing}"
