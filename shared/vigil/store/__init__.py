"""Persistence: the store interface and its DynamoDB implementation."""

from vigil.store.base import GroupState, PendingAlert, RunRecord, StateStore

__all__ = ["GroupState", "PendingAlert", "RunRecord", "StateStore"]
