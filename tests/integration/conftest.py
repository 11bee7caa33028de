"""Integration harness: the real runner handler on moto, resources from template.yaml."""

from __future__ import annotations

import importlib.util
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.tcp_servers import Servers
from tests.support.times import at
from vigil.store.base import StateStore
from vigil_cli.local.local_aws import REPO, LocalAws


def load_function(name: str):
    """Import ``functions/<name>/app.py`` under a unique module name (no ``app`` clashes)."""
    path = REPO / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"vigil_function_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeLambdaContext:
    function_name = "vigil-local-runner"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:vigil-local-runner"

    def __init__(self, remaining_ms: int = 30_000):
        self.aws_request_id = str(uuid.uuid4())
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


@pytest.fixture
def runner_app(aws):
    """The handler module, imported as Lambda would: after its environment is set."""
    return load_function("runner")


@pytest.fixture
def aws(tmp_path, monkeypatch):
    """Embedded AWS with the template's table and topic; alerts readable via ``drain_alerts``."""
    from aws_lambda_powertools.utilities import parameters

    import vigil.environment.runner
    import vigil.lambda_init

    # Tests that set AWS_LAMBDA_FUNCTION_NAME (fan-out) must not gc.freeze the test process.
    monkeypatch.setattr(vigil.lambda_init, "_FROZEN", True)

    vigil.environment.runner.clear_cache()
    parameters.clear_caches()
    with LocalAws() as local:
        yield local
    vigil.environment.runner.clear_cache()
    parameters.clear_caches()


@pytest.fixture(params=["dynamodb", "memory"])
def store(request) -> Iterator[StateStore]:
    """Each ``StateStore``: the DynamoDB store on moto, and the in-memory fake.

    A test using it is one contract, run against both (their suites share it)."""
    from vigil.store.memory import MemoryStore

    if request.param == "memory":
        yield MemoryStore()
        return
    from vigil.store.dynamodb import DynamoDBStore

    aws = request.getfixturevalue("aws")
    yield DynamoDBStore(aws.table_name)


@pytest.fixture
def write_config(tmp_path, monkeypatch) -> Callable[[str], Path]:
    """Write a config file and point ``HEALTHCHECK_CONFIG`` at it."""
    counter = iter(range(1000))

    def write(text: str) -> Path:
        path = tmp_path / f"checks-{next(counter)}.yaml"
        path.write_text(textwrap.dedent(text))
        monkeypatch.setenv("HEALTHCHECK_CONFIG", str(path))
        return path

    return write


@pytest.fixture
def invoke(aws, runner_app) -> Callable[..., dict[str, Any]]:
    """Call the runner handler like EventBridge Scheduler would."""

    def call(
        group: str | None, scheduled_time: str | None = None, remaining_ms: int = 30_000, **extra
    ):
        """``group=None``: only ``extra`` (``invoke(None, tick=...)`` is a tick)."""
        event: dict[str, Any] = {**({"group": group} if group is not None else {}), **extra}
        if scheduled_time is not None:
            event["scheduled_time"] = scheduled_time
        return runner_app.handler(event, FakeLambdaContext(remaining_ms))

    return call


@pytest.fixture
def no_botocore_sleep(monkeypatch):
    """botocore's backoff sleeps are skipped (recorded) so retries happen at once."""
    import time
    import types

    import botocore.endpoint

    slept: list[float] = []
    fake_time = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if n[0] != "_"})
    fake_time.sleep = slept.append
    monkeypatch.setattr(botocore.endpoint, "time", fake_time)
    return slept


@pytest.fixture
def servers(tmp_path) -> Iterator[Servers]:
    """Loopback servers (``tcp_servers.Servers``) for one test, closed after it."""
    running = Servers(tmp_path)
    yield running
    running.close()


def minute(n: int, hour: int = 10) -> str:
    """Scheduled time of the n-th run of a 1-minute schedule."""
    return at(f"{hour + n // 60:02d}:{n % 60:02d}")


@pytest.fixture
def refused() -> int:
    """A loopback port with nothing listening."""
    from vigil_cli.targets import refused_port

    return refused_port()
