"""A probe of locations whose home cannot be reached (its region is down, or the home
stack is not deployed yet): the probe still starts, runs its checks and ticks, and its
watch tells of the silent home once, on the probe's own topic."""

from __future__ import annotations

import logging

from tests.integration.conftest import minute
from vigil_cli.local.local_aws import REGION

HOME = "eu-west-1"


def test_a_probe_whose_home_cannot_be_reached_runs_ticks_and_alerts_home_silent_once(
    aws, invoke, write_config, refused, monkeypatch, caplog
):
    assert REGION != HOME
    monkeypatch.setenv("HEALTHCHECK_STACK_NAME", "vigil-not-deployed-at-home")
    monkeypatch.setenv("HEALTHCHECK_HOME_TABLE", "")  # looked up: no such stack there
    write_config(
        f"""
        locations: {{home: {HOME}, probes: [{REGION}]}}
        groups:
          edge:
            checks:
              - {{name: db, type: tcp, host: 127.0.0.1, port: {refused}}}
        """
    )
    with caplog.at_level(logging.ERROR):
        run = invoke("edge", minute(0))
    assert run["location"]["role"] == "probe"
    assert [(r["check"], r["status"]) for r in run["results"]] == [("db", "unhealthy")]
    assert f"observations of edge#0@{minute(0)} not written to the home's table" in caplog.text
    assert "deploy the home stack under the same name first" in caplog.text

    for tick in range(1, 8):
        assert invoke(None, tick=minute(tick))["tick"] == minute(tick)
    alerts = [
        (a.document["check"], a.document["status"], a.document["timestamp"])
        for a in aws.drain_alerts()
    ]
    assert alerts == [(f"home-silent/{HOME}", "unhealthy", minute(5))]
    assert "the home's table could not be read (eu-west-1)" in caplog.text
