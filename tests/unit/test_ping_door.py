"""The ping function's pieces without AWS: what it keeps of a body, which checks its
light reading of the configuration finds, and what its cold start imports."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.environment.ping import heartbeat_checks
from vigil.ping_door import BASE64_PREFIX_CHARS, body_excerpt
from vigil.pings import EXCERPT_CHARS, excerpt
from vigil.yaml_source import load_yaml

REPO = Path(__file__).resolve().parents[2]


def post(body: str, *, encoded: bool = False) -> dict:
    return {"body": body, "isBase64Encoded": encoded}


@given(st.binary(max_size=6000))
def test_a_base64_body_keeps_what_the_whole_body_would(raw):
    assert body_excerpt(post(base64.b64encode(raw).decode(), encoded=True)) == excerpt(raw)


@given(st.text(max_size=3000))
def test_a_text_body_keeps_its_first_characters(text):
    kept = body_excerpt(post(text))
    assert kept == excerpt(text.encode("utf-8", errors="replace"))
    assert kept is None or (len(kept) <= EXCERPT_CHARS and text.startswith(kept[:1]))


def test_the_base64_prefix_holds_the_excerpts_bytes():
    """4 UTF-8 bytes per character at most: the prefix decodes to at least 4,000 bytes."""
    assert BASE64_PREFIX_CHARS % 4 == 0
    assert len(base64.b64decode("A" * BASE64_PREFIX_CHARS)) >= EXCERPT_CHARS * 4
    widest = "😀" * (EXCERPT_CHARS + 5)  # 4 bytes each
    kept = body_excerpt(post(base64.b64encode(widest.encode()).decode(), encoded=True))
    assert kept == "😀" * EXCERPT_CHARS


@pytest.mark.parametrize(
    "event", [{}, {"body": None}, {"body": ""}, post("", encoded=True), post("@@@@", encoded=True)]
)
def test_no_body_or_a_broken_one_keeps_nothing(event):
    assert body_excerpt(event) is None


def test_heartbeat_checks_are_read_from_any_yaml_shape():
    document, _ = load_yaml(
        """
        defaults: {timeout: 5s}
        groups:
          jobs:
            checks:
              - {name: backup, type: heartbeat, period: 1d}
              - {name: api, type: http, url: "https://x/"}
              - {name: 7, type: heartbeat}
              - {type: heartbeat}
              - just text
          empty: {}
          listed: [1, 2]
          other:
            checks: {name: not-a-list, type: heartbeat}
          more:
            checks:
              - &base {name: sync, type: heartbeat, period: 1h}
              - {<<: *base, name: sync-eu}
        """
    )
    assert heartbeat_checks(document) == {("jobs", "backup"), ("more", "sync"), ("more", "sync-eu")}
    for shapeless in (None, "text", [1], {"groups": None}, {"groups": [1]}):
        assert heartbeat_checks(shapeless) == frozenset()


def test_a_probe_of_locations_knows_no_heartbeat():
    """The same checks.yaml deploys to every region; only the home judges heartbeats, so a
    probe's door answers every ping 404 rather than count one nobody reads."""
    document = {
        "locations": {"home": "eu-west-1", "probes": ["us-east-1"]},
        "groups": {"jobs": {"checks": [{"name": "backup", "type": "heartbeat"}]}},
    }
    assert heartbeat_checks(document, "eu-west-1") == {("jobs", "backup")}
    assert heartbeat_checks(document, "us-east-1") == frozenset()
    assert heartbeat_checks({**document, "locations": "shapeless"}, "us-east-1") == {
        ("jobs", "backup")
    }


def test_the_cold_start_imports_no_validation_nor_check_machinery(tmp_path):
    """The ping function's init in a fresh interpreter, as a new container: its handler
    module, its door, the configuration read. pydantic, the check types, the runner
    and the run records' store stay out."""
    config = tmp_path / "checks.yaml"
    config.write_text("groups:\n  jobs:\n    checks:\n      - {name: b, type: heartbeat}\n")
    code = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("ping_app", {str(REPO / "functions/ping/app.py")!r})
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
from vigil.environment.ping import door_from_environment
door = door_from_environment(app.DEFAULT_CONFIG)
assert door.heartbeats() == {{("jobs", "b")}}
heavy = ("pydantic", "vigil.config", "vigil.checks", "vigil.run", "vigil.store.base",
         "vigil.environment.runner", "vigil.rollups", "httpx")
print(sorted(m for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")))
"""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HEALTHCHECK_TABLE": "vigil-test",
        "HEALTHCHECK_PING_KEY_SECRET": "arn:aws:secretsmanager:us-east-1:1:secret:k-AbCdEf",
        "HEALTHCHECK_CONFIG": str(config),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
