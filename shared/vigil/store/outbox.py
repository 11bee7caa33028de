"""The outbox record: alerts kept in the group state until they are published.

A confirmed transition becomes a ``PendingAlert`` in the same state save that
counts the run, so a crash between "status changed" and "alert sent" loses
nothing. Each pending alert carries a lease: the invocation that holds an
unexpired lease is the only one that publishes it. The pure functions here
change an outbox; publishing and settling it are the run's
(``vigil.run.outbox.deliver``).
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from vigil.alerts.document import AlertDocument

logger = logging.getLogger(__name__)

OUTBOX_LIMIT = 1000  # pending alerts kept per shard: the state item must stay under 400 KB


class PendingAlert(NamedTuple):
    """An alert waiting in the outbox, with its lease and delivery attempts."""

    document: AlertDocument
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: float = 0.0  # epoch seconds
    last_error: str | None = None

    @property
    def alert_id(self) -> str:
        return self.document.alert_id

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"doc": self.document.to_dict(), "attempts": self.attempts}
        if self.lease_owner:
            out["lease_owner"], out["lease_until"] = self.lease_owner, self.lease_until
        if self.last_error:
            out["last_error"] = self.last_error
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingAlert:
        return cls(
            document=AlertDocument.from_dict(data["doc"]),
            attempts=data.get("attempts", 0),
            lease_owner=data.get("lease_owner"),
            lease_until=data.get("lease_until", 0.0),
            last_error=data.get("last_error"),
        )


def take_leases(
    outbox: list[PendingAlert], owner: str, now: float, lease_until: float
) -> list[PendingAlert]:
    """Lease to ``owner`` every alert that is free or whose holder's lease has lapsed."""
    return [
        alert._replace(lease_owner=owner, lease_until=lease_until)
        if alert.lease_until < now
        else alert
        for alert in outbox
    ]


def append(
    outbox: list[PendingAlert], documents: list[AlertDocument], owner: str, lease_until: float
) -> list[PendingAlert]:
    """Add new alerts, leased to ``owner``; an alert already pending is not added twice."""
    known = {alert.alert_id for alert in outbox}
    added = [
        PendingAlert(document=doc, lease_owner=owner, lease_until=lease_until)
        for doc in documents
        if doc.alert_id not in known
    ]
    merged = outbox + added
    if len(merged) > OUTBOX_LIMIT:
        logger.error(
            "outbox holds %d undelivered alerts, more than %d: the oldest %d are dropped",
            len(merged),
            OUTBOX_LIMIT,
            len(merged) - OUTBOX_LIMIT,
        )
        merged = merged[-OUTBOX_LIMIT:]
    return merged


def leased_to(outbox: list[PendingAlert], owner: str) -> list[PendingAlert]:
    return [alert for alert in outbox if alert.lease_owner == owner]


def settle(
    outbox: list[PendingAlert], owner: str, sent: set[str], failed: dict[str, str]
) -> list[PendingAlert]:
    """Remove the alerts ``owner`` published; release the lease of those it could not."""
    settled = []
    for alert in outbox:
        if alert.alert_id in sent:
            continue
        if alert.lease_owner == owner and alert.alert_id in failed:
            alert = alert._replace(
                attempts=alert.attempts + 1,
                lease_owner=None,
                lease_until=0.0,
                last_error=failed[alert.alert_id],
            )
        settled.append(alert)
    return settled
