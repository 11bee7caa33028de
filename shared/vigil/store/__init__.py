"""Persistence: the store interface, its DynamoDB implementation and an in-memory fake."""

from vigil.store.base import GroupState, RunRecord, StateStore

__all__ = ["GroupState", "RunRecord", "StateStore"]
