"""Secrets that cannot be read say why (not found, access denied, KMS key not usable).

Moto answers for Secrets Manager; the faults it cannot produce (access denied,
KMS) are injected where botocore sends, by a ``before-send`` handler registered
first on the client Powertools uses, so botocore parses the error response and
applies its retries as it would against AWS.
"""

from __future__ import annotations

import json
import types

import boto3
import botocore.endpoint
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider
from botocore.awsrequest import AWSResponse

from tests.integration.conftest import minute
from vigil.exceptions import CheckSetupError
from vigil.secrets import fetch_secret
from vigil_cli.local.local_aws import REGION

SECRET_VALUE = "s3cr3t-Value-never-shown"


class _Body:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: object):
        yield self._body


class SecretsFaults:
    """Answer GetSecretValue with a scripted AWS error instead of sending it."""

    def __init__(self) -> None:
        self.client = boto3.client("secretsmanager", region_name=REGION)
        self.error: tuple[int, str, str] | None = None
        self.attempts = 0
        self.client.meta.events.register_first(
            "before-send.secrets-manager.GetSecretValue", self._before_send
        )

    def fail_with(self, status: int, code: str, message: str) -> None:
        self.error = (status, code, message)

    def _before_send(self, request, **_: object):
        self.attempts += 1
        if self.error is None:
            return None  # moto answers
        status, code, message = self.error
        body = json.dumps({"__type": code, "Message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        return AWSResponse(request.url, status, headers, _Body(body))


@pytest.fixture
def faults(aws, monkeypatch) -> SecretsFaults:
    parameters.clear_caches()  # (it empties the providers: before ours is put in)
    faults = SecretsFaults()
    monkeypatch.setitem(DEFAULT_PROVIDERS, "secrets", SecretsProvider(boto3_client=faults.client))
    sleeps: list[float] = []
    # botocore's retries really happen; only their back-off sleeps are skipped
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append))
    faults.sleeps = sleeps
    return faults


def reason_for(name: str) -> str:
    with pytest.raises(CheckSetupError) as caught:
        fetch_secret(name)
    reason = str(caught.value)
    assert "GetParameterError" not in reason
    assert SECRET_VALUE not in reason
    return reason


def test_a_secret_that_exists_is_read(aws, faults):
    aws.put_secret("vigil/db", SECRET_VALUE)
    assert fetch_secret("vigil/db") == SECRET_VALUE


def test_a_missing_secret_reads_not_found(aws, faults):
    reason = reason_for("vigil/absent")
    assert reason == (
        "secret 'vigil/absent': not found: check the name or ARN, and that it is in the "
        "function's region (ResourceNotFoundException)"
    )


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "AccessDeniedException",
            "User: arn:aws:sts::123:assumed-role/vigil is not authorized to perform: "
            "secretsmanager:GetSecretValue",
            "secret 'vigil/db': access denied: the function's role may not read it "
            "(secretsmanager:GetSecretValue; the stack grants it for names under "
            "MonitoredSecretsPrefix) (AccessDeniedException)",
        ),
        (
            "AccessDeniedException",
            "Access to KMS is not allowed",
            "secret 'vigil/db': KMS key not usable: access to the secret's KMS key was denied "
            "(the function's role needs kms:Decrypt on it) (AccessDeniedException)",
        ),
        (
            "DecryptionFailure",
            "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
            "secret 'vigil/db': KMS key not usable: the secret's KMS key cannot decrypt it "
            "(disabled or denied) (DecryptionFailure)",
        ),
        ("KMSDisabledException", "key disabled", None),
        ("KMSAccessDeniedException", "denied", None),
        (
            "InvalidRequestException",
            "You can't perform this operation on the secret because it was marked for deletion.",
            "secret 'vigil/db': marked for deletion: restore it or name another secret "
            "(InvalidRequestException)",
        ),
    ],
)
def test_denied_and_kms_failures_say_why(aws, faults, code, message, expected):
    aws.put_secret("vigil/db", SECRET_VALUE)
    faults.fail_with(400, code, message)
    reason = reason_for("vigil/db")
    if expected is None:
        assert reason.startswith("secret 'vigil/db': KMS key not usable") and code in reason
    else:
        assert reason == expected
    assert faults.attempts == 1  # not retried: asking again cannot help


def test_secrets_manager_unavailable_after_botocore_retries(aws, faults):
    aws.put_secret("vigil/db", SECRET_VALUE)
    faults.fail_with(500, "InternalServiceError", "internal error")
    reason = reason_for("vigil/db")
    assert reason == (
        "secret 'vigil/db': Secrets Manager unavailable, try again later (InternalServiceError)"
    )
    assert faults.attempts > 1 and len(faults.sleeps) == faults.attempts - 1


POSTGRES_CHECK = """
groups:
  databases:
    checks:
      - name: db
        type: postgres
        host: 127.0.0.1
        port: {port}
        database: app
        user: monitor
        password_secret: vigil/db
"""


def test_the_check_result_and_alert_carry_the_reason(aws, faults, invoke, write_config, refused):
    aws.put_secret("vigil/db", SECRET_VALUE)
    faults.fail_with(400, "AccessDeniedException", "not authorized")
    write_config(POSTGRES_CHECK.format(port=refused) + "        failure_threshold: 1\n")
    result = invoke("databases", minute(0))["results"][0]
    assert result["status"] == "error"
    assert result["reason"].startswith("secret 'vigil/db': access denied")
    [alert] = aws.drain_alerts()
    assert alert.document["reason"] == result["reason"]
    assert SECRET_VALUE not in json.dumps(alert.document)
