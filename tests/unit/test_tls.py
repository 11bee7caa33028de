"""TLS pieces shared by HTTP and TCP checks: expiry keys and findings, CA bundles."""

from __future__ import annotations

import datetime as dt

import pytest
import trustme
from pydantic import TypeAdapter, ValidationError

from vigil.checks.tls import CaBundle, TlsExpiryKeys, certificate_expiry, expiry_finding

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
KEYS = TlsExpiryKeys()  # 14d / 3d


@pytest.mark.parametrize(
    ("days_left", "failure", "warning"),
    [
        (30, None, None),
        (14.5, None, None),
        (
            10,
            None,
            "TLS certificate expires in 10.0 days (2026-12-08T12:00:00Z), "
            "within tls_expiry_warning 14d",
        ),
        (
            2,
            "TLS certificate expires in 2.0 days (2026-11-30T12:00:00Z), "
            "within tls_expiry_critical 3d",
            None,
        ),
        (
            -1,
            "TLS certificate expired 1.0 days ago (2026-11-27T12:00:00Z), "
            "within tls_expiry_critical 3d",
            None,
        ),
    ],
)
def test_expiry_finding(days_left, failure, warning):
    finding = expiry_finding(NOW + dt.timedelta(days=days_left), KEYS, now=NOW)
    assert (finding.failure, finding.warning) == (failure, warning)
    assert finding.details["tls_days_left"] == days_left
    assert finding.details["tls_expires_at"].endswith("Z")


def test_no_certificate_no_finding():
    assert expiry_finding(None, KEYS) == expiry_finding(None, KEYS, now=NOW)
    assert expiry_finding(None, KEYS).details == {}


def test_certificate_expiry_reads_getpeercert():
    expires = certificate_expiry({"notAfter": "Dec  8 12:00:00 2026 GMT"})
    assert expires == dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC)
    assert certificate_expiry({}) is None and certificate_expiry(None) is None


def test_critical_above_warning_is_refused():
    with pytest.raises(ValidationError, match=r"tls_expiry_critical \(20d\) must not be above"):
        TlsExpiryKeys(tls_expiry_warning="14d", tls_expiry_critical="20d")


def test_ca_bundle_is_read_from_the_config_folder_and_must_be_usable(tmp_path):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "private-ca.pem"))
    (tmp_path / "junk.pem").write_text("not a certificate")
    adapter = TypeAdapter(CaBundle)
    assert adapter.validate_python("private-ca.pem", context={"base_dir": tmp_path}) == str(
        tmp_path / "private-ca.pem"
    )
    with pytest.raises(ValidationError, match="no such file"):
        adapter.validate_python("absent.pem", context={"base_dir": tmp_path})
    with pytest.raises(ValidationError, match="not a usable PEM file"):
        adapter.validate_python("junk.pem", context={"base_dir": tmp_path})
