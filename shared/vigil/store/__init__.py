"""Persistence: the store interface, its DynamoDB implementation and an in-memory fake.

``GroupState``, ``RunRecord`` and ``StateStore`` are imported on first use: the ping
function imports ``vigil.store.pings`` alone, and the run records' machinery
(``vigil.store.base``) is no part of its cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigil.store.base import GroupState, RunRecord, StateStore

__all__ = ["GroupState", "RunRecord", "StateStore"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vigil.store import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
