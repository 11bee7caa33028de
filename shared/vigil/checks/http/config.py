"""The configuration of an HTTP(S) check (``type: http``).

Light on purpose: pydantic and the standard library. ``jmespath`` is imported
only to validate a config that has ``json`` assertions.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from vigil.checks.expect import Expectation
from vigil.checks.model import CheckConfig, StrictModel, check_regex
from vigil.checks.tls import CaBundle, TlsExpiryKeys
from vigil.redact import redact_url

DEFAULT_MAX_REDIRECTS = 10
_STATUS_TEXT = re.compile(r"^\s*(?:(\d{3})\s*-\s*(\d{3})|([1-5])xx|(\d{3}))\s*$", re.IGNORECASE)
_TLS_ONLY = ("tls_expiry_warning", "tls_expiry_critical", "ca_bundle", "client_cert_secret")


class StatusRange(BaseModel):
    """Accepted status codes ``low``..``high`` (inclusive), written as ``text`` in the config."""

    model_config = {"frozen": True}

    low: int
    high: int
    text: str

    def __contains__(self, code: int) -> bool:
        return self.low <= code <= self.high


def _status_range(value: Any) -> StatusRange:
    """``200`` / ``"200"``, ``"200-299"`` or ``"2xx"`` as a range of codes."""
    if isinstance(value, bool):
        raise ValueError(f"expected a status code, a range '200-299' or a class '2xx', got {value}")
    if isinstance(value, int):
        low = high = value
        text = str(value)
    elif isinstance(value, str) and (match := _STATUS_TEXT.match(value)):
        first, last, klass, single = match.groups()
        if klass:
            low, high = int(klass) * 100, int(klass) * 100 + 99
        elif single:
            low = high = int(single)
        else:
            low, high = int(first), int(last)
        text = value.strip()
    else:
        raise ValueError(
            f"expected a status code, a range '200-299' or a class '2xx', got {value!r}"
        )
    if not (100 <= low <= 599 and 100 <= high <= 599):
        raise ValueError(f"status {text!r}: codes must be within 100-599")
    if low > high:
        raise ValueError(f"status range {text!r} ends before it starts")
    return StatusRange(low=low, high=high, text=text)


class SecretValue(StrictModel):
    """A header value read from Secrets Manager: the whole secret, or one key of its JSON."""

    secret: str = Field(min_length=1)
    key: str | None = Field(default=None, min_length=1)


def _header_value(value: Any) -> str | SecretValue:
    """A header value: text, or ``{secret: <name>}`` / ``{secret: <name>, key: <json key>}``."""
    if isinstance(value, str | SecretValue):
        return value
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in ("secret", "key"))
        if unknown:
            raise ValueError(
                f"unknown key {', '.join(unknown)}; expected {{secret: <name>}} or "
                "{secret: <name>, key: <json key>}"
            )
        if not isinstance(value.get("secret"), str) or not value["secret"]:
            raise ValueError("expected {secret: <name>} with the secret's name or ARN")
        if "key" in value and (not isinstance(value["key"], str) or not value["key"]):
            raise ValueError("key: expected the name of a key of the secret's JSON")
        return SecretValue(secret=value["secret"], key=value.get("key"))
    raise ValueError(
        "expected text, {secret: <name>} or {secret: <name>, key: <json key>}, "
        f"got {type(value).__name__}"
    )


HeaderValue = Annotated[str | SecretValue, BeforeValidator(_header_value)]

# Headers the exchange owns: the framing of the request (RFC 9112 section 6: never both
# Content-Length and Transfer-Encoding) and the protocol it speaks (HTTP/1.1, no upgrade).
_OWN_HEADERS = {
    "content-length": "Vigil frames the request itself (Content-Length from `body`)",
    "transfer-encoding": "Vigil frames the request itself (Content-Length from `body`)",
    "upgrade": "a check speaks HTTP/1.1 and never switches protocols",
}


def _header_name(name: str) -> str:
    """A request header's name; the headers the exchange owns are refused."""
    why = _OWN_HEADERS.get(name.strip().lower())
    if why is not None:
        raise ValueError(f"{why}; remove this header")
    return name


HeaderName = Annotated[str, AfterValidator(_header_name)]


class JsonAssertion(Expectation):
    """``{path: <JMESPath>, <op>: <value>}``: the value at ``path`` in the JSON body."""

    path: str = Field(min_length=1)

    @field_validator("path")
    @classmethod
    def _jmespath(cls, value: str) -> str:
        import jmespath  # only when a config asserts on JSON
        import jmespath.exceptions

        try:
            jmespath.compile(value)
        except jmespath.exceptions.JMESPathError as exc:
            why = getattr(exc, "msg", None) or type(exc).__name__
            raise ValueError(f"not a valid JMESPath expression: {why}") from None
        return value


def _regex(value: str) -> str:
    check_regex(value)
    return value


class HttpCheckConfig(CheckConfig, TlsExpiryKeys):
    type: Literal["http"]
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)
    body: str | None = None
    expect_status: tuple[StatusRange, ...] | None = None
    body_contains: str | None = Field(default=None, min_length=1)
    body_not_contains: str | None = Field(default=None, min_length=1)
    body_matches: str | None = Field(default=None, min_length=1)
    json_assertions: tuple[JsonAssertion, ...] = Field(default=(), alias="json")
    headers_match: dict[str, str] = Field(default_factory=dict)
    max_redirects: int = Field(default=DEFAULT_MAX_REDIRECTS, ge=0, le=50)
    follow_redirects: bool = True  # the first edition's key: false is max_redirects: 0
    verify_tls: bool = True
    ca_bundle: CaBundle | None = None
    client_cert_secret: str | None = Field(default=None, min_length=1)
    ip_version: Literal[4, 6, "any"] = "any"
    max_body_bytes: PositiveInt = 1_048_576

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s?#]+", value):
            raise ValueError("expected an http:// or https:// URL with a host")
        return value

    @field_validator("expect_status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        if value is None:
            return value
        items = value if isinstance(value, list | tuple) else [value]
        if not items:
            raise ValueError("expected at least one status, range or class")
        return tuple(_status_range(item) for item in items)

    @field_validator("body_matches")
    @classmethod
    def _body_regex(cls, value: str | None) -> str | None:
        return None if value is None else _regex(value)

    @field_validator("headers_match")
    @classmethod
    def _header_regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            check_regex(pattern, name)
        return value

    @field_validator("ip_version", mode="before")
    @classmethod
    def _ip_version(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip() in ("4", "6"):
            return int(value)
        if value not in (4, 6, "any") or isinstance(value, bool):
            raise ValueError(f"expected 4, 6 or any, got {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HttpCheckConfig:
        given = self.model_fields_set
        both = "follow_redirects" in given and "max_redirects" in given
        if both and not self.follow_redirects and self.max_redirects:
            raise ValueError(
                "follow_redirects: false contradicts max_redirects: "
                f"{self.max_redirects} (use max_redirects alone; 0 = do not follow)"
            )
        if self.method == "HEAD" and self.reads_body:
            raise ValueError(
                "body_contains, body_not_contains, body_matches and json need a body: "
                "not with method HEAD"
            )
        if not self.verify_tls:
            wrong = [key for key in _TLS_ONLY if key in given]
            if wrong:
                raise ValueError(f"{', '.join(wrong)} need verify_tls: true")
        return self

    @property
    def redirect_limit(self) -> int:
        """How many redirects to follow (0: none); ``follow_redirects: false`` means 0."""
        return self.max_redirects if self.follow_redirects else 0

    @property
    def reads_body(self) -> bool:
        """Whether any assertion needs the body."""
        return bool(
            self.body_contains
            or self.body_not_contains
            or self.body_matches
            or self.json_assertions
        )

    @property
    def target(self) -> str:
        return redact_url(self.url)
