"""Alerts: pure message builders (``message``) and delivery (``sns``)."""

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.alerts.message import alert_document, email_body, email_subject, sns_request
from vigil.alerts.sns import SnsPublisher

__all__ = [
    "AlertDocument",
    "AlertEvent",
    "SnsPublisher",
    "alert_document",
    "email_body",
    "email_subject",
    "sns_request",
]
