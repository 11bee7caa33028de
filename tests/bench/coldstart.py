"""Cold starts of the Lambda functions: each handler's init against its bare dependencies.

A cold start is measured in fresh interpreters, as a new Lambda container starts:
importing the handler module as Lambda does (with ``AWS_LAMBDA_FUNCTION_NAME`` set,
so the handler's own init runs with the garbage collector off), loading the config
and creating the clients its first invocation needs. Its baseline ("bare") imports
the same dependencies and creates the same clients, also with the collector off,
so the difference is the handler's own work. No bytecode is written, as in Lambda,
whose layer is read-only: the vigil package comes compiled as the layer ships it
(``compiled_layer``), the dependencies' bytecode was compiled by pip.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMPORT_REPEATS = 21  # cold starts vary by +-10 ms on a shared VM: the median of many

_LOAD_APP = """
import time
started = time.perf_counter()
import importlib.util
spec = importlib.util.spec_from_file_location("vigil_function_{name}", {app!r})
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
"""

_DONE = """
elapsed = time.perf_counter() - started
import vigil
assert vigil.__file__.startswith({layer!r}), vigil.__file__
print(elapsed * 1000)
"""

_BARE_START = """
import time
started = time.perf_counter()
import gc
gc.disable()
"""


@dataclass(frozen=True)
class Function:
    """How one function's first invocation is readied (``init``), and its bare baseline."""

    app: Path
    init: str  # after the handler module is loaded as ``app``: config and clients
    bare: str  # the same dependencies and clients, without Vigil


FUNCTIONS = {
    # The runner: its config, its store and topic clients, and the check modules its
    # group uses. Bare: the pieces it uses (pydantic's top level alone is lazy; asyncio
    # runs the checks, h11 is the http check's wire protocol) and the same clients.
    "runner": Function(
        app=REPO / "functions" / "runner" / "app.py",
        init="""
from vigil.checks import check_class
from vigil.environment.runner import runner_from_environment
runner = runner_from_environment(app.DEFAULT_CONFIG, group={group!r})
runner.store.client, runner.publisher.client
for name in sorted({{c.type for c in runner.config.group({group!r}).checks}}):
    check_class(name)
""",
        bare="""
import asyncio, boto3, h11, httpx, yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
boto3.client("dynamodb"), boto3.client("sns")
""",
    ),
    # The status function: its routes, the config (which groups and checks exist) and
    # the table's client.
    "status": Function(
        app=REPO / "functions" / "status" / "app.py",
        init="""
from vigil.environment.status import queries_from_environment
queries_from_environment(app.DEFAULT_CONFIG).store.client
""",
        bare="""
import boto3, yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
boto3.client("dynamodb")
""",
    ),
    # The notifier: the config's notifications, the ledger (Powertools Idempotency on
    # DynamoDB), the dead-letter queue, the topic and the HTTP client.
    "notifier": Function(
        app=REPO / "functions" / "notifier" / "app.py",
        init="""
from vigil.environment.notifier import notifier_from_environment
notifier = notifier_from_environment(app.DEFAULT_CONFIG)
notifier.destinations()
""",
        bare="""
import boto3, httpx, yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function)
boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sqs")
httpx.Client()
""",
    ),
    # The ping function: its door (the key's provider and the table's client) and the
    # config read lightly (which heartbeat checks exist; the key itself is a request).
    # Bare: boto3, the Powertools Logger and the same two clients - what any function
    # behind a URL that reads a secret and writes DynamoDB pays.
    "ping": Function(
        app=REPO / "functions" / "ping" / "app.py",
        init="""
from vigil.environment.ping import door_from_environment
door = door_from_environment(app.DEFAULT_CONFIG)
door.heartbeats(), door.store.client, door.key.provider.client
""",
        bare="""
import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
boto3.client("dynamodb"), boto3.client("secretsmanager")
""",
    ),
}


def compiled_layer(directory: Path) -> Path:
    """The vigil package as the layer ships it (shared/Makefile), under ``directory``:
    a copy of shared/vigil compiled to unchecked-hash bytecode."""
    package = directory / "vigil"
    shutil.copytree(
        REPO / "shared" / "vigil", package, ignore=shutil.ignore_patterns("__pycache__")
    )
    compileall.compile_dir(
        package, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    return directory


def import_times(
    function: str, config: Path, group: str = "core", repeats: int = IMPORT_REPEATS
) -> tuple[float, float]:
    """Median cold (handler) and bare (dependencies) init ms of ``function``."""
    with tempfile.TemporaryDirectory(prefix="vigil-layer-") as layer:
        return _import_times(FUNCTIONS[function], function, config, group, repeats, Path(layer))


def _import_times(
    function: Function, name: str, config: Path, group: str, repeats: int, layer: Path
) -> tuple[float, float]:
    compiled_layer(layer)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(layer), os.environ.get("PYTHONPATH", "")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "HEALTHCHECK_TABLE": "vigil-bench",
        "HEALTHCHECK_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:vigil-bench",
        "HEALTHCHECK_CONFIG": str(config),
        "VIGIL_NOTIFY_TABLE": "vigil-bench-notify",
        "VIGIL_NOTIFY_DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/dlq",
        "HEALTHCHECK_PING_KEY_SECRET": "arn:aws:secretsmanager:us-east-1:1:secret:k-AbCdEf",
        "POWERTOOLS_SERVICE_NAME": "vigil",
        "POWERTOOLS_METRICS_NAMESPACE": "Vigil",
        "AWS_LAMBDA_FUNCTION_NAME": f"vigil-bench-{name}",  # a cold start in Lambda
    }
    cold_code = (
        _LOAD_APP.format(name=name, app=str(function.app))
        + function.init.format(group=group)
        + _DONE.format(layer=str(layer))
    )
    bare_code = _BARE_START + function.bare + "print((time.perf_counter() - started) * 1000)\n"
    cold, bare = [], []
    for _ in range(repeats):  # alternate, so that both see the same machine
        for code, into in ((cold_code, cold), (bare_code, bare)):
            out = subprocess.run(
                [sys.executable, "-c", code],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            into.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(cold), statistics.median(bare)


if __name__ == "__main__":  # python -m tests.bench.coldstart [function ...]
    for chosen in sys.argv[1:] or list(FUNCTIONS):
        cold_ms, bare_ms = import_times(
            chosen, REPO / "functions" / "runner" / "checks.yaml", repeats=7
        )
        print(f"{chosen}: cold {cold_ms:.1f} ms, bare {bare_ms:.1f} ms, +{cold_ms - bare_ms:.1f}")
