"""TLS settings and findings shared by the check types that speak TLS (HTTP, TCP).

- ``TlsExpiryKeys``: ``tls_expiry_warning`` (default 14d: the certificate
  expiring within it makes the check ``degraded``) and ``tls_expiry_critical``
  (default 3d: ``unhealthy``); a model mixes it in.
- ``CaBundle``: a ``ca_bundle`` key's type: a PEM file of CAs, a relative path
  read from the config file's folder (``load_config`` passes it as the
  validation context's ``base_dir``), refused at load if it cannot be used.
- ``certificate_expiry`` and ``expiry_finding``: when the peer's certificate
  expires, and what that means for the check.
"""

from __future__ import annotations

import datetime as dt
import ssl
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, Field, ValidationInfo, model_validator

from vigil.checks.model import Duration, StrictModel
from vigil.durations import format_duration

DAY = 86400.0


class TlsExpiryKeys(StrictModel):
    """The certificate-expiry keys of a check type that speaks TLS."""

    tls_expiry_warning: Duration = Field(default=14 * DAY, ge=0)
    tls_expiry_critical: Duration = Field(default=3 * DAY, ge=0)

    @model_validator(mode="after")
    def _critical_below_warning(self) -> TlsExpiryKeys:
        if self.tls_expiry_critical > self.tls_expiry_warning:
            raise ValueError(
                f"tls_expiry_critical ({format_duration(self.tls_expiry_critical)}) must not be "
                f"above tls_expiry_warning ({format_duration(self.tls_expiry_warning)})"
            )
        return self


def _usable_ca_bundle(value: str, info: ValidationInfo) -> str:
    path = Path(value).expanduser()
    if not path.is_absolute():
        base = (info.context or {}).get("base_dir")
        path = (Path(base) if base is not None else Path.cwd()) / path
    if not path.is_file():
        raise ValueError(f"no such file: {path} (a relative path is read from the config's folder)")
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ValueError(f"not a usable PEM file of CA certificates: {path} ({exc})") from None
    return str(path)


CaBundle = Annotated[str, AfterValidator(_usable_ca_bundle)]


def certificate_expiry(peer_certificate: dict[str, Any] | None) -> dt.datetime | None:
    """When a verified peer certificate (``getpeercert()``) expires, in UTC; None if unknown."""
    not_after = (peer_certificate or {}).get("notAfter")
    if not not_after:
        return None
    return _expiry(not_after)


# Warm-start cache: ``notAfter`` texts parsed, by text. The checks of one host share its
# certificate, and parsing one (strptime) costs ~10 us, in the step that reads the head.
@lru_cache(maxsize=1024)
def _expiry(not_after: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), dt.UTC)


class ExpiryFinding(NamedTuple):
    """What a certificate's expiry means: ``failure`` (unhealthy) or ``warning`` (degraded).

    A named tuple: every function's configuration loading imports this module, and the
    class costs a fraction of a frozen dataclass's."""

    failure: str | None
    warning: str | None
    details: dict[str, Any]


def expiry_finding(
    expires_at: dt.datetime | None, keys: TlsExpiryKeys, now: dt.datetime | None = None
) -> ExpiryFinding:
    """Judge ``expires_at`` against the expiry keys (details: expiry time and days left)."""
    if expires_at is None:
        return ExpiryFinding(None, None, {})
    now = now or dt.datetime.now(dt.UTC)
    left = (expires_at - now).total_seconds()
    details = {
        "tls_expires_at": expires_at.isoformat().replace("+00:00", "Z"),
        "tls_days_left": round(left / DAY, 1),
    }
    when = details["tls_expires_at"]
    if left >= 0:
        text = f"TLS certificate expires in {left / DAY:.1f} days ({when})"
    else:
        text = f"TLS certificate expired {-left / DAY:.1f} days ago ({when})"
    if left <= keys.tls_expiry_critical:
        limit = format_duration(keys.tls_expiry_critical)
        return ExpiryFinding(f"{text}, within tls_expiry_critical {limit}", None, details)
    if left <= keys.tls_expiry_warning:
        limit = format_duration(keys.tls_expiry_warning)
        return ExpiryFinding(None, f"{text}, within tls_expiry_warning {limit}", details)
    return ExpiryFinding(None, None, details)
