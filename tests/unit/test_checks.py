"""Check types without the network: judging, secrets, error mapping."""

import asyncio

import pytest

from vigil.checks import REGISTRY, CheckResources, Probe, Status, build_check
from vigil.checks.base import Check
from vigil.checks.http.check import HttpCheck
from vigil.checks.postgres.check import _parse_secret, _pg_message
from vigil.config import parse_config
from vigil.exceptions import CheckSetupError


def config_of(**check):
    return parse_config({"groups": {"g": {"checks": [check]}}}).group("g").checks[0]


@pytest.fixture
def resources():
    res = CheckResources()
    yield res
    res.close()


def test_registry_builds_every_type(resources):
    examples = {
        "dns": {"query": "example.com"},
        "heartbeat": {"period": "1d"},
        "http": {"url": "http://h/"},
        "postgres": {"host": "h", "database": "d", "user": "u"},
        "tcp": {"host": "h", "port": 1},
    }
    assert set(REGISTRY) == set(examples)
    for type_name, fields in examples.items():
        check = build_check(config_of(name="c", type=type_name, **fields), resources)
        assert isinstance(check, REGISTRY[type_name].check_class())


@pytest.mark.parametrize(
    ("expect", "code", "ok"),
    [
        (None, 200, True),
        (None, 204, True),
        (None, 301, False),
        (None, 500, False),
        ([200], 200, True),
        ([200], 201, False),
        ([503, 200], 503, True),
    ],
)
def test_http_status_conditions(resources, expect, code, ok):
    check = HttpCheck(
        config_of(name="c", type="http", url="http://h/", expect_status=expect), resources
    )
    assert (check._status_failures(code) == []) is ok


@pytest.mark.parametrize(
    ("probe", "status"),
    [
        (Probe(True, "HTTP 200", 100.0), Status.HEALTHY),
        (Probe(True, "HTTP 200", 900.0), Status.DEGRADED),
        (Probe(False, "HTTP 500", 10.0), Status.UNHEALTHY),
        (Probe(True, "HTTP 200", None), Status.HEALTHY),
    ],
)
def test_judge(resources, probe, status):
    check = HttpCheck(
        config_of(name="c", type="http", url="http://h/", degraded_after="800ms"), resources
    )
    result = check.judge(probe)
    assert result.status == status
    if status == Status.DEGRADED:
        assert result.reason.startswith("slow: 900 ms > 800 ms")


class Exploding(Check):
    type_name = "exploding"

    def __init__(self, config, resources, error):
        super().__init__(config, resources)
        self.error = error

    async def probe(self):
        raise self.error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (CheckSetupError("secret 'x' could not be read"), "secret 'x' could not be read"),
        (ZeroDivisionError("boom"), "check failed to run: ZeroDivisionError: boom"),
    ],
)
def test_run_turns_exceptions_into_error_results(resources, error, reason):
    check = Exploding(config_of(name="c", type="tcp", host="h", port=1), resources, error)
    result = asyncio.run(check.run())
    assert result.status == Status.ERROR and result.reason == reason


def test_url_password_never_reaches_a_result(resources):
    check = HttpCheck(config_of(name="c", type="http", url="http://bob:hunter22@h/"), resources)
    result = check.judge(
        Probe(False, "failed for http://bob:hunter22@h/", 1.0, {"note": "hunter22"})
    )
    assert "hunter22" not in repr(result)
    assert result.details["target"] == "http://***@h/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", ("plain", None)),
        ('{"password": "p", "username": "u"}', ("p", "u")),
        ({"password": "p"}, ("p", None)),
        ('"quoted"', ('"quoted"', None)),
    ],
)
def test_postgres_secret_formats(value, expected):
    assert _parse_secret(value) == expected


def test_postgres_secret_without_password_is_a_setup_error():
    with pytest.raises(CheckSetupError, match="password"):
        _parse_secret('{"username": "u"}')


def test_pg_server_errors_are_one_line():
    error = Exception({"S": "FATAL", "C": "28P01", "M": "password authentication failed"})
    assert _pg_message(error) == "password authentication failed (SQLSTATE 28P01)"
    assert _pg_message(OSError("[Errno 111] Connection refused")) == "connection refused"


def test_missing_secret_store_is_a_setup_error(resources):
    with pytest.raises(CheckSetupError):
        resources.secret("x")


def test_registry_gives_model_and_check_of_every_type():
    from vigil.checks.model import CheckConfig

    models = [REGISTRY[name].config_model() for name in sorted(REGISTRY)]
    assert [model.model_fields["type"].annotation.__args__[0] for model in models] == sorted(
        REGISTRY
    )
    for entry in REGISTRY.values():
        assert issubclass(entry.config_model(), CheckConfig)
        assert entry.check_class().__module__ == f"{entry.package}.check"


def test_loading_a_config_imports_no_check_library(tmp_path):
    """Cold start: the config models are light; httpx and pg8000 come with their checks only."""
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "checks.yaml"
    path.write_text(
        textwrap.dedent(
            """
            groups:
              core:
                checks:
                  - {name: api, type: http, url: "https://h/"}
                  - {name: db, type: postgres, host: h, database: d, user: u}
                  - {name: port, type: tcp, host: h, port: 1}
                  - {name: name, type: dns, query: example.com, expect: 192.0.2.1}
            """
        )
    )
    script = textwrap.dedent(
        f"""
        import sys
        from vigil.config import load_config
        from vigil.checks import build_check, CheckResources
        config = load_config({str(path)!r})
        heavy = ("httpx", "httpcore", "h11", "pg8000", "dns")
        loaded = sorted(m for m in heavy if m in sys.modules)
        assert not loaded, loaded
        build_check(config.group("core").check("port"), CheckResources())
        assert "pg8000" not in sys.modules and "httpx" not in sys.modules
        build_check(config.group("core").check("api"), CheckResources())
        assert "httpx" in sys.modules and "pg8000" not in sys.modules and "dns" not in sys.modules
        assert "h11" in sys.modules and "httpcore" not in sys.modules  # no client, no pool
        build_check(config.group("core").check("name"), CheckResources())
        assert "dns" in sys.modules and "pg8000" not in sys.modules
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_every_encoding_of_a_remembered_secret_is_masked_in_reason_and_nested_details(resources):
    import base64
    import json
    from urllib.parse import quote, quote_plus

    check = HttpCheck(
        config_of(
            name="c",
            type="http",
            url="http://h/",
            headers={"Authorization": "Basic " + base64.b64encode(b"ann:pa ss/1").decode()},
        ),
        resources,
    )
    encodings = [
        "pa ss/1",
        quote("pa ss/1", safe=""),
        quote_plus("pa ss/1"),
        base64.b64encode(b"ann:pa ss/1").decode(),
        base64.b64encode(b"pa ss/1").decode(),
        json.dumps("ann:pa ss/1")[1:-1],
    ]
    for shown in encodings:
        result = check.judge(Probe(False, f"echo {shown}", 1.0, {"seen": [{"line": shown}]}))
        assert shown not in result.reason and "***" in result.reason
        assert result.details["seen"] == [{"line": "***"}]


def test_an_unforeseen_error_quotes_only_a_short_printable_masked_excerpt(resources):
    check = Exploding(
        config_of(name="c", type="http", url="http://u:hunter22@h/"),
        resources,
        ValueError("junk \x00\x1b" + "hunter22" + "z" * 500),
    )
    check.remember_url(check.config.url)
    result = asyncio.run(check.run())
    assert result.reason.startswith("check failed to run: ValueError: junk ??***zzz")
    assert result.reason.endswith("...") and len(result.reason) <= 40 + 80
    assert "hunter22" not in result.reason


def test_a_config_builds_only_the_models_of_the_types_it_uses(tmp_path):
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "checks.yaml"
    path.write_text("groups: {core: {checks: [{name: api, type: http, url: 'https://h/'}]}}\n")
    script = textwrap.dedent(
        f"""
        import sys
        from vigil.config import load_config
        load_config({str(path)!r})
        unused = ("vigil.checks.dns.config", "vigil.checks.postgres.config", "jmespath")
        print(sorted(m for m in unused if m in sys.modules))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
