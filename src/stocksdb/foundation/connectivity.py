"""Connectivity of the operational backbone: the warehouse, the query cache and the telemetry
stream, each probed cheaply and reported as data (`stocksdb doctor`).

In:  Settings (where PostgreSQL, Redis and Kafka are; streaming on or off; the backbone mode).
Out: a ConnectivityReport with one ComponentReport per component, each `ok`, `degraded`, `down`
     or `disabled` with a reason, timings and what was found; require_backbone() raises before
     any work when STOCKSDB_BACKBONE_MODE=institutional lacks a component it requires.

The probes live in foundation/probes.py. They change nothing but one Redis key of their own
that expires in 10 s (the write check); they start no server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from stocksdb.config import Settings
from stocksdb.errors import BackboneUnavailableError

DEFAULT_TIMEOUT_S = 3.0


class ComponentStatus(StrEnum):
    """How one component answered its probe."""

    OK = "ok"                # reachable and doing everything the backbone asks of it
    DEGRADED = "degraded"    # reachable, but a check failed (writes refused, topic missing)
    DOWN = "down"            # unreachable, or required and not configured
    DISABLED = "disabled"    # not configured (or streaming off) and not required: not used


@dataclass(frozen=True)
class ComponentReport:
    """One component's probe: status, why, where it looked and what it found."""

    component: str                     # "postgres" | "redis" | "kafka"
    status: ComponentStatus
    reason: str                        # one line; for down/degraded it ends with what to do
    target: str = ""                   # where it looked, passwords masked ("" = nowhere)
    origin: str = ""                   # the setting that configured it, e.g. TIMESCALEDB_URL
    elapsed_ms: float = 0.0            # the whole probe, wall clock
    timings_ms: Mapping[str, float] = field(default_factory=dict)  # per step, in order
    facts: Mapping[str, Any] = field(default_factory=dict)         # versions, latency, topics

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"status": self.status.value, "reason": self.reason, "target": self.target,
                "origin": self.origin, "elapsed_ms": self.elapsed_ms,
                "timings_ms": dict(self.timings_ms), "facts": dict(self.facts)}


@dataclass(frozen=True)
class ConnectivityReport:
    """PostgreSQL, Redis and Kafka as probed at `checked_at`."""

    components: tuple[ComponentReport, ...]
    checked_at: datetime
    backbone_mode: str = "standard"

    @property
    def status(self) -> ComponentStatus:
        """down if any is down, else degraded if any is, else ok (disabled counts as ok)."""
        found = {c.status for c in self.components}
        for worst in (ComponentStatus.DOWN, ComponentStatus.DEGRADED):
            if worst in found:
                return worst
        return ComponentStatus.OK

    @property
    def exit_code(self) -> int:
        """0 when every component is ok or disabled, 1 when any is degraded or down."""
        return 0 if self.status is ComponentStatus.OK else 1

    def component(self, name: str) -> ComponentReport:
        """The report of `name` ("postgres", "redis" or "kafka")."""
        return next(c for c in self.components if c.component == name)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: overall status, when, the mode, and each component by name."""
        return {"status": self.status.value,
                "checked_at": self.checked_at.isoformat(timespec="seconds"),
                "backbone_mode": self.backbone_mode,
                "components": {c.component: c.as_dict() for c in self.components}}


def connectivity_report(settings: Settings, *,
                        timeout_s: float = DEFAULT_TIMEOUT_S) -> ConnectivityReport:
    """Probe PostgreSQL, Redis and Kafka once each; never raises for an unreachable one.

    `timeout_s` bounds each network wait (PostgreSQL's connect takes at least 2 s, libpq's
    minimum). In institutional mode a missing Redis, or Kafka with streaming on, is `down`.
    """
    from stocksdb.foundation.probes import probe_kafka, probe_postgres, probe_redis

    checked_at = datetime.now(UTC)
    required = settings.backbone_mode == "institutional"
    components = (probe_postgres(settings, timeout_s=timeout_s),
                  probe_redis(settings, timeout_s=timeout_s, required=required),
                  probe_kafka(settings, timeout_s=timeout_s))
    return ConnectivityReport(components, checked_at, settings.backbone_mode)


def require_backbone(settings: Settings, *,
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[ComponentReport, ...]:
    """In institutional mode, check that Redis (and Kafka when streaming is on) is configured
    and reachable; call it before any work. Returns the probes made (none in standard mode;
    Kafka is not probed with streaming off).

    Degraded counts as reachable: the run goes ahead and reports it.

    Raises:
        BackboneUnavailableError: a required component is not configured or not reachable;
            the message names the variable to set for each.
    """
    if settings.backbone_mode != "institutional":
        return ()
    from stocksdb.foundation.probes import probe_kafka, probe_redis

    probes: tuple[ComponentReport, ...] = (
        probe_redis(settings, timeout_s=timeout_s, required=True),)
    if settings.kafka_ingest_enable_streaming:
        probes += (probe_kafka(settings, timeout_s=timeout_s),)
    missing = [p for p in probes if p.status is ComponentStatus.DOWN]
    if missing:
        lines = "".join(f"\n  - {p.component}: {p.reason}" for p in missing)
        names = " and ".join(p.component for p in missing)
        required = " and ".join(p.component for p in probes)
        raise BackboneUnavailableError(
            f"STOCKSDB_BACKBONE_MODE=institutional requires {required}; {names} "
            f"{'is' if len(missing) == 1 else 'are'} unavailable, so nothing was done{lines}",
            components=tuple(p.component for p in missing))
    return probes
