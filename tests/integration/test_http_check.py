"""HTTP checks against real loopback servers."""

from __future__ import annotations

import tracemalloc

import pytest

from tests.support.checks import run_once


def run_check(**fields):
    fields.setdefault("timeout", "2s")
    return run_once({"type": "http", **fields})


@pytest.mark.parametrize(
    ("path", "fields", "status", "reason"),
    [
        ("/ok", {}, "healthy", "HTTP 200"),
        ("/ok", {"body_contains": "ok"}, "healthy", "HTTP 200"),
        ("/ok", {"body_contains": "welcome"}, "unhealthy", "body does not contain 'welcome'"),
        ("/status/500", {}, "unhealthy", "HTTP 500, expected 2xx"),
        ("/status/503", {"expect_status": [503]}, "healthy", "HTTP 503"),
        ("/status/204", {"expect_status": [200]}, "unhealthy", "HTTP 204, expected 200"),
        ("/slow?ms=300", {"degraded_after": "100ms"}, "degraded", "slow: "),
        ("/slow?ms=3000", {"timeout": "500ms"}, "unhealthy", "timed out after 0.5s"),
        ("/garbage", {}, "unhealthy", "invalid HTTP response"),
        ("/redirect-loop", {}, "unhealthy", "too many redirects"),
        (
            "/redirect-loop",
            {"follow_redirects": False, "expect_status": [302]},
            "healthy",
            "HTTP 302",
        ),
    ],
)
def test_http_outcomes(http_target, path, fields, status, reason):
    result = run_check(url=http_target.base_url + path, **fields)
    assert (str(result.status), result.reason[: len(reason)]) == (status, reason)
    if status in ("healthy", "degraded"):
        assert result.latency_ms > 0
        assert result.details["status_code"] > 0


def test_slow_latency_is_measured(http_target):
    result = run_check(url=http_target.base_url + "/slow?ms=250")
    assert 240 <= result.latency_ms < 1000


def test_refused_connection(refused):
    result = run_check(url=f"http://127.0.0.1:{refused}/")
    assert (result.status, result.reason) == ("unhealthy", "connection refused")


def test_huge_body_is_read_only_up_to_the_cap(http_target):
    """Memory allocated while the check runs: tracemalloc's peak, counted from zero (the
    process's peak RSS would hide behind any earlier, larger peak). A warm-up check first,
    so that imports are not counted; a 64 KiB cap allocates ~0.3 MiB here, a 1 MiB one 4."""
    keys = {"body_contains": "needle-not-there", "max_body_bytes": 65536, "timeout": "5s"}
    assert run_check(url=http_target.base_url + "/ok", **keys).status == "unhealthy"
    tracemalloc.start()
    try:
        result = run_check(url=http_target.base_url + "/huge", **keys)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "unhealthy"
    assert "first 65536 bytes read" in result.reason
    assert peak < 2 * 2**20, f"{peak / 2**20:.1f} MiB allocated at the peak"  # of a 64 MiB body


def test_self_signed_tls_fails_verification_by_default(https_target):
    result = run_check(url=https_target.base_url + "/ok")
    assert result.status == "unhealthy"
    assert result.reason.startswith("TLS certificate verification failed")
    relaxed = run_check(url=https_target.base_url + "/ok", verify_tls=False)
    assert relaxed.status == "healthy"


def test_credentials_in_the_url_never_reach_the_result(http_target):
    base = http_target.base_url.replace("http://", "http://monitor:hunter22@")
    result = run_check(url=base + "/status/500", headers={"Authorization": "Bearer tok-123456"})
    text = repr(result)
    assert "hunter22" not in text and "tok-123456" not in text
    assert result.details["target"].startswith("http://***@127.0.0.1")
