"""The home's status API and page show, for each check, its last run as each location
saw it: status, latency and reason per region, and a probe that did not report.

The home (us-east-1, the embedded AWS's region) runs through the real handler; the
probes' observations are put in its table as a probe's runner puts them
(``put_observations``) before the home's run reads them.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import minute
from tests.integration.test_status_page import Dom, browse, keep
from vigil.results import CheckResult, Status
from vigil.store.dynamodb import DynamoDBStore
from vigil_cli.local.status_server import (
    StatusContext,
    StatusServer,
    function_url_event,
    load_status_function,
)

HOME, SEEN, SILENT = "us-east-1", "eu-west-1", "ap-southeast-2"


@pytest.fixture
def located(aws, write_config, invoke, servers, refused):
    from tests.integration.tcp_servers import banner

    listening = servers.serve(banner)
    write_config(
        f"""
        locations: {{home: {HOME}, probes: [{SEEN}, {SILENT}]}}
        quorum_wait: 3s
        defaults: {{timeout: 1s}}
        groups:
          edge:
            checks:
              - {{name: api, type: tcp, host: 127.0.0.1, port: {listening}}}
              - {{name: db, type: tcp, host: 127.0.0.1, port: {refused}, failure_threshold: 1}}
        """
    )
    probe = DynamoDBStore(aws.table_name)
    seen = [
        CheckResult("api", Status.UNHEALTHY, "connection timed out", None, {"location": SEEN}),
        CheckResult("db", Status.UNHEALTHY, "connection refused", None, {"location": SEEN}),
    ]
    probe.put_observations("edge", 0, minute(0), SEEN, seen, 2_000_000_000)
    summary = invoke("edge", minute(0))
    return {r["check"]: r for r in summary["results"]}


def test_the_combined_result_keeps_each_locations_view(located):
    api, db = located["api"], located["db"]
    # api: healthy at home, unhealthy in one probe, the other silent: 1 of 2 is no majority
    assert api["status"] == "healthy"
    assert api["details"]["locations"][SEEN]["status"] == "unhealthy"
    assert api["details"]["locations"][SILENT] is None
    assert db["status"] == "unhealthy" and db["reason"].startswith("unhealthy in 2 of 3")


def test_the_status_api_and_page_show_each_location(located, tmp_path):
    status = load_status_function()

    def get(path: str) -> dict:
        answer = status.handler(function_url_event("GET", path), StatusContext())
        assert answer["statusCode"] == 200, answer
        return json.loads(answer["body"])

    (group,) = get("/api/status")["groups"]
    api = {c["check"]: c for c in group["checks"]}["api"]
    assert api["status"] == "healthy"
    by_region = {view["region"]: view for view in api["locations"]}
    assert list(by_region) == [HOME, SEEN, SILENT]  # the home first
    assert by_region[HOME]["status"] == "healthy" and by_region[HOME]["latency_ms"] is not None
    assert by_region[SEEN] == {
        "region": SEEN,
        "status": "unhealthy",
        "latency_ms": None,
        "reason": "connection timed out",
    }
    assert by_region[SILENT] == {
        "region": SILENT,
        "status": None,
        "latency_ms": None,
        "reason": None,
    }
    detail = get("/api/checks/edge/db")
    assert [view["status"] for view in detail["locations"]] == ["unhealthy", "unhealthy", None]

    with StatusServer(status.handler) as served:
        overview = Dom(browse(served.url))
        spans = [a for a in overview.tags("span") if a.get("class") == "location"]
        assert [(a["data-region"], a["data-status"]) for a in spans[:3]] == [
            (HOME, "healthy"),
            (SEEN, "unhealthy"),
            (SILENT, "none"),
        ]
        page = Dom(browse(served.url + "checks/edge/db"))
        rows = [a["data-region"] for a in page.tags("tr") if a.get("class") == "location"]
        assert rows == [HOME, SEEN, SILENT]
        assert "connection refused" in page.text and "no report in time" in page.text
        shot = tmp_path / "status-locations.png"
        browse(served.url + "checks/edge/db", screenshot=shot, size="1280,900")
        assert shot.stat().st_size > 10_000
        keep(shot)
        overview_shot = tmp_path / "status-locations-overview.png"
        browse(served.url, screenshot=overview_shot, size="1280,700")
        keep(overview_shot)
