"""The fence against counting a run twice: which scheduled times the state already holds.

The group state is the only fence. Each saved state records the run keys
(scheduled times) folded into it over the last ``WINDOW_S`` of scheduled time,
and who folded the most recent ones (the invocation id). A retry can then
always tell "already counted" from "never counted" by re-reading the state:

- a save whose response was lost: the re-read state names this invocation as
  the folder of the run, so the save took effect;
- a repeated delivery: the run key is there, folded by someone else;
- a save that failed: the run key is absent, so fold again.

A run more than ``WINDOW_S`` older than the newest folded run is "stale" and
never counted: its results would come too late to mean anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vigil.times import parse_time

WINDOW_S = 86_400  # a day of scheduled time
OWNERS_KEPT = 32  # the newest run keys remember who folded them


def _ms(run_key: str) -> int:
    return round(parse_time(run_key).timestamp() * 1000)


@dataclass(frozen=True)
class RunFence:
    """Run keys folded into a state (as epoch milliseconds), and the owners of the newest."""

    folded_ms: tuple[int, ...] = ()  # sorted ascending
    owners: dict[str, str] = field(default_factory=dict)  # run key -> invocation id

    def holds(self, run_key: str) -> bool:
        return run_key in self.owners or _ms(run_key) in set(self.folded_ms)

    def owner(self, run_key: str) -> str | None:
        return self.owners.get(run_key)

    def is_stale(self, run_key: str) -> bool:
        """True for a run older than the window behind the newest folded run."""
        return bool(self.folded_ms) and _ms(run_key) < self.folded_ms[-1] - WINDOW_S * 1000

    def add(self, run_key: str, owner: str) -> RunFence:
        moment = _ms(run_key)
        newest = max(moment, self.folded_ms[-1]) if self.folded_ms else moment
        kept = sorted({m for m in (*self.folded_ms, moment) if m >= newest - WINDOW_S * 1000})
        owners = {**self.owners, run_key: owner}
        if len(owners) > OWNERS_KEPT:
            owners = dict(sorted(owners.items(), key=lambda kv: _ms(kv[0]))[-OWNERS_KEPT:])
        return RunFence(tuple(kept), owners)

    def to_dict(self) -> dict[str, Any]:
        # Deltas: a regular schedule compresses to almost nothing.
        deltas = [b - a for a, b in zip((0, *self.folded_ms), self.folded_ms, strict=False)]
        return {"d": deltas, "by": self.owners}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunFence:
        if not data:
            return cls()
        folded, total = [], 0
        for delta in data.get("d", []):
            total += delta
            folded.append(total)
        # "by": who folded the newest runs; states saved before it was named say "o"
        return cls(tuple(folded), dict(data.get("by", data.get("o", {}))))
