import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    assert [(s.low, s.high) for s in api.expect_status] == [(204, 204)]
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


def test_the_headers_vigil_frames_itself_are_refused_at_their_key(tmp_path):
    path = write(
        tmp_path,
        """
        groups:
          core:
            checks:
              - name: orders
                type: http
                url: https://orders.internal/
                method: POST
                body: '{"ping": true}'
                headers: {Transfer-Encoding: chunked, Content-Length: "14", X-Trace: abc}
    """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    lines = str(caught.value).splitlines()[1:]
    why = "Vigil frames the request itself (Content-Length from `body`); remove this header"
    assert sorted(line.strip() for line in lines) == [
        f"groups.core.checks[0].headers.Content-Length: {why}",
        f"groups.core.checks[0].headers.Transfer-Encoding: {why}",
    ]


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


# --- refusals: duplicate keys, unknown keys, timeouts -------------------------------------


def problems_of(tmp_path, text, **kwargs):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), **kwargs)
    return dict(caught.value.problems), str(caught.value)


def test_duplicate_keys_are_refused_with_both_lines_and_every_other_problem(tmp_path):
    problems, message = problems_of(
        tmp_path,
        """
        groups:
          core:
            checks:
              - name: api
                type: http
                url: https://a.example/
                url: https://b.example/
          core:
            checks:
              - {name: db, type: tcp, host: h, port: 1, port: 2}
        groups:
          other: {checks: [{name: x, type: tcp, host: h, port: 1, timout: 2s}]}
        """,
    )
    assert problems["groups.core.checks[0].url"] == (
        "duplicate key 'url' (lines 7 and 8); YAML would silently keep only the last one"
    )
    assert "duplicate key 'core' (lines 3 and 9)" in problems["groups.core"]
    assert "lines 2 and 12" in problems["groups"]
    assert "(lines 11 and 11)" in problems["groups.core.checks[0].port"]
    # the rest of the document is still judged: every problem at once
    assert problems["groups.other.checks[0].timout"] == "unknown key; did you mean `timeout`?"
    assert "5 problems" in message


def test_merge_keys_may_be_overridden_without_a_duplicate(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
            groups:
              core:
                checks:
                  - &base {name: a, type: tcp, host: h, port: 1}
                  - <<: *base
                    name: b
                    port: 2
            """,
        )
    )
    assert [c.port for c in config.group("core").checks] == [1, 2]


def test_duplicate_detection_keeps_libyaml_when_available():
    import yaml

    from vigil.yaml_source import _DuplicateRefusingLoader

    if hasattr(yaml, "CSafeLoader"):
        assert issubclass(_DuplicateRefusingLoader, yaml.CSafeLoader)
    else:  # pragma: no cover - PyYAML without libyaml
        assert issubclass(_DuplicateRefusingLoader, yaml.SafeLoader)


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        (
            {
                "group": {},
                "groups": {"g": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}},
            },
            "group",
            "unknown key; did you mean `groups`?",
        ),
        (
            {
                "defualts": {},
                "groups": {"g": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}},
            },
            "defualts",
            "unknown key; did you mean `defaults`?",
        ),
        (
            {
                "groups": {
                    "g": {
                        "shard": 2,
                        "checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}],
                    }
                }
            },
            "groups.g.shard",
            "unknown key; did you mean `shards`?",
        ),
        (
            {
                "groups": {
                    "g": {
                        "cheks": [],
                        "checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}],
                    }
                }
            },
            "groups.g.cheks",
            "unknown key; did you mean `checks`?",
        ),
        (
            {
                "defaults": {"Timeout": "2s"},
                "groups": {"g": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}},
            },
            "defaults.Timeout",
            "unknown key; did you mean `timeout`?",
        ),
        (
            {
                "groups": {
                    "g": {
                        "checks": [
                            {"name": "a", "type": "http", "url": "http://h/", "expect_staus": 200}
                        ]
                    }
                }
            },
            "groups.g.checks[0].expect_staus",
            "unknown key; did you mean `expect_status`?",
        ),
        (
            {
                "groups": {
                    "g": {
                        "checks": [
                            {
                                "name": "a",
                                "type": "postgres",
                                "host": "h",
                                "database": "d",
                                "querry": "x",
                            }
                        ]
                    }
                }
            },
            "groups.g.checks[0].querry",
            "unknown key; did you mean `query`?",
        ),
        (
            {
                "groups": {
                    "g": {
                        "checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1, "zzz": 1}]
                    }
                }
            },
            "groups.g.checks[0].zzz",
            "unknown key (see the README's key tables for this check type)",
        ),
        (
            {
                "nonsense": 1,
                "groups": {"g": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}},
            },
            "nonsense",
            "unknown key; expected one of: defaults, groups, locations, maintenance, "
            "notifications, quorum_wait",
        ),
    ],
)
def test_unknown_keys_suggest_the_nearest_known_key(raw, path, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert dict(caught.value.problems)[path] == message


def test_unknown_keys_of_one_type_are_suggested_from_that_type_only():
    # `port` is a key of tcp checks, not of http ones: no suggestion points at another type
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "groups": {
                    "g": {
                        "checks": [{"name": "a", "type": "http", "url": "http://h/", "host": "h"}]
                    }
                }
            }
        )
    assert "host" not in dict(caught.value.problems)["groups.g.checks[0].host"].split("`")[1:2]


def test_degraded_after_not_below_timeout_is_refused_at_the_key_the_check_wrote():
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "groups": {
                    "g": {
                        "checks": [
                            {
                                "name": "a",
                                "type": "tcp",
                                "host": "h",
                                "port": 1,
                                "timeout": "2s",
                                "degraded_after": "2s",
                            },
                            {
                                "name": "b",
                                "type": "tcp",
                                "host": "h",
                                "port": 1,
                                "degraded_after": "6s",
                            },
                        ]
                    }
                }
            }
        )
    problems = dict(caught.value.problems)
    assert problems["groups.g.checks[0].degraded_after"].startswith(
        "degraded_after 2s is not below timeout 2s: a check is cut at its timeout"
    )
    assert problems["groups.g.checks[1].degraded_after"].startswith(
        "degraded_after 6s is not below timeout 5s (the built-in default)"
    )


def test_degraded_after_inherited_from_defaults_says_where_it_came_from():
    checks = [
        {"name": "short", "type": "tcp", "host": "h", "port": 1, "timeout": "1s"},
        {"name": "long", "type": "tcp", "host": "h", "port": 1, "timeout": "10s"},
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config({"defaults": {"degraded_after": "3s"}, "groups": {"g": {"checks": checks}}})
    assert dict(caught.value.problems) == {
        "groups.g.checks[0].timeout": "degraded_after 3s (from defaults.degraded_after) is not "
        "below timeout 1s: a check is cut at its timeout, so it could never be reported "
        "degraded; set degraded_after below timeout"
    }


def test_degraded_after_and_timeout_both_from_defaults_are_reported_once_at_defaults():
    checks = [{"name": f"c{i}", "type": "tcp", "host": "h", "port": 1} for i in range(5)]
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "defaults": {"degraded_after": "4s", "timeout": "4s"},
                "groups": {"g": {"checks": checks}},
            }
        )
    problems = caught.value.problems
    assert [path for path, _ in problems] == ["defaults.degraded_after"]
    assert problems[0][1].startswith(
        "degraded_after 4s (from defaults.degraded_after) is not below timeout 4s "
        "(from defaults.timeout)"
    )
    assert problems[0][1].endswith(
        "(inherited by groups.g.checks[0], groups.g.checks[1], groups.g.checks[2] and 2 more)"
    )


def test_a_timeout_the_function_cannot_hold_is_refused_with_the_limit_and_why(tmp_path):
    from vigil.budget import longest_check_timeout

    assert longest_check_timeout(60) == 43.5  # the figure the message below quotes
    problems, _ = problems_of(
        tmp_path,
        """
        groups:
          core:
            checks:
              - {name: slow, type: tcp, host: h, port: 1, timeout: 2m}
              - {name: fine, type: tcp, host: h, port: 1, timeout: 43.5s}
        """,
        function_timeout=60,
    )
    assert problems == {
        "groups.core.checks[0].timeout": "timeout 2m cannot finish inside the function's timeout "
        "of 1m: a check's timeout may be at most 43.5s (each run keeps 15s to store results and "
        "send alerts and 500ms to return, and a check may overrun its timeout by 1s before it "
        "is cut); lower the timeout or raise the function's Timeout"
    }


def test_function_timeout_applies_to_inherited_timeouts_and_is_optional():
    raw = {
        "defaults": {"timeout": "30s"},
        "groups": {"g": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}},
    }
    assert parse_config(raw).group("g").check("a").timeout == 30  # no function timeout given
    assert parse_config(raw, function_timeout=60).group("g").check("a").timeout == 30
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, function_timeout=30)
    [(path, message)] = caught.value.problems
    assert path == "defaults.timeout"
    assert message.startswith("timeout 30s (from defaults.timeout) cannot finish inside")
    assert "at most 21s" in message and message.endswith("(inherited by groups.g.checks[0])")
    # the built-in default 5s is judged too: a 3 s function leaves a check 750 ms
    with pytest.raises(ConfigError, match=r"timeout 5s \(the built-in default\).*at most 1.1s"):
        parse_config({"groups": raw["groups"]}, function_timeout=3)


@pytest.mark.parametrize(
    ("expect", "path", "message"),
    [
        ({"equal": 5}, "expect.equal", "unknown key; did you mean `equals`?"),
        ({"equals": 5, "exists": True}, "expect", "expected exactly one of"),
        ({"less_than": "5"}, "expect.less_than", "expected a number"),
        ({"matches": "(["}, "expect.matches", "not a valid regular expression"),
    ],
)
def test_postgres_expect_errors_name_their_key_path(expect, path, message):
    check = {"name": "db", "type": "postgres", "host": "h", "database": "d", "expect": expect}
    with pytest.raises(ConfigError) as caught:
        parse_config({"groups": {"g": {"checks": [check]}}})
    problems = dict(caught.value.problems)
    assert message in problems[f"groups.g.checks[0].{path}"], problems


@given(keys=st.lists(st.sampled_from(["a", "b", "c", "timeout", "name"]), min_size=1, max_size=12))
def test_every_repeated_key_is_reported_with_its_lines(keys):
    from vigil.yaml_source import load_yaml

    text = "".join(f"{key}: {index}\n" for index, key in enumerate(keys))
    document, duplicates = load_yaml(text)
    first_line: dict[str, int] = {}
    expected = []
    for line, key in enumerate(keys, start=1):
        if key in first_line:
            expected.append((key, first_line[key], line))
        else:
            first_line[key] = line
    assert [(d.key, d.first_line, d.second_line) for d in duplicates] == expected
    assert all(d.path == "(top level)" for d in duplicates)
    # the document itself is what YAML makes of it (the last value wins); the loader only reports
    assert document == {key: max(i for i, k in enumerate(keys) if k == key) for key in keys}


@given(
    timeout=st.integers(min_value=1, max_value=60_000),
    degraded_after=st.integers(min_value=1, max_value=60_000),
    function_timeout=st.one_of(st.none(), st.integers(min_value=1, max_value=900)),
)
def test_timeouts_are_refused_exactly_when_they_cannot_work(
    timeout, degraded_after, function_timeout
):
    from vigil.budget import longest_check_timeout

    check = {
        "name": "c",
        "type": "tcp",
        "host": "h",
        "port": 1,
        "timeout": f"{timeout}ms",
        "degraded_after": f"{degraded_after}ms",
    }
    raw = {"groups": {"g": {"checks": [check]}}}
    too_slow = degraded_after >= timeout
    too_long = function_timeout is not None and timeout / 1000 > longest_check_timeout(
        function_timeout
    )
    try:
        parse_config(raw, function_timeout=function_timeout)
    except ConfigError as exc:
        paths = dict(exc.problems)
        assert ("groups.g.checks[0].degraded_after" in paths) is too_slow
        assert ("groups.g.checks[0].timeout" in paths) is too_long
    else:
        assert not too_slow and not too_long


@pytest.mark.parametrize(
    "check",
    [
        {"headers": {"Authorization": 98765432109876}},
        {"headers": {"X-Api-Key": ["s3cr3t-value-123"]}},
        {"body": 98765432109876},
    ],
)
def test_a_refused_value_that_may_be_a_credential_is_never_quoted(check):
    raw = {"groups": {"g": {"checks": [{"name": "a", "type": "http", "url": "http://x", **check}]}}}
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    text = str(refused.value)
    assert "98765432109876" not in text and "s3cr3t-value-123" not in text
    assert "groups.g.checks[0]." in text
