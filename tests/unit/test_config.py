import textwrap

import pytest

from vigil.checks.http.config import HttpCheckConfig
from vigil.checks.postgres.config import PostgresCheckConfig
from vigil.config import load_config, parse_config
from vigil.exceptions import ConfigError, UnknownGroupError


def write(tmp_path, text):
    path = tmp_path / "checks.yaml"
    path.write_text(textwrap.dedent(text))
    return path


VALID = """
defaults:
  timeout: 3s
  failure_threshold: 3
groups:
  core:
    checks:
      - name: api
        type: http
        url: https://api.example.com/health
        expect_status: 204
        degraded_after: 800ms
        interval: 1m
        timeout: 10s
      - name: database
        type: postgres
        host: db.internal
        database: app
        user: monitor
        password_secret: vigil/db
      - name: cache
        type: tcp
        host: cache.internal
        port: 6379
        metrics: false
  edge:
    shards: 2
    checks:
      - {name: home, type: http, url: "http://example.com"}
"""


def test_valid_config_inherits_defaults_and_parses_durations(tmp_path):
    config = load_config(write(tmp_path, VALID))
    api, database, cache = config.group("core").checks
    assert isinstance(api, HttpCheckConfig)
    assert api.timeout == 10 and api.degraded_after == 0.8 and api.interval == 60
    assert api.expect_status == [204]
    assert api.failure_threshold == 3 and api.success_threshold == 1
    assert isinstance(database, PostgresCheckConfig)
    assert database.timeout == 3 and database.port == 5432 and database.query == "SELECT 1"
    assert cache.metrics is False and cache.port == 6379
    assert config.group("edge").shards == 2


def test_every_problem_is_reported_with_its_key_path(tmp_path):
    path = write(
        tmp_path,
        """
        defaults:
          timeout: soon
        groups:
          core:
            checks:
              - name: api
                type: http
                url: ftp://nope
              - name: db
                type: postgres
                host: db.internal
              - name: api
                type: tcp
                host: cache
                port: 99999
              - name: x
                type: smtp
    """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = dict(caught.value.problems)
    message = str(caught.value)
    assert str(path) in message
    assert "defaults.timeout" in problems and "duration" in problems["defaults.timeout"]
    assert "groups.core.checks[0].url" in problems
    assert "http:// or https://" in problems["groups.core.checks[0].url"]
    assert problems["groups.core.checks[1].database"] == "required key is missing"
    assert "duplicate name 'api'" in problems["groups.core.checks[2].name"]
    assert "groups.core.checks[2].port" in problems
    assert "unknown check type 'smtp'" in problems["groups.core.checks[3].type"]
    assert "5 problems" in message or f"{len(problems)} problems" in message


def test_inline_password_is_refused_without_echoing_it(tmp_path):
    path = write(
        tmp_path,
        """
        groups:
          core:
            checks:
              - {name: db, type: postgres, host: h, database: d, user: u, password: hunter2}
    """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "groups.core.checks[0].password" in dict(caught.value.problems)
    assert "password_secret" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_url_credentials_are_not_echoed_in_errors():
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "groups": {
                    "g": {
                        "checks": [
                            {
                                "name": "a",
                                "type": "http",
                                "url": "http://u:hunter2@h/",
                                "timeout": "x",
                            }
                        ]
                    }
                }
            }
        )
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ([], "(top level)"),
        ({"groups": {}}, "groups"),
        ({"groups": {"core": {"checks": []}}}, "groups.core.checks"),
        (
            {"groups": {"core": {"checks": [{"type": "tcp", "host": "h", "port": 1}]}}},
            "groups.core.checks[0].name",
        ),
        (
            {"groups": {"core": {"checks": [{"name": "a", "host": "h"}]}}},
            "groups.core.checks[0].type",
        ),
        (
            {
                "groups": {
                    "core": {
                        "shards": 0,
                        "checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}],
                    }
                }
            },
            "groups.core.shards",
        ),
        ({"group": {}}, "group"),
        (
            {
                "groups": {
                    "bad name!": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}
                }
            },
            "groups.bad name!",
        ),
    ],
)
def test_structural_problems_name_their_path(raw, path):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="c.yaml")
    assert path in dict(caught.value.problems)


def test_yaml_syntax_error_names_line(tmp_path):
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: not valid YAML"):
        load_config(write(tmp_path, "groups:\n  core: [unclosed\n"))


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_unknown_group_names_known_groups(tmp_path):
    config = load_config(write(tmp_path, VALID))
    with pytest.raises(UnknownGroupError, match="core, edge"):
        config.group("nope")


def test_example_config_in_repository_is_valid():
    from pathlib import Path

    config = load_config(Path(__file__).parents[2] / "functions" / "runner" / "checks.yaml")
    assert config.groups
