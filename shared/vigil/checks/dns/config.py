"""The configuration of a DNS check (``type: dns``).

Light on purpose: dnspython is imported by ``check.py`` only. Expected values
are validated and normalised here, with the standard library, so that a value
that can never match is refused at load.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from vigil.checks.model import CheckConfig, check_regex

RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA"]
Rcode = Literal[
    "NOERROR",
    "FORMERR",
    "SERVFAIL",
    "NXDOMAIN",
    "NOTIMP",
    "REFUSED",
    "YXDOMAIN",
    "YXRRSET",
    "NXRRSET",
    "NOTAUTH",
    "NOTZONE",
]
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_RESOLVER = re.compile(
    r"^\[(?P<v6>[^\]]+)\](?::(?P<v6port>\d+))?$|^(?P<v4>[0-9.]+)(?::(?P<port>\d+))?$"
)


def domain_name(value: str) -> str:
    """``value`` as a comparable domain name (lower case, no final dot); else ValueError."""
    name = value.strip().rstrip(".").lower()
    if not name:
        return "."
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"not a domain name: {value!r}")
    return name


def normalise_answer(record_type: str, value: str) -> str:
    """A record's value as the check compares it (the same for answers and ``expect``)."""
    if record_type in ("A", "AAAA"):
        address = ipaddress.ip_address(value.strip())
        if (record_type == "A") != (address.version == 4):
            raise ValueError(f"{value!r} is not an IPv{4 if record_type == 'A' else 6} address")
        return address.compressed
    if record_type in ("CNAME", "NS"):
        return domain_name(value)
    if record_type == "MX":
        preference, _, exchange = value.strip().partition(" ")
        if not preference.isdigit():
            raise ValueError(
                f"expected '<preference> <host>', such as '10 mail.example.com', got {value!r}"
            )
        return f"{int(preference)} {domain_name(exchange)}"
    if record_type == "SOA":
        parts = value.split()
        if len(parts) != 7 or not all(p.isdigit() for p in parts[2:]):
            raise ValueError(
                "expected '<mname> <rname> <serial> <refresh> <retry> <expire> <minimum>', "
                f"got {value!r}"
            )
        return " ".join([domain_name(parts[0]), domain_name(parts[1]), *parts[2:]])
    return value  # TXT: the text itself


class DnsCheckConfig(CheckConfig):
    type: Literal["dns"]
    query: str = Field(min_length=1)  # the name to resolve (the check keeps its own ``name``)
    record_type: RecordType = "A"
    resolver: str | None = None  # ip[:port]; default the system's resolvers
    expect: list[str] | None = Field(default=None, min_length=1)
    expect_matches: str | None = None
    expect_rcode: Rcode = "NOERROR"

    @field_validator("query")
    @classmethod
    def _name(cls, value: str) -> str:
        domain_name(value)
        return value.strip()

    @field_validator("record_type", "expect_rcode", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("resolver")
    @classmethod
    def _resolver(cls, value: str | None) -> str | None:
        if value is not None:
            resolver_address(value)
        return value

    @field_validator("expect", mode="before")
    @classmethod
    def _one_value(cls, value: Any) -> Any:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return [str(value)]
        if isinstance(value, list):
            return [
                str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                for v in value
            ]
        return value

    @field_validator("expect_matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            check_regex(value)
        return value

    @model_validator(mode="after")
    def _expected_values_can_match(self) -> DnsCheckConfig:
        for value in self.expect or ():
            try:
                normalise_answer(self.record_type, value)
            except ValueError as exc:
                raise ValueError(f"expect: {exc} (record_type {self.record_type})") from None
        return self

    @property
    def expected_answers(self) -> list[str]:
        return [normalise_answer(self.record_type, v) for v in self.expect or ()]

    @property
    def target(self) -> str:
        where = self.resolver or "system"
        return f"dns://{where}/{self.query}?type={self.record_type}"


def resolver_address(value: str) -> tuple[str, int]:
    """``ip``, ``ip:port``, ``[v6]`` or ``[v6]:port`` as (ip, port); ValueError otherwise."""
    text = value.strip()
    match = _RESOLVER.match(text)
    host, port = (
        (text, None)
        if match is None
        else (match["v6"] or match["v4"], match["v6port"] or match["port"])
    )
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"expected an IP address with an optional port (1.1.1.1, 10.0.0.2:53, [::1]:53), "
            f"got {value!r}"
        ) from None
    number = int(port) if port else 53
    if not 1 <= number <= 65535:
        raise ValueError(f"port {number} is out of range")
    return address.compressed, number
