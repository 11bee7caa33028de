"""The configuration of an HTTP(S) check (``type: http``)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, field_validator

from vigil.checks.model import CheckConfig
from vigil.redact import redact_url


class HttpCheckConfig(CheckConfig):
    type: Literal["http"]
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expect_status: list[Annotated[int, Field(ge=100, le=599)]] | None = None
    body_contains: str | None = None
    follow_redirects: bool = True
    verify_tls: bool = True
    max_body_bytes: PositiveInt = 1_048_576

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s?#]+", value):
            raise ValueError("expected an http:// or https:// URL with a host")
        return value

    @field_validator("expect_status", mode="before")
    @classmethod
    def _one_status(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value

    @property
    def target(self) -> str:
        return redact_url(self.url)
