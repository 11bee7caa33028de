"""The configuration of a TCP check (``type: tcp``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vigil.checks.model import CheckConfig


class TcpCheckConfig(CheckConfig):
    type: Literal["tcp"]
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)

    @property
    def target(self) -> str:
        return f"tcp://{self.host}:{self.port}"
