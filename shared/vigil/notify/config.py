"""The ``notifications:`` section of the configuration: where alerts are delivered.

```yaml
notifications:
  - name: ops-slack            # unique; names the destination in logs and dead letters
    type: slack                # slack | teams | pagerduty | webhook | chatbot
    secret: vigil/notify/ops-slack   # Secrets Manager secret (not for chatbot)
    events: [failure, recovery]      # optional filters; all when absent
    severities: [critical]
    groups: [core, vigil]            # "vigil" = Vigil's own alarms (event monitor)
    allow_private: false             # optional: true lets the secret's url be http:// and
                                     # on a loopback, private or link-local address
```

``parse_notifications`` validates the list and reports each problem with its key
path (``notifications[0].secret``) without echoing a value that could be secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from vigil.alerts.document import AlertDocument, AlertEvent
from vigil.notify.registry import REGISTRY

MONITOR_GROUP = "vigil"  # the group of Vigil's own alarms
DESTINATION_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Severity = Literal["critical", "warning", "info"]
# Keys that would put a credential in the file: refused with a pointer to ``secret``.
_INLINE_SECRETS = {"url", "webhook_url", "routing_key", "signing_key", "token", "password"}


class Destination(BaseModel):
    """One place alerts go, with its filters (``None`` = every value passes)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=DESTINATION_NAME)
    type: str
    secret: str | None = Field(default=None, min_length=1, max_length=512)
    events: tuple[AlertEvent, ...] | None = None
    severities: tuple[Severity, ...] | None = None
    groups: tuple[str, ...] | None = None
    allow_private: StrictBool = False  # the URL may be http:// and resolve to a non-public address

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in REGISTRY:
            raise ValueError(
                f"unknown notification type {value!r}; expected one of: {', '.join(REGISTRY)}"
            )
        return value

    @field_validator("events", "severities", "groups")
    @classmethod
    def _not_empty(cls, value: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if value is not None and not value:
            raise ValueError("an empty list matches nothing; leave the key out to match all")
        return value

    @field_validator("secret")
    @classmethod
    def _no_wildcard(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"[\s*?]", value):
            raise ValueError("expected a Secrets Manager secret name or ARN")
        return value

    def wants(self, alert: AlertDocument) -> bool:
        """Whether ``alert`` passes this destination's filters."""
        return (
            (self.events is None or alert.event in self.events)
            and (self.severities is None or alert.severity in self.severities)
            and (self.groups is None or alert.group in self.groups)
        )


def parse_notifications(
    raw: Any, problems: list[tuple[str, str]], *, groups: Iterable[str] = ()
) -> tuple[Destination, ...]:
    """Validate the ``notifications`` list; append ``(key path, message)`` for each problem.

    ``groups`` are the configuration's group names: a ``groups`` filter naming
    another group (other than ``vigil``) is refused, since it would never match.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(("notifications", "expected a list of destinations"))
        return ()
    known_groups = {*groups, MONITOR_GROUP}
    found: list[Destination] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        path = f"notifications[{index}]"
        if not isinstance(item, dict):
            problems.append((path, "expected a mapping with at least 'name' and 'type'"))
            continue
        start = len(problems)
        name = item.get("name")
        if isinstance(name, str):
            if name in seen:
                problems.append(
                    (
                        f"{path}.name",
                        f"duplicate name {name!r} (first at notifications[{seen[name]}])",
                    )
                )
            seen.setdefault(name, index)
        try:
            destination = Destination.model_validate(item)
        except ValidationError as exc:
            problems.extend(_problems(exc, path))
            continue
        channel = REGISTRY[destination.type]
        if channel.secret_keys is not None and destination.secret is None:
            keys = ", ".join(f'"{key}"' for key in channel.secret_keys)
            problems.append(
                (
                    f"{path}.secret",
                    f"required for type {destination.type}: the name of a Secrets Manager "
                    f"secret holding JSON with {keys}",
                )
            )
        if channel.secret_keys is None and destination.secret is not None:
            problems.append(
                (f"{path}.secret", f"type {destination.type} takes no secret; remove it")
            )
        if channel.secret_keys is None and destination.allow_private:
            problems.append(
                (
                    f"{path}.allow_private",
                    f"type {destination.type} sends to no URL; remove it",
                )
            )
        for position, group in enumerate(destination.groups or ()):
            if group not in known_groups:
                problems.append(
                    (
                        f"{path}.groups[{position}]",
                        f"unknown group {group!r}; expected one of: "
                        f"{', '.join(sorted(known_groups))}",
                    )
                )
        if len(problems) == start:
            found.append(destination)
    return tuple(found)


def _problems(exc: ValidationError, prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        key = str(loc[0]) if loc else ""
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = (
                "inline secrets are not allowed; put it in the Secrets Manager secret "
                "named by 'secret'"
                if key in _INLINE_SECRETS
                else "unknown key; expected name, type, secret, events, severities, groups "
                "or allow_private"
            )
        elif err["type"] == "missing":
            message = "required key is missing"
        elif err["type"] == "enum" and key == "events":
            message = f"expected one of: {', '.join(e.value for e in AlertEvent)}"
        shown = err.get("input")
        if key in ("name", "type") and isinstance(shown, str) and err["type"] != "value_error":
            message += f", got {shown!r}"
        found.append((path, message))
    return found
