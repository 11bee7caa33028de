"""``LazyClient``: a boto3 client attribute made on first use, unless one was given.

boto3 is imported when the client is first needed, so a run that never touches a
service never pays its import; tests and the local tools give their own client.

    class SnsPublisher:
        client = LazyClient("sns")

        def __init__(self, topic_arn, *, client=None):
            self.client = client  # None: boto3.client("sns") on first use
"""

from __future__ import annotations

from typing import Any


class LazyClient:
    """A descriptor: ``boto3.client(service, config=Config(**config))`` on first read of
    an instance's attribute that holds None (``config`` empty: boto3's defaults)."""

    def __init__(self, service: str, **config: Any):
        self.service, self.config = service, config
        self.slot = f"_{service}_client"

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        client = instance.__dict__.get(self.slot)
        if client is None:
            import boto3

            options: dict[str, Any] = {}
            if self.config:
                from botocore.config import Config

                options["config"] = Config(**self.config)
            client = boto3.client(self.service, **options)
            instance.__dict__[self.slot] = client
        return client

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.slot] = value
