import json
from dataclasses import replace

import pytest

from vigil.alerts.document import AlertDocument, AlertEvent, severity_of
from vigil.alerts.document import AlertEvent as Event
from vigil.alerts.message import email_body, email_subject, sns_request
from vigil.state import Transition


def transition(event=Event.FAILURE, status="unhealthy", previous="healthy", check="api"):
    return Transition(
        check,
        event,
        status,
        previous,
        "2026-11-28T10:01:00Z",
        "HTTP 500, expected 2xx",
        {"status_code": 500, "target": "https://api.example.com/health"},
    )


@pytest.mark.parametrize(
    ("event", "status", "previous", "subject", "severity"),
    [
        (Event.FAILURE, "unhealthy", "healthy", "[FAILURE] core/api is unhealthy", "critical"),
        (
            Event.FAILURE,
            "error",
            "healthy",
            "[FAILURE] core/api cannot be checked",
            "critical",
        ),
        (Event.DEGRADED, "degraded", "healthy", "[DEGRADED] core/api is degraded", "warning"),
        (Event.RECOVERY, "healthy", "unhealthy", "[RECOVERY] core/api is healthy", "info"),
    ],
)
def test_document_subject_and_severity(event, status, previous, subject, severity):
    alert = transition(event, status, previous).document("core")
    doc = alert.to_dict()
    assert doc["event"] == str(event) and doc["severity"] == severity
    assert AlertDocument.from_dict(doc) == alert
    assert {
        "event",
        "group",
        "check",
        "status",
        "previous_status",
        "timestamp",
        "reason",
        "details",
        "alert_id",
    } <= doc.keys()
    assert email_subject(alert) == subject


@pytest.mark.parametrize(
    ("event", "status", "severity"),
    [
        ("reminder", "unhealthy", "critical"),
        ("error_rate", "unhealthy", "warning"),
        ("error_rate_cleared", "healthy", "info"),
        ("monitor", "unhealthy", "critical"),
        ("monitor", "healthy", "info"),
    ],
)
def test_every_event_has_a_severity(event, status, severity):
    assert severity_of(AlertEvent(event), status) == severity


def test_subject_stays_under_100_characters():
    doc = transition(check="x" * 200).document("core")
    assert len(email_subject(doc)) < 100


def test_sns_request_has_json_default_email_text_and_attributes():
    doc = transition().document("core")
    request = sns_request("arn:topic", doc)
    assert request["MessageStructure"] == "json"
    message = json.loads(request["Message"])
    assert json.loads(message["default"]) == doc.to_dict()
    status_line = next(line for line in message["email"].splitlines() if line.startswith("Status:"))
    assert status_line.split() == ["Status:", "unhealthy", "(was", "healthy)"]
    assert message["email"] == email_body(doc)
    attributes = {k: v["StringValue"] for k, v in request["MessageAttributes"].items()}
    assert attributes == {
        "event": "failure",
        "group": "core",
        "check": "api",
        "severity": "critical",
    }


def test_email_body_aligns_values_after_the_longest_label():
    doc = replace(
        transition().document("core"),
        details={"latency_ms": 601.6, "status_code": 500},
    )
    lines = email_body(doc).splitlines()
    assert "Check:       core/api" in lines
    assert "Latency ms:  601.6" in lines
    assert "Status code: 500" in lines
