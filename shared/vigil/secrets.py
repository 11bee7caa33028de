"""Secrets Manager lookups for checks, through Powertools Parameters (cached).

A secret that cannot be read raises ``CheckSetupError`` (the check's status is
``error``) with a reason a person can act on: ``not found``, ``access
denied``, ``KMS key not usable``, ``marked for deletion``, ``Secrets Manager
unavailable``. The reason names the secret and the AWS error code, never a
value. Powertools wraps every failure in ``GetParameterError`` without
chaining it (the botocore error is only its ``__context__``), so the cause is
looked up along the whole chain.
"""

from __future__ import annotations

import threading
from typing import Any

from vigil.exceptions import CheckSetupError

SECRET_MAX_AGE_SECONDS = 300
# Checks call this from worker threads. Creating the provider's boto3 client is not
# thread-safe, so only that is serialised; the lookups themselves run side by side
# (a hung one must not block the others), each bounded by the client's timeouts.
_LOCK = threading.Lock()
_CONNECT_TIMEOUT_S, _READ_TIMEOUT_S = 1.0, 2.0

_NOT_FOUND = {"ResourceNotFoundException"}
_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}
# What Secrets Manager answers when the secret's KMS key cannot decrypt it, and the
# KMS errors themselves (as other services relay them).
_KMS = {
    "DecryptionFailure",
    "DecryptionFailureException",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "KMSInvalidSignatureException",
    "KMSOptInRequired",
    "DisabledException",
    "KeyUnavailableException",
    "InvalidCiphertextException",
}
_UNAVAILABLE = {
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
}


def fetch_secret(name: str) -> Any:
    """Return the secret's value (cached for 5 minutes); raise ``CheckSetupError`` if unreadable."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    with _LOCK:  # Powertools' own default provider, so that clear_caches() clears it
        if "secrets" not in DEFAULT_PROVIDERS:
            from botocore.config import Config

            DEFAULT_PROVIDERS["secrets"] = parameters.SecretsProvider(
                boto_config=Config(
                    connect_timeout=_CONNECT_TIMEOUT_S,
                    read_timeout=_READ_TIMEOUT_S,
                    retries={"mode": "standard", "total_max_attempts": 2},
                )
            )
    try:
        return parameters.get_secret(name, max_age=SECRET_MAX_AGE_SECONDS)
    except parameters.exceptions.GetParameterError as exc:
        raise CheckSetupError(secret_failure(name, exc)) from None


def secret_failure(name: str, exc: BaseException) -> str:
    """One line saying why secret ``name`` could not be read (from ``exc`` or what it wraps)."""
    code, message = _aws_error(exc)
    if code in _NOT_FOUND:
        why = "not found: check the name or ARN, and that it is in the function's region"
    elif code in _DENIED and "kms" in message.lower():
        why = (
            "KMS key not usable: access to the secret's KMS key was denied "
            "(the function's role needs kms:Decrypt on it)"
        )
    elif code in _DENIED:
        why = (
            "access denied: the function's role may not read it "
            "(secretsmanager:GetSecretValue; the stack grants it for names under "
            "MonitoredSecretsPrefix)"
        )
    elif code in _KMS or code.startswith("KMS"):
        why = "KMS key not usable: the secret's KMS key cannot decrypt it (disabled or denied)"
    elif code == "InvalidRequestException" and "delet" in message.lower():
        why = "marked for deletion: restore it or name another secret"
    elif code in _UNAVAILABLE:
        why = "Secrets Manager unavailable, try again later"
    elif code == "NoCredentialsError":
        why = "no AWS credentials to read it"
    elif code in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        why = "Secrets Manager could not be reached (network, VPC endpoint or NAT)"
    elif code:
        why = "could not be read"
    else:
        return f"secret {name!r}: could not be read"
    return f"secret {name!r}: {why} ({code})"


def _aws_error(exc: BaseException) -> tuple[str, str]:
    """The AWS error code and message of the first botocore error along the exception chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict) and "Error" in response:
            error = response["Error"]
            return str(error.get("Code") or ""), str(error.get("Message") or "")
        if type(current).__module__.startswith("botocore"):
            return type(current).__name__, ""
        current = current.__cause__ or current.__context__
    return "", ""
