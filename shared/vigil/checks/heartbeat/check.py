"""A heartbeat check: judged, at its run's scheduled time, from what its job pinged.

Nothing is probed over the network: the runner reads the pings of its run's heartbeat
checks before the checks start (``CheckResources.heartbeats``, one read for all of
them) and each check judges its own (``vigil.pings.judge``): on time is healthy,
late is degraded, past grace, failed or stuck is unhealthy; the duration of the last
finished run is the latency.
"""

from __future__ import annotations

from vigil.checks.base import Check, Probe
from vigil.checks.heartbeat.config import HeartbeatCheckConfig
from vigil.exceptions import CheckSetupError
from vigil.pings import judge


class HeartbeatCheck(Check):
    config: HeartbeatCheckConfig

    async def probe(self) -> Probe:
        view = self.resources.heartbeats.get(self.config.name)
        if view is None:  # the runner could not read its pings (its log says why)
            raise CheckSetupError("the pings of this heartbeat check could not be read")
        cfg = self.config
        verdict = judge(
            view.summary,
            view.at,
            expected_after=cfg.expected_after,
            grace=cfg.grace_span,
            max_duration=cfg.max_duration_span,
            first_seen=view.first_seen,
        )
        if verdict.status == "unhealthy":
            return Probe(False, verdict.reason, verdict.latency_ms, verdict.details)
        warning = verdict.reason if verdict.status == "degraded" else None
        return Probe(True, verdict.reason, verdict.latency_ms, verdict.details, warning=warning)
