"""At most once per key: a durable record per unit of work (Powertools Idempotency
on DynamoDB).

The key is data, not the SNS message id: ``{"alert_id", "destination"}`` for a
delivery, ``{"alert_id"}`` for an alarm relayed to the alert topic. A record is
written "in progress" before the work and "completed" with its result after, so
a redelivery or a cold start gets the stored result instead of doing it again.
Work that raises leaves no record: it is tried again on the next delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEFAULT_EXPIRY_SECONDS = 7 * 24 * 3600  # longer than SNS and Lambda keep retrying
KEY_PREFIX = "vigil-notify"


class Ledger:
    """Runs work once per key. ``client``: an optional boto3 DynamoDB client."""

    def __init__(
        self,
        table_name: str,
        *,
        client: Any = None,
        expires_after_seconds: int = DEFAULT_EXPIRY_SECONDS,
    ):
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
        )

        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        self.config = IdempotencyConfig(
            expires_after_seconds=expires_after_seconds, raise_on_no_idempotency_key=True
        )

    def register_lambda_context(self, context: Any) -> None:
        """An in-progress record then expires with the invocation (after a crash)."""
        if context is not None:
            self.config.register_lambda_context(context)

    def once(self, kind: str, key: dict[str, str], work: Callable[[], dict[str, Any]]) -> dict:
        """``work()``'s result, run only if no completed record exists for (kind, key).

        Raises ``IdempotencyAlreadyInProgressError`` while another invocation is
        doing the same work, and whatever ``work`` raised.
        """
        from aws_lambda_powertools.utilities.idempotency import idempotent_function

        def run(record_key: dict[str, str]) -> dict[str, Any]:
            return work()

        guarded = idempotent_function(
            data_keyword_argument="record_key",
            persistence_store=self.persistence,
            config=self.config,
            key_prefix=f"{KEY_PREFIX}/{kind}",
        )(run)
        return guarded(record_key=key)
