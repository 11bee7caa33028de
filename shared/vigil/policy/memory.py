"""What the alert policy remembers about one check between runs (packed into the state)."""

from __future__ import annotations

from typing import Any, NamedTuple

from vigil.alerts.document import AlertDocument
from vigil.results import Status


class Held(NamedTuple):
    """A failure/degraded alert held back by ``depends_on``.

    ``parent``: the failing parent (``group/check``), or None while the alert waits
    one run for a parent whose group has not run yet for this scheduled time.
    """

    document: AlertDocument
    parent: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"doc": self.document.to_dict(), "p": self.parent}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Held:
        return cls(AlertDocument.from_dict(data["doc"]), data.get("p"))


class AlertMemory(NamedTuple):
    """``alerted``: the status of the last alert sent (a check never alerted counts as
    healthy); ``alerted_at``: scheduled time of the failure alert or last reminder;
    ``observations``: (epoch seconds, failed) of the counted runs in the error-rate
    window; ``maintenance``: the window the check was in at its last run."""

    alerted: str = Status.HEALTHY
    alerted_at: float | None = None
    held: Held | None = None
    observations: tuple[tuple[int, bool], ...] = ()
    error_rate_open: bool = False
    maintenance: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.alerted != Status.HEALTHY:
            out["a"] = self.alerted
        if self.alerted_at is not None:
            out["t"] = self.alerted_at
        if self.held is not None:
            out["h"] = self.held.to_dict()
        if self.observations:
            # (delta seconds, failed) packed as delta * 2 + failed: compresses well
            packed, previous = [], 0
            for moment, failed in self.observations:
                packed.append((moment - previous) * 2 + int(failed))
                previous = moment
            out["w"] = packed
        if self.error_rate_open:
            out["e"] = 1
        if self.maintenance:
            out["m"] = self.maintenance
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AlertMemory:
        if not data:
            return cls()
        observations, moment = [], 0
        # "w" (the error-rate window); states saved before it was named so say "o"
        for value in data.get("w", data.get("o", [])):
            moment += value // 2
            observations.append((moment, bool(value % 2)))
        return cls(
            alerted=data.get("a", Status.HEALTHY),
            alerted_at=data.get("t"),
            held=Held.from_dict(data["h"]) if data.get("h") else None,
            observations=tuple(observations),
            error_rate_open=bool(data.get("e")),
            maintenance=data.get("m"),
        )
