"""Build the ``Notifier`` from the Lambda environment (a deliberate warm-start cache).

Environment (template.yaml declares them all):
- ``HEALTHCHECK_CONFIG``: the configuration file (its ``notifications:``),
  relative to the function's package root or absolute;
- ``HEALTHCHECK_TOPIC_ARN``: the alert topic (relayed alarms are published to it);
- ``VIGIL_ALARM_TOPIC_ARN``: the topic Vigil's CloudWatch alarms publish to;
- ``VIGIL_CHAT_TOPIC_ARN``: the chat topic of the ``chatbot`` channel;
- ``VIGIL_NOTIFY_TABLE``: the ledger table (at most once per alert and destination);
- ``VIGIL_NOTIFY_DEAD_LETTER_QUEUE_URL``: where undeliverable notifications go.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from vigil.alerts.document import AlertDocument
from vigil.config import VigilConfig, load_config, resolve_config_path
from vigil.exceptions import ConfigError, VigilError
from vigil.notify.base import Transport
from vigil.notify.config import Destination
from vigil.notify.deadletter import DeadLetters
from vigil.notify.ledger import Ledger
from vigil.notify.notifier import Notifier

logger = logging.getLogger(__name__)

TOPIC_ENV = "HEALTHCHECK_TOPIC_ARN"
ALARM_TOPIC_ENV = "VIGIL_ALARM_TOPIC_ARN"
CHAT_TOPIC_ENV = "VIGIL_CHAT_TOPIC_ARN"
TABLE_ENV = "VIGIL_NOTIFY_TABLE"
DEAD_LETTER_ENV = "VIGIL_NOTIFY_DEAD_LETTER_QUEUE_URL"
HTTP_TIMEOUT_S = 10.0

# Warm-start cache: one Notifier per (config file, its mtime, environment), so a warm
# container keeps its HTTP connections and AWS clients and does not re-read the file.
_NOTIFIER_CACHE: dict[tuple[str, ...], Notifier] = {}


def clear_cache() -> None:
    """Forget the cached notifier (its configuration and clients are built afresh)."""
    _NOTIFIER_CACHE.clear()


def notifier_from_environment(default_config: Path) -> Notifier:
    """The cached ``Notifier`` for the current environment and configuration file.

    Raises ``VigilError`` naming a missing variable, ``ConfigError`` for a bad file.
    """
    path = resolve_config_path(default_config)
    names = (TOPIC_ENV, ALARM_TOPIC_ENV, CHAT_TOPIC_ENV, TABLE_ENV, DEAD_LETTER_ENV)
    values = {name: os.environ.get(name, "") for name in names}
    for required in (TABLE_ENV, DEAD_LETTER_ENV):
        if not values[required]:
            raise VigilError(f"environment variable {required} is not set")
    try:
        mtime = str(path.stat().st_mtime)
    except OSError:
        mtime = ""
    key = (str(path), mtime, *values.values())
    if key not in _NOTIFIER_CACHE:
        _NOTIFIER_CACHE.clear()
        _NOTIFIER_CACHE[key] = _build(path, values)
    return _NOTIFIER_CACHE[key]


def _build(path: Path, values: dict[str, str]) -> Notifier:
    import boto3
    import httpx
    from aws_lambda_powertools.metrics import EphemeralMetrics

    from vigil.alerts.sns import SnsPublisher

    loaded: list[VigilConfig] = []
    known: list[frozenset[tuple[str, str]]] = []

    def config() -> VigilConfig:
        if not loaded:
            try:
                loaded.append(load_config(path))
            except ConfigError as exc:
                logger.error("configuration refused: %s", exc, extra={"problems": exc.problems})
                raise
        return loaded[0]

    def destinations() -> tuple[Destination, ...]:
        return config().notifications

    def known_checks() -> frozenset[tuple[str, str]]:
        if not known:
            groups = config().groups.items()
            known.append(frozenset((name, c.name) for name, g in groups for c in g.checks))
        return known[0]

    sns = boto3.client("sns")
    topic = values[TOPIC_ENV]

    def publish(document: AlertDocument) -> str:
        if not topic:
            raise VigilError(f"environment variable {TOPIC_ENV} is not set: cannot relay alarms")
        return SnsPublisher(topic, client=sns).publish(document)

    return Notifier(
        destinations=destinations,
        known_checks=known_checks,
        transport=Transport(
            http=httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False),
            sns=sns,
            chat_topic_arn=values[CHAT_TOPIC_ENV] or None,
        ),
        ledger=Ledger(values[TABLE_ENV]),
        dead_letters=DeadLetters(values[DEAD_LETTER_ENV], boto3.client("sqs")),
        publish=publish,
        metrics=EphemeralMetrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Vigil")),
        alarm_topic_arn=values[ALARM_TOPIC_ENV] or None,
    )
