"""The alert policy's memory through every store (DynamoDB on moto, and the in-memory fake):
what is saved is what a later run reads, so a held alert, an open error-rate episode, a
reminder's anchor and a maintenance window survive between invocations."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.policy_sim import Sim, config, tcp
from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.policy.memory import AlertMemory, Held

HELD = AlertDocument(
    AlertEvent.DEGRADED,
    "web",
    "api",
    "degraded",
    "healthy",
    "2026-11-30T00:01:00Z",
    "slow: 2.5 s ≥ 2 s",
    "web/api/degraded@2026-11-30T00:01:00Z",
    {"latency_ms": 2500.0, "after_maintenance": "deploy"},
)


def test_every_field_of_the_memory_round_trips(store):
    memory = {
        "api": AlertMemory(
            alerted="unhealthy",
            alerted_at=1_795_996_860.0,
            held=Held(HELD, "data/db"),
            observations=tuple((1_795_996_800 + 60 * i, i % 3 == 0) for i in range(60)),
            error_rate_open=True,
            maintenance="deploy",
        ),
        "web": AlertMemory(held=Held(HELD, None)),  # waiting one run for another group
        "quiet": AlertMemory(),
    }
    state = replace(store.load_state("web", 0), memory=memory)
    store.save_state(state)
    loaded = store.load_state("web", 0)
    assert loaded.memory["api"] == memory["api"]
    assert loaded.memory["web"] == memory["web"]
    assert loaded.memory.get("quiet", AlertMemory()) == AlertMemory()
    assert loaded.memory["api"].held.document.to_dict() == HELD.to_dict()


def remembered(memory: dict[str, AlertMemory]) -> dict[str, AlertMemory]:
    """A check's default memory may be left out of the stored state: it reads back the same."""
    return {name: m for name, m in memory.items() if m != AlertMemory()}


def test_a_run_continued_from_the_saved_state_alerts_as_if_it_had_never_been_saved(store):
    """Fold a sequence, saving and reloading the state after every run; the alerts are
    those of the same folds kept in memory: reminders, error rate, held and released."""
    vigil = config(
        {
            "core": [
                tcp("db", failure_threshold=1),
                tcp(
                    "api",
                    depends_on="db",
                    failure_threshold=2,
                    reminder_every="2m",
                    error_rate={"window": "10m", "above": 30, "min_runs": 3},
                ),
            ]
        }
    )
    statuses = [
        *[("healthy", "healthy")] * 3,
        ("unhealthy", "unhealthy"),  # db down
        ("unhealthy", "unhealthy"),  # api's failure confirmed, held by db
        ("healthy", "unhealthy"),  # db back: api's held failure goes out
        ("healthy", "unhealthy"),
        ("healthy", "unhealthy"),  # 2 minutes after the failure alert: a reminder
        ("healthy", "healthy"),
        ("healthy", "error"),
        ("healthy", "healthy"),  # 1 of 3 runs since the recovery failed: error_rate
        *[("healthy", "healthy")] * 8,  # 1 of 7 (under 15%) at 00:14: cleared
    ]
    kept, saved = Sim.of(vigil, "core"), Sim.of(vigil, "core")
    saved.state = store.load_state("core", 0)
    for minute, (db, api) in enumerate(statuses):
        kept.step(60 * minute, {"db": db, "api": api})
        saved.step(60 * minute, {"db": db, "api": api})
        store.save_state(saved.state)
        saved.state = store.load_state("core", 0)
        assert remembered(saved.state.memory) == remembered(kept.state.memory), minute
    alerts = [a.to_dict() for a in saved.alerts("api")]
    assert alerts == [a.to_dict() for a in kept.alerts("api")]
    assert [(a["event"], a["timestamp"][11:16], a["details"].get("held_by")) for a in alerts] == [
        ("failure", "00:04", "core/db"),
        ("reminder", "00:07", None),
        ("recovery", "00:08", None),
        ("error_rate", "00:10", None),
        ("error_rate_cleared", "00:14", None),
    ]
