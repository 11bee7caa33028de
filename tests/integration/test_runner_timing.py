"""What the runner reports about its own measurement: lag per check, traced latency."""

from __future__ import annotations

import json

from tests.integration.conftest import minute


def test_each_result_has_a_lag_bound_and_the_run_its_largest(
    aws, invoke, write_config, http_target
):
    checks = "\n".join(
        f'          - {{name: api-{i}, type: http, url: "{http_target.base_url}/slow?ms=250"}}'
        for i in range(5)
    )
    write_config(f"groups:\n  core:\n    checks:\n{checks}\n")
    summary = invoke("core", minute(0))
    json.dumps(summary)
    names = [r["check"] for r in summary["results"]]
    assert sorted(summary["lag_ms"]) == sorted(names)
    assert all(lag >= 0 for lag in summary["lag_ms"].values())
    assert summary["lag_ms_max"] >= max(summary["lag_ms"].values())
    for result in summary["results"]:
        # Traced from sending the request to the response head, so it includes the
        # 250 ms the server holds every response. A lower bound caused by the server,
        # not a speed target: a slower machine only reads more.
        assert result["status"] == "healthy" and result["latency_ms"] >= 240


def test_a_repeated_delivery_reports_no_lags_it_did_not_measure(
    aws, invoke, write_config, http_target
):
    url = http_target.base_url + "/ok"
    write_config(f'groups: {{core: {{checks: [{{name: api, type: http, url: "{url}"}}]}}}}')
    assert "api" in invoke("core", minute(0))["lag_ms"]
    again = invoke("core", minute(0))
    assert again["duplicate"] is True
    assert "lag_ms" not in again and "lag_ms_max" not in again


def test_tls_contexts_outlive_the_run(aws, invoke, write_config, http_target):
    from vigil.checks import CheckResources
    from vigil.run import execution

    url = http_target.base_url + "/ok"
    write_config(f'groups: {{core: {{checks: [{{name: api, type: http, url: "{url}"}}]}}}}')
    invoke("core", minute(0))
    kept = dict(execution.TLS_CONTEXTS)
    assert (True, None) in kept  # the run's verifying context was kept for the next runs
    invoke("core", minute(1))
    assert execution.TLS_CONTEXTS[(True, None)] is kept[(True, None)]

    shared: dict = {}
    first = CheckResources(ssl_contexts=shared)
    second = CheckResources(ssl_contexts=shared)
    try:
        assert first.ssl_context(True) is second.ssl_context(True)
        assert first.ssl_context(True) is not first.ssl_context(False)
    finally:
        first.close()
        second.close()
