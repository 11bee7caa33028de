"""The configuration of a TCP check (``type: tcp``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vigil.checks.model import CheckConfig, check_regex
from vigil.checks.tls import CaBundle, TlsExpiryKeys

_TLS_ONLY = ("server_name", "ca_bundle", "tls_expiry_warning", "tls_expiry_critical")


class TcpCheckConfig(CheckConfig, TlsExpiryKeys):
    type: Literal["tcp"]
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    send: str | None = Field(default=None, min_length=1)  # written (UTF-8) once connected
    expect: str | None = Field(default=None, min_length=1)  # regex searched in the bytes read
    tls: bool = False
    server_name: str | None = Field(default=None, min_length=1)
    ca_bundle: CaBundle | None = None

    @field_validator("expect")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            check_regex(value.encode())  # searched in the bytes received
        return value

    @model_validator(mode="after")
    def _tls_keys_need_tls(self) -> TcpCheckConfig:
        given = [key for key in _TLS_ONLY if key in self.model_fields_set]
        if given and not self.tls:
            raise ValueError(f"{', '.join(given)} need tls: true")
        return self

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return f"{'tls' if self.tls else 'tcp'}://{host}:{self.port}"
