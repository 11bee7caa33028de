"""The outbox: alerts recorded in the group state before they are published.

A confirmed transition becomes a ``PendingAlert`` in the same state save that
counts the run, so a crash between "status changed" and "alert sent" loses
nothing. Each pending alert carries a lease: the invocation that holds an
unexpired lease is the only one that publishes it. Once published, the alert
is removed by a second, conditional save (``settle``); one that could not be
published keeps its place, its lease is released, and a later run retries it.

When can an alert reach SNS twice? Only when SNS accepted a publish but its
answer was lost (botocore retried the call, or the alert stayed pending and a
later run published it again), or when the settling save kept failing until
the run's deadline. Every copy carries the same ``alert_id``; consumers Vigil
owns (the notifier) drop repeats by it.

The outbox itself is a record of the group state (``vigil.store.outbox``); this
module publishes it and settles it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from vigil.alerts.document import AlertDocument
from vigil.exceptions import AlertDeliveryError, RunDeadlineError, StoreConflictError
from vigil.retry import STORE_SAVE
from vigil.store.outbox import leased_to, settle

if TYPE_CHECKING:
    from vigil.store.base import GroupState, StateStore

logger = logging.getLogger(__name__)

SETTLE_ROUNDS = 20


class Delivery(NamedTuple):
    """What one invocation did with the alerts leased to it."""

    sent: tuple[str, ...] = ()
    failed: dict[str, str] | None = None
    settled: bool = True
    pending: int = 0  # alerts left in the outbox afterwards


class Publisher:
    """Anything with ``publish(document) -> message id`` (``vigil.alerts.sns.SnsPublisher``)."""

    def publish(self, document: AlertDocument) -> str: ...  # pragma: no cover


def deliver(
    state: GroupState,
    owner: str,
    store: StateStore,
    publisher: Publisher,
    *,
    time_left: Callable[[], float],
    settle_s: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[GroupState, Delivery]:
    """Publish the alerts of ``state`` leased to ``owner``, then settle the outbox.

    Publishing stops while ``settle_s`` seconds are still left, so that the save
    recording what was published always has its time (otherwise everything
    published would be sent again once the lease lapses). A publish that fails
    leaves its alert pending (released for the next run), and so do the later
    alerts of the same check: alerts of a check reach the topic in order.
    Settling retries conflicts and store errors until ``time_left()`` runs out.
    """
    sent: list[str] = []
    failed: dict[str, str] = {}
    blocked: set[tuple[str, str]] = set()  # checks with an earlier alert still pending
    for alert in leased_to(state.outbox, owner):
        check = (alert.document.group, alert.document.check)
        if check in blocked:
            failed[alert.alert_id] = "an earlier alert of this check is still pending"
            continue
        if time_left() <= settle_s:
            failed[alert.alert_id] = "no time left in this run to publish and record it"
            blocked.add(check)
            continue
        try:
            publisher.publish(alert.document)
        except (AlertDeliveryError, RunDeadlineError) as exc:
            logger.error("alert %s stays pending: %s", alert.alert_id, exc)
            failed[alert.alert_id] = str(exc)[:300]
            blocked.add(check)
        else:
            sent.append(alert.alert_id)
    if not sent and not failed:
        return state, Delivery(pending=len(state.outbox))

    retry = 0
    for _ in range(SETTLE_ROUNDS):
        if time_left() <= 0:
            break
        outbox = settle(state.outbox, owner, set(sent), failed)
        if outbox == state.outbox:  # an earlier save took effect (its answer was lost)
            return state, Delivery(tuple(sent), failed, True, len(outbox))
        try:
            state = store.save_state(replace(state, outbox=outbox))
            return state, Delivery(tuple(sent), failed, True, len(state.outbox))
        except StoreConflictError:
            pass  # another run saved, or our save took effect unseen: re-read and settle again
        except RunDeadlineError as exc:
            logger.error("outbox not settled before the deadline: %s", exc)
            break
        except Exception as exc:  # throttled past retries, timeouts: retry while time allows
            logger.warning("settling the outbox failed (%s); retrying", type(exc).__name__)
            retry += 1
            if not STORE_SAVE.pause(retry, time_left, sleep=sleep):
                break
        try:
            state = store.load_state(state.group, state.shard)
        except Exception as exc:
            logger.error("outbox not settled: cannot re-read the state: %s", exc)
            break
    logger.error(
        "outbox not settled: %d published alerts stay leased until their lease ends and "
        "may be sent again then (same alert_id)",
        len(sent),
    )
    return state, Delivery(tuple(sent), failed, False, len(state.outbox))
