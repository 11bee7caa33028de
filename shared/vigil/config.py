"""Check configuration: the YAML file of DESIGN.md, validated with pydantic.

``load_config(path)`` returns a ``VigilConfig`` or raises ``ConfigError`` naming
the file and every bad key path at once (``groups.core.checks[1].url: ...``).
Defaults are merged into each check before it is validated, so a check that
inherits a value is judged exactly as if it had written it itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveInt,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from vigil.durations import parse_duration
from vigil.exceptions import ConfigError, UnknownGroupError
from vigil.redact import redact_url

DEFAULT_CONFIG = "checks.yaml"
CONFIG_ENV = "HEALTHCHECK_CONFIG"
# libyaml's loader when PyYAML was built with it (the Lambda wheels are): same safe
# subset of YAML, ~8x faster on a large config, which the cold start pays for.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Duration = Annotated[float, BeforeValidator(parse_duration)]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NAME_RE = re.compile(NAME_PATTERN)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """Settings every check inherits unless it sets its own."""

    timeout: Duration = Field(default=5.0, gt=0)
    failure_threshold: PositiveInt = 2
    success_threshold: PositiveInt = 1
    degraded_after: Duration | None = Field(default=None, gt=0)
    interval: Duration | None = Field(default=None, gt=0)
    metrics: bool = True  # per-check CloudWatch metrics: the main cost of a deployment


class CheckConfig(Defaults):
    """Fields common to every check type."""

    name: str = Field(pattern=NAME_PATTERN)
    type: str
    description: str | None = None

    @property
    def target(self) -> str:
        """What the check points at, safe to show (no credentials)."""
        raise NotImplementedError


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


class PostgresCheckConfig(CheckConfig):
    type: Literal["postgres"]
    host: str = Field(min_length=1)
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(min_length=1)
    user: str | None = None
    password_secret: str | None = None
    query: str = "SELECT 1"
    # As libpq's sslmode: no TLS, TLS without verifying the server, or TLS verifying
    # the certificate and host name (against ssl_root_cert, e.g. the RDS CA bundle).
    sslmode: Literal["disable", "require", "verify-full"] = "disable"
    ssl_root_cert: str | None = None

    @property
    def target(self) -> str:
        return f"postgres://{self.host}:{self.port}/{self.database}"


class TcpCheckConfig(CheckConfig):
    type: Literal["tcp"]
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)

    @property
    def target(self) -> str:
        return f"tcp://{self.host}:{self.port}"


AnyCheckConfig = Annotated[
    HttpCheckConfig | PostgresCheckConfig | TcpCheckConfig, Field(discriminator="type")
]
_CHECK_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyCheckConfig)
CHECK_TYPES = ("http", "postgres", "tcp")
_SECRET_KEYS = {"password", "secret", "token", "api_key", "dsn"}


class GroupConfig(_Strict):
    name: str
    checks: tuple[AnyCheckConfig, ...]
    shards: PositiveInt = 1

    def check(self, name: str) -> CheckConfig:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)


class VigilConfig(_Strict):
    source: str
    defaults: Defaults
    groups: dict[str, GroupConfig]
    notifications: tuple[Any, ...] = ()  # vigil.notify.config.Destination

    def group(self, name: str) -> GroupConfig:
        """Return the group or raise ``UnknownGroupError`` naming the known groups."""
        try:
            return self.groups[name]
        except KeyError:
            raise UnknownGroupError(name, sorted(self.groups)) from None


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The config file the runner uses: ``$HEALTHCHECK_CONFIG`` or ``checks.yaml``."""
    environ = os.environ if environ is None else environ
    return Path(environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str]) -> VigilConfig:
    """Read and validate a config file; raise ``ConfigError`` listing every problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [("(file)", f"cannot read the file: {exc.strerror}")]) from None
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [(where, f"not valid YAML: {problem}")]) from None
    return parse_config(raw, source=source)


def parse_config(raw: Any, *, source: str = "<config>") -> VigilConfig:
    """Validate an already-parsed config document (see ``load_config``)."""
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        raise ConfigError(source, [("(top level)", "expected a mapping with a 'groups' key")])
    for key in raw:
        if key not in ("defaults", "groups", "notifications"):
            problems.append((str(key), "unknown key; expected defaults, groups or notifications"))

    defaults_raw = raw.get("defaults") or {}
    defaults = Defaults()
    if not isinstance(defaults_raw, dict):
        problems.append(("defaults", "expected a mapping"))
        defaults_raw = {}
    else:
        try:
            defaults = Defaults.model_validate(defaults_raw)
        except ValidationError as exc:
            bad = _problems(exc, "defaults", defaults_raw)
            problems.extend(bad)
            bad_keys = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            defaults_raw = {k: v for k, v in defaults_raw.items() if k not in bad_keys}
            defaults = Defaults.model_validate(defaults_raw)

    groups: dict[str, GroupConfig] = {}
    groups_raw = raw.get("groups")
    if not isinstance(groups_raw, dict) or not groups_raw:
        problems.append(("groups", "expected a mapping of at least one group name to its checks"))
        groups_raw = {}
    for group_name, group_raw in groups_raw.items():
        group = _parse_group(str(group_name), group_raw, defaults_raw, problems)
        if group is not None:
            groups[group.name] = group

    from vigil.notify.config import parse_notifications  # here: vigil.notify imports vigil.checks

    notifications = parse_notifications(raw.get("notifications"), problems, groups=groups_raw)
    if problems:
        raise ConfigError(source, problems)
    return VigilConfig(source=source, defaults=defaults, groups=groups, notifications=notifications)


def _parse_group(
    name: str, raw: Any, defaults_raw: dict[str, Any], problems: list[tuple[str, str]]
) -> GroupConfig | None:
    path = f"groups.{name}"
    start = len(problems)
    if not _NAME_RE.match(name):
        problems.append((path, "group names use letters, digits, '-', '_' or '.' (64 at most)"))
    if not isinstance(raw, dict):
        problems.append((path, "expected a mapping with a 'checks' list"))
        return None
    for key in raw:
        if key not in ("checks", "shards"):
            problems.append((f"{path}.{key}", "unknown key; expected 'checks' or 'shards'"))
    shards = raw.get("shards", 1)
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 100:
        problems.append(
            (f"{path}.shards", f"expected a whole number from 1 to 100, got {shards!r}")
        )
    checks_raw = raw.get("checks")
    if not isinstance(checks_raw, list) or not checks_raw:
        problems.append((f"{path}.checks", "expected a list of at least one check"))
        return None

    checks: list[CheckConfig] = []
    seen: dict[str, int] = {}
    for index, check_raw in enumerate(checks_raw):
        check_path = f"{path}.checks[{index}]"
        if not isinstance(check_raw, dict):
            problems.append((check_path, "expected a mapping with at least 'name' and 'type'"))
            continue
        check_name = check_raw.get("name")
        if isinstance(check_name, str):
            if check_name in seen:
                problems.append(
                    (
                        f"{check_path}.name",
                        f"duplicate name {check_name!r} (first at groups.{name}"
                        f".checks[{seen[check_name]}]); names must be unique within a group",
                    )
                )
            seen.setdefault(check_name, index)
        try:
            checks.append(_CHECK_ADAPTER.validate_python({**defaults_raw, **check_raw}))
        except ValidationError as exc:
            problems.extend(_problems(exc, check_path, check_raw))
    if len(problems) > start:
        return None
    return GroupConfig(name=name, checks=tuple(checks), shards=shards)


def _problems(exc: ValidationError, prefix: str, raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Turn pydantic errors into ``(key path, message)`` pairs without echoing secrets."""
    found: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            got = raw.get("type")
            message = (
                f"unknown check type {got!r}; expected one of: {', '.join(CHECK_TYPES)}"
                if got is not None
                else f"missing 'type'; expected one of: {', '.join(CHECK_TYPES)}"
            )
            found.append((f"{prefix}.type", message))
            continue
        if loc and loc[0] in CHECK_TYPES:
            loc = loc[1:]  # drop the discriminator pydantic puts first
        path = prefix + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc
        )
        key = str(loc[0]) if loc else ""
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            if key in _SECRET_KEYS or "password" in key:
                message = "inline secrets are not allowed; name a Secrets Manager secret instead"
                message += " (password_secret)" if "password" in key else ""
            else:
                message = "unknown key for this check type"
        elif err["type"] == "missing":
            message = "required key is missing"
        elif "input" in err and key not in _SECRET_KEYS and err["type"] != "value_error":
            shown = err["input"]
            if isinstance(shown, str | int | float | bool) and not isinstance(shown, dict):
                text = redact_url(shown) if isinstance(shown, str) else shown
                message = f"{message}, got {text!r}"
        found.append((path, message))
    return found
