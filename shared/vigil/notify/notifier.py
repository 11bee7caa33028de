"""The notifier: each SNS record it receives becomes deliveries or a relayed alarm.

For a record from the alert topic (an alert document):
1. Parse it (``AlertDocument.from_dict``); an unreadable message is dead-lettered.
   So is a document whose group/check the configuration does not know (anyone
   allowed to publish to the topic could forge it; Vigil's own ``monitor``
   alerts aside): it is logged once and delivered nowhere.
2. Pick the destinations whose filters it passes.
3. Deliver to all of them at once (one thread each, so a destination that is
   down and retrying holds back no other), each inside the ledger: at most once
   per (alert_id, destination), across SNS redeliveries and cold starts.
4. A delivery that still failed goes to the dead-letter queue (inside the same
   ledger entry, so a redelivery does not dead-letter it twice) and counts in
   the metric ``NotificationFailures``.

For a record from the alarm topic, or any CloudWatch alarm message (one of
Vigil's own alarms, or one a user pointed at the alert topic directly): turn
it into a ``monitor`` alert document and publish it to the alert topic, with
the message attributes, once per alarm state change. It then comes back to the
notifier like any other alert.

If a ledger entry could not be written or another invocation is delivering the
same alert right now, ``handle`` raises after every other destination was
served: Lambda retries the event, and the ledger skips what was done.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.exceptions import VigilError
from vigil.notify.alarms import is_alarm, monitor_alert
from vigil.notify.base import Transport
from vigil.notify.config import MONITOR_GROUP, Destination
from vigil.notify.deadletter import DeadLetters
from vigil.notify.delivery import DeliveryOutcome, RetryPolicy, deliver
from vigil.notify.ledger import Ledger

logger = logging.getLogger(__name__)

FAILURE_METRIC = "NotificationFailures"
DELIVERED_METRIC = "NotificationsDelivered"
SAFETY_MARGIN_S = 5.0  # kept for dead-lettering and recording after the last retry
CHECK_SHOWN = 200  # characters of a forged document's names shown in a log line


class NotificationRetryError(VigilError):
    """Some deliveries could not be settled now; the event must be delivered again."""


@dataclass
class Delivery:
    """One (alert, destination) as this invocation saw it; ``replayed``: done before."""

    destination: str
    type: str
    outcome: DeliveryOutcome | None
    replayed: bool = False
    problem: str | None = None  # the ledger could not settle it now (retried later)

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"destination": self.destination, "type": self.type}
        if self.outcome is not None:
            found.update(self.outcome.to_dict())
        found["replayed"] = self.replayed
        if self.problem:
            found["problem"] = self.problem
        return found


@dataclass
class Notifier:
    """Delivers alerts to ``destinations()``; publishes relayed alarms with ``publish``.

    ``destinations`` and ``known_checks`` (the configuration's ``(group, check)``
    pairs) are called when an alert arrives (not for an alarm): a bad
    ``notifications:`` section fails alert deliveries, never the relay of the
    alarm that reports it.
    ``publish(document) -> message id`` puts a document on the alert topic (an
    ``SnsPublisher.publish``); ``metrics`` is a Powertools metrics object.
    """

    destinations: Callable[[], Sequence[Destination]]
    known_checks: Callable[[], Collection[tuple[str, str]]]
    transport: Transport
    ledger: Ledger
    dead_letters: DeadLetters
    publish: Callable[[AlertDocument], str]
    metrics: Any
    alarm_topic_arn: str | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def handle(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Process every SNS record of a Lambda event; return a summary per record."""
        from aws_lambda_powertools.metrics import MetricUnit

        self.ledger.register_lambda_context(context)
        remaining_ms = context.get_remaining_time_in_millis() if context is not None else 60_000
        deadline = time.monotonic() + remaining_ms / 1000 - SAFETY_MARGIN_S
        summaries: list[dict[str, Any]] = []
        unsettled: list[str] = []
        counted = 0
        try:
            for record in event.get("Records", []):
                sns = record.get("Sns") or {}
                from_alarm_topic = bool(self.alarm_topic_arn) and (
                    sns.get("TopicArn") == self.alarm_topic_arn
                )
                if from_alarm_topic or _is_alarm_message(sns.get("Message", "")):
                    summaries.append(self.relay_alarm(sns.get("Message", "")))
                    continue
                summary = self.notify(sns.get("Message", ""), deadline)
                summaries.append(summary)
                for delivery in summary.get("deliveries", []):
                    if delivery.get("problem"):
                        unsettled.append(f"{summary['alert_id']} -> {delivery['destination']}")
                    elif not delivery.get("replayed"):
                        name = DELIVERED_METRIC if delivery["delivered"] else FAILURE_METRIC
                        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
                        counted += 1
        finally:
            if counted:
                self.metrics.flush_metrics()
        if unsettled:
            raise NotificationRetryError(
                f"{len(unsettled)} deliveries could not be settled now and will be retried: "
                + ", ".join(unsettled)
            )
        return {"records": summaries}

    def notify(self, message: str, deadline: float | None = None) -> dict[str, Any]:
        """Deliver one alert document (the SNS message) to every destination that wants it."""
        try:
            alert = AlertDocument.from_dict(json.loads(message))
        except (KeyError, ValueError, TypeError) as exc:
            error = f"not an alert document ({type(exc).__name__}: {exc})"[:300]
            logger.error("dead-lettering a message on the alert topic: %s", error)
            self.dead_letters.unreadable(message, error)
            return {"alert_id": None, "unreadable": error, "deliveries": []}
        if not self._knows(alert):
            shown = f"{alert.group}/{alert.check}"[:CHECK_SHOWN]
            logger.warning(
                "alert %r on the alert topic names no configured check (%r): not delivered; "
                "dead-lettered",
                alert.alert_id[:CHECK_SHOWN],
                shown,
            )
            self.dead_letters.unknown_check(alert.group, alert.check, message)
            return {
                "alert_id": alert.alert_id[:CHECK_SHOWN],
                "unknown_check": shown,
                "deliveries": [],
            }
        chosen = [d for d in self.destinations() if d.wants(alert)]
        if not chosen:
            return {"alert_id": alert.alert_id, "deliveries": []}
        with ThreadPoolExecutor(max_workers=min(8, len(chosen))) as pool:
            futures = [pool.submit(self._deliver_once, alert, d, deadline) for d in chosen]
            deliveries = [future.result() for future in futures]
        return {"alert_id": alert.alert_id, "deliveries": [d.to_dict() for d in deliveries]}

    def _knows(self, alert: AlertDocument) -> bool:
        """Whether the configuration has the alert's check (Vigil's own alarms: always)."""
        if alert.event is AlertEvent.MONITOR and alert.group == MONITOR_GROUP:
            return True
        return (alert.group, alert.check) in self.known_checks()

    def _deliver_once(
        self, alert: AlertDocument, destination: Destination, deadline: float | None
    ) -> Delivery:
        fresh: list[DeliveryOutcome] = []

        def work() -> dict[str, Any]:
            outcome = deliver(
                alert, destination, self.transport, policy=self.policy, deadline=deadline
            )
            if not outcome.delivered:
                self.dead_letters.delivery_failed(alert, outcome.to_dict())
            fresh.append(outcome)
            return outcome.to_dict()

        key = {"alert_id": alert.alert_id, "destination": destination.name}
        try:
            result = self.ledger.once("delivery", key, work)
        except Exception as exc:  # the ledger or the dead-letter queue: retry the event later
            problem = f"{type(exc).__name__}"
            logger.error(
                "alert %s to destination %s not settled (%s); the event will be retried",
                alert.alert_id,
                destination.name,
                problem,
            )
            return Delivery(
                destination.name, destination.type, fresh[0] if fresh else None, problem=problem
            )
        outcome = DeliveryOutcome.from_dict(result)
        if not fresh:
            logger.info(
                "alert %s to destination %s: already %s, not sent again",
                alert.alert_id,
                destination.name,
                "delivered" if outcome.delivered else "dead-lettered",
            )
        elif outcome.delivered:
            logger.info(
                "alert %s delivered to destination %s (%s, %d attempts)",
                alert.alert_id,
                destination.name,
                destination.type,
                outcome.attempts,
            )
        else:
            logger.error(
                "alert %s to destination %s (%s) failed%s: %s; sent to the dead-letter queue",
                alert.alert_id,
                destination.name,
                destination.type,
                " permanently" if outcome.permanent else "",
                outcome.error,
            )
        return Delivery(destination.name, destination.type, outcome, replayed=not fresh)

    def relay_alarm(self, message: str) -> dict[str, Any]:
        """Publish one CloudWatch alarm as a ``monitor`` alert, once per state change."""
        try:
            alarm = json.loads(message)
        except ValueError:
            alarm = None
        if not is_alarm(alarm):
            logger.error("message on the alarm topic is not a CloudWatch alarm; dead-lettered")
            self.dead_letters.unreadable(message, "not a CloudWatch alarm message")
            return {"alarm": None, "relayed": False}
        alert = monitor_alert(alarm)
        if alert is None:
            logger.info(
                "alarm %s state %s is not alerted", alarm["AlarmName"], alarm["NewStateValue"]
            )
            return {"alarm": alarm["AlarmName"], "relayed": False}
        fresh: list[str] = []

        def work() -> dict[str, Any]:
            message_id = self.publish(alert)
            fresh.append(message_id)
            return {"message_id": message_id}

        result = self.ledger.once("alarm", {"alert_id": alert.alert_id}, work)
        logger.info(
            "alarm %s (%s) %s as alert %s",
            alert.check,
            alert.details["state"],
            "relayed" if fresh else "was already relayed",
            alert.alert_id,
        )
        return {
            "alarm": alert.check,
            "alert_id": alert.alert_id,
            "relayed": bool(fresh),
            "message_id": result.get("message_id"),
        }


def _is_alarm_message(message: str) -> bool:
    """Whether an SNS message is a CloudWatch alarm notification (JSON with AlarmName...)."""
    if '"AlarmName"' not in message:
        return False
    try:
        return is_alarm(json.loads(message))
    except ValueError:
        return False
