"""How ``vigil.config`` words a refused configuration: key paths and messages.

Imported only when a configuration has a problem, so that loading a valid one
(every cold start) neither compiles nor runs any of it. Every message says
where (the key path, ``groups.core.checks[1].url``) and what was expected, and
never echoes a value that may be a credential.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from vigil.checks.model import CheckConfig
from vigil.checks.registry import REGISTRY, check_types
from vigil.redact import redact_url

Problems = list[tuple[str, str]]

_SECRET_KEYS = {"password", "secret", "token", "api_key", "dsn"}
_LISTED_KEYS_AT_MOST = 6  # an unknown key with no near match lists the known ones up to this many


@dataclass
class Inherited:
    """Problems with a value every affected check took from ``defaults``: reported once there."""

    message: str
    checks: list[str] = field(default_factory=list)


def model_for(raw: Mapping[str, Any]) -> type[BaseModel]:
    """The model a check's problems are explained against: its type's, else ``CheckConfig``."""
    entry = REGISTRY.get(raw.get("type")) if isinstance(raw.get("type"), str) else None
    return entry.config_model() if entry is not None else CheckConfig


def unknown_type(got: Any) -> str:
    known = ", ".join(check_types())
    if got is None:
        return f"missing 'type'; expected one of: {known}"
    return f"unknown check type {got!r}; expected one of: {known}"


def unknown_key(key: str, known: Sequence[str]) -> str:
    """``unknown key; did you mean `timeout`?``, or the known keys when none is near."""
    lowered = {name.lower(): name for name in known}
    near = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    if near:
        return f"unknown key; did you mean `{lowered[near[0]]}`?"
    if len(known) <= _LISTED_KEYS_AT_MOST:
        return f"unknown key; expected one of: {', '.join(sorted(known))}"
    return "unknown key (see the README's key tables for this check type)"


def _known_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys allowed in the mapping at ``loc`` inside ``model`` (nested models included)."""
    annotation: Any = model
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    return sorted({f.alias or name for m in _models_in(annotation) for name, f in _keys(m)})


def _keys(model: type[BaseModel]) -> list[tuple[str, Any]]:
    """``(name, field)`` of a model's fields (a field's config key is its alias, if any)."""
    return list(model.model_fields.items())


def _step(annotation: Any, part: Any) -> Any:
    for candidate in _unwrap(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            by_key = {f.alias or name: f for name, f in _keys(candidate)}
            if isinstance(part, str) and part in by_key:
                return by_key[part].annotation
            continue
        origin, args = typing.get_origin(candidate), typing.get_args(candidate)
        if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives of an annotation: ``Annotated``, ``X | None`` and unions unwrapped."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [alt for arg in typing.get_args(annotation) for alt in _unwrap(arg)]
    return [annotation]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    return [a for a in _unwrap(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]


# Values under these keys may be credentials (a header's value, a request body, a
# webhook URL): a refusal names the key and never echoes the value.
_NEVER_ECHOED = {"headers", "body", "url", "secret", "signing_key", "routing_key"}


def _may_echo(loc: Sequence[Any]) -> bool:
    """Whether a refused value at ``loc`` may be quoted back in the message."""
    for part in loc:
        name = str(part).lower()
        if (
            name in _SECRET_KEYS
            or name in _NEVER_ECHOED
            or any(
                word in name for word in ("password", "secret", "token", "key", "auth", "cookie")
            )
        ):
            return False
    return True


def validation_problems(exc: ValidationError, prefix: str, model: type[BaseModel]) -> Problems:
    """Turn pydantic errors into ``(key path, message)`` pairs without echoing secrets."""
    found: Problems = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]  # a refused key of a mapping: its path is the key's
        path = prefix + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc
        )
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            extra = str(loc[-1])
            if extra in _SECRET_KEYS or "password" in extra:
                message = "inline secrets are not allowed; name a Secrets Manager secret instead"
                message += " (password_secret)" if "password" in extra else ""
            else:
                message = unknown_key(extra, _known_keys(model, loc[:-1]))
        elif err["type"] == "missing":
            message = "required key is missing"
        elif "input" in err and _may_echo(loc) and err["type"] != "value_error":
            shown = err["input"]
            if isinstance(shown, str | int | float | bool) and not isinstance(shown, dict):
                text = redact_url(shown) if isinstance(shown, str) else shown
                message = f"{message}, got {text!r}"
        found.append((path, message))
    return found
