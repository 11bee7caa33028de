"""What the runner's cold start imports and builds: only what a valid configuration uses.

Each test runs in a fresh interpreter, as a new Lambda container does, and looks at
``sys.modules`` and the environment after the step that matters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNNER_APP = REPO / "functions" / "runner" / "app.py"

VALID = """
defaults: {timeout: 5s}
groups:
  core:
    checks:
      - {name: api, type: http, url: "https://h/", expect_status: [200]}
      - {name: port, type: tcp, host: h, port: 1}
      - {name: db, type: postgres, host: h, database: d, user: u, password_secret: vigil/db}
"""


# The runner's handler module, imported as Lambda imports it, as the variable ``app``.
LOAD_APP = f"""\
import importlib.util
spec = importlib.util.spec_from_file_location("runner_app", {str(RUNNER_APP)!r})
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
"""


def run_fresh(script: str, env: dict[str, str] | None = None) -> str:
    """Run ``script`` in a fresh interpreter (``LOAD_APP`` first where it says ``LOAD_APP``)."""
    code = textwrap.dedent(script).replace("LOAD_APP\n", LOAD_APP)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def lambda_env(config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        HEALTHCHECK_TABLE="vigil-test",
        HEALTHCHECK_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:vigil-test",
        HEALTHCHECK_CONFIG=str(config),
        **extra,
    )
    return env


def test_a_valid_config_never_imports_the_wording_of_problems(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    out = run_fresh(
        f"""
        import sys
        from vigil.config import load_config
        load_config({str(path)!r})
        print(sorted(m for m in ("vigil.config_problems", "difflib") if m in sys.modules))
        """
    )
    assert out == "[]"


def test_a_refused_config_is_worded_as_before(tmp_path):
    """The wording is imported at the first problem; the messages keep their key paths."""
    path = tmp_path / "checks.yaml"
    path.write_text(
        "defaults: {timout: 5s}\n"
        "groups:\n"
        "  core:\n"
        "    checks:\n"
        "      - {name: api, type: http, url: 'ftp://h/', password: x}\n"
        "      - {name: t, type: tpc, host: h, port: 1}\n"
        "      - {name: slow, type: tcp, host: h, port: 1, degraded_after: 9s}\n"
    )
    out = run_fresh(
        f"""
        from vigil.config import ConfigError, load_config
        try:
            load_config({str(path)!r})
        except ConfigError as exc:
            for where, what in exc.problems:
                print(where, "|", what)
        """
    )
    problems = dict(line.split(" | ", 1) for line in out.splitlines())
    assert problems["defaults.timout"] == "unknown key; did you mean `timeout`?"
    assert problems["groups.core.checks[0].url"] == (
        "expected an http:// or https:// URL with a host"
    )
    assert problems["groups.core.checks[0].password"].startswith("inline secrets are not allowed")
    assert problems["groups.core.checks[1].type"].startswith("unknown check type 'tpc'")
    assert problems["groups.core.checks[2].degraded_after"].startswith(
        "degraded_after 9s is not below timeout 5s"
    )


def test_the_runner_reads_no_secret_module_until_a_check_needs_one(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    out = run_fresh(
        """
        import sys
        LOAD_APP
        from vigil.environment.runner import runner_from_environment
        runner = runner_from_environment(app.DEFAULT_CONFIG, group="core")
        print("vigil.secrets" in sys.modules, runner.get_secret is not None)
        """,
        env=lambda_env(path),
    )
    assert out == "False True"


def test_heartbeats_and_locations_are_paid_for_only_by_a_config_that_has_them(tmp_path):
    """The pings (their store and judging) and the combining's statistics are imported at
    a cold start only when a group has a heartbeat check (and then the runner has its
    pings store)."""
    script = """
        import sys
        LOAD_APP
        from vigil.environment.runner import runner_from_environment
        runner = runner_from_environment(app.DEFAULT_CONFIG, group="core")
        print(sorted(m for m in ("vigil.pings", "vigil.store.pings", "statistics")
                     if m in sys.modules), runner.pings is not None)
        """
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    assert run_fresh(script, env=lambda_env(path)) == "[] False"
    path.write_text(VALID + "      - {name: backup, type: heartbeat, period: 1d}\n")
    assert run_fresh(script, env=lambda_env(path)) == "['vigil.pings', 'vigil.store.pings'] True"


def test_the_handler_turns_off_pydantic_plugin_discovery_unless_told_otherwise(tmp_path):
    """pydantic's first model would read every installed package's entry points.

    The handler sets the variable after its imports: no model may be built before it
    (pydantic's plugin cache stays unset until it looks for plugins).
    """
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    script = """
        import os
        import pydantic.plugin._loader as plugin_loader
        LOAD_APP
        from vigil.environment.runner import runner_from_environment
        runner_from_environment(app.DEFAULT_CONFIG, group="core")
        print(repr(os.environ.get("PYDANTIC_DISABLE_PLUGINS")), plugin_loader._plugins)
        """
    assert run_fresh(script, env=lambda_env(path)) == "'__all__' None"
    chosen = lambda_env(path, PYDANTIC_DISABLE_PLUGINS="")
    assert run_fresh(script, env=chosen) == "'' {}"  # looked for plugins and found none


def test_in_lambda_the_collector_is_off_during_init_and_back_on_after_the_first_event(tmp_path):
    """Init runs with the garbage collector off; the first invocation - even one whose event
    is refused - collects, freezes what init made and turns the collector back on."""
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    out = run_fresh(
        """
        import gc
        LOAD_APP
        during_init, frozen_before = gc.isenabled(), gc.get_freeze_count()
        from vigil_cli.local.harness import LambdaContext
        try:
            app.handler({"group": "core", "typo": 1}, LambdaContext(60, "vigil-runner"))
        except Exception as exc:
            refused = type(exc).__name__
        print(during_init, refused, gc.isenabled(), gc.get_freeze_count() > frozen_before)
        """,
        env=lambda_env(path, AWS_LAMBDA_FUNCTION_NAME="vigil-runner"),
    )
    assert out.splitlines()[-1] == "False InvalidEventError True True"


def test_outside_lambda_the_collector_is_left_alone(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    out = run_fresh(
        """
        import gc
        LOAD_APP
        print(gc.isenabled())
        """,
        env=lambda_env(path),
    )
    assert out.splitlines()[-1] == "True"


STATUS_APP = REPO / "functions" / "status" / "app.py"


def test_the_status_function_gets_the_same_cold_start_care(tmp_path):
    """Collector off while the container initialises, no pydantic plugin search, and the
    first request (even one answered with an error) turns the collector back on, frozen."""
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    out = run_fresh(
        f"""
        import gc, os
        import importlib.util
        import pydantic.plugin._loader as plugin_loader
        spec = importlib.util.spec_from_file_location("status_app", {str(STATUS_APP)!r})
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        during_init, frozen_before = gc.isenabled(), gc.get_freeze_count()
        from vigil_cli.local.harness import LambdaContext
        from vigil_cli.local.status_server import function_url_event
        answer = app.handler(function_url_event("GET", "/nowhere"), LambdaContext(15, "status"))
        print(during_init, answer["statusCode"], gc.isenabled(),
              gc.get_freeze_count() > frozen_before,
              repr(os.environ.get("PYDANTIC_DISABLE_PLUGINS")), plugin_loader._plugins)
        """,
        env=lambda_env(path, AWS_LAMBDA_FUNCTION_NAME="vigil-status"),
    )
    assert out.splitlines()[-1] == "False 404 True True '__all__' None"


def test_the_status_function_reads_pings_only_for_a_config_with_heartbeats(tmp_path):
    """Like the runner: the pings' modules and store come with a heartbeat check only."""
    script = """
        import sys
        from pathlib import Path
        from vigil.environment.status import queries_from_environment
        queries = queries_from_environment(Path("checks.yaml"))
        print(sorted(m for m in ("vigil.pings", "vigil.store.pings") if m in sys.modules),
              queries.pings is not None)
        """
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    assert run_fresh(script, env=lambda_env(path)) == "[] False"
    path.write_text(VALID + "      - {name: backup, type: heartbeat, period: 1d}\n")
    assert run_fresh(script, env=lambda_env(path)) == "['vigil.pings', 'vigil.store.pings'] True"


def test_the_state_machine_imports_no_check_machinery():
    """vigil.state is pure: it reads statuses from the leaf vigil.results, and loading it
    pulls in neither the checks (ssl, a thread pool, redaction) nor pydantic."""
    loaded = run_fresh(
        """
        import sys
        import vigil.state
        print(sorted(m for m in ("ssl", "asyncio", "concurrent.futures.thread", "pydantic",
                                 "vigil.checks.base", "vigil.redact") if m in sys.modules))
        """
    )
    assert loaded == "[]"


NOTIFIER_APP = REPO / "functions" / "notifier" / "app.py"


def test_the_notifier_has_the_runners_cold_start_care(tmp_path):
    """The same helper (vigil.lambda_init): collector off during init and back on, init
    frozen, after the first invocation - even one whose environment is refused; no
    pydantic plugin discovery."""
    path = tmp_path / "checks.yaml"
    path.write_text(VALID)
    script = f"""
        import gc, importlib.util, os
        spec = importlib.util.spec_from_file_location("notifier_app", {str(NOTIFIER_APP)!r})
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        during_init, frozen_before = gc.isenabled(), gc.get_freeze_count()
        from vigil_cli.local.harness import LambdaContext
        try:
            app.handler({{"Records": []}}, LambdaContext(60, "vigil-notifier"))
            outcome = "handled"
        except Exception as exc:
            outcome = type(exc).__name__
        print(during_init, os.environ["PYDANTIC_DISABLE_PLUGINS"], outcome, gc.isenabled(),
              gc.get_freeze_count() > frozen_before)
        """
    queue = "https://sqs.us-east-1.amazonaws.com/123456789012/vigil-dead-letters"
    env = lambda_env(path, AWS_LAMBDA_FUNCTION_NAME="vigil-notifier")
    out = run_fresh(script, env={**env, "VIGIL_NOTIFY_DEAD_LETTER_QUEUE_URL": queue})
    assert out.splitlines()[-1] == "False __all__ VigilError True True"  # no VIGIL_NOTIFY_TABLE
    out = run_fresh(
        script,
        env={
            **env,
            "VIGIL_NOTIFY_DEAD_LETTER_QUEUE_URL": queue,
            "VIGIL_NOTIFY_TABLE": "vigil-notifications",
        },
    )
    assert out.splitlines()[-1] == "False __all__ handled True True"
    outside = {k: v for k, v in env.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    out = run_fresh(script, env=outside)
    assert out.splitlines()[-1] == "True __all__ VigilError True False"  # nothing frozen
