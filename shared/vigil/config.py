"""Check configuration: the YAML file described in the README, validated with pydantic.

``load_config(path)`` returns a ``VigilConfig`` or raises ``ConfigError`` naming
the file and every bad key path at once (``groups.core.checks[1].url: ...``).
Defaults are merged into each check before it is validated, so a check that
inherits a value is judged exactly as if it had written it itself; a problem
with an inherited value says where the value came from.

Refused besides what each model refuses: a key written twice in one mapping
(both lines named), an unknown key at any level (with the nearest known key
suggested), a ``degraded_after`` not below its ``timeout``, and, when the
function's timeout is given, a ``timeout`` too long to finish inside it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import TypeAdapter, ValidationError

from vigil import budget
from vigil.checks.model import NAME_PATTERN, CheckConfig, Defaults
from vigil.checks.registry import REGISTRY
from vigil.config_file import CONFIG_ENV, resolve_config_path
from vigil.durations import format_duration
from vigil.exceptions import ConfigError, UnknownGroupError
from vigil.locations import HOME_ONLY_TYPES, Locations, parse_locations
from vigil.policy.config import parent_ref
from vigil.schedule import Schedule, every_problem
from vigil.yaml_source import YamlSyntaxError, load_yaml

if TYPE_CHECKING:
    from vigil.config_problems import Inherited
    from vigil.policy.windows import MaintenanceWindow

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "CheckConfig",
    "ConfigError",
    "Defaults",
    "GroupConfig",
    "VigilConfig",
    "config_path",
    "load_config",
    "parse_config",
    "resolve_config_path",
]

DEFAULT_CONFIG = "checks.yaml"
TOP_LEVEL_KEYS = (
    "defaults",
    "groups",
    "maintenance",
    "notifications",
    "locations",
    "quorum_wait",
)
GROUP_KEYS = ("checks", "shards", "every", "cron", "timezone")
PROBE_WRITE_S = 2.0  # what quorum_wait must leave a probe, past its slowest check's timeout

_NAME_RE = re.compile(NAME_PATTERN)

Problems = list[tuple[str, str]]


class GroupConfig(NamedTuple):
    """A validated group: its checks (each its type's model) and its shard count.

    A plain record, built only from validated parts (no schema to build on a cold start).
    """

    name: str
    checks: tuple[CheckConfig, ...]
    shards: int = 1
    schedule: Schedule = Schedule()  # every minute unless the group says otherwise

    def check(self, name: str) -> CheckConfig:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)


class VigilConfig(NamedTuple):
    """A validated configuration file: ``source`` names it in messages."""

    source: str
    defaults: Defaults
    groups: dict[str, GroupConfig]
    maintenance: tuple[MaintenanceWindow, ...] = ()
    notifications: tuple[Any, ...] = ()  # vigil.notify.config.Destination
    locations: Locations | None = None  # several regions, one deciding (vigil.locations)

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


def load_config(
    path: str | os.PathLike[str], *, function_timeout: float | None = None
) -> VigilConfig:
    """Read and validate a config file; raise ``ConfigError`` listing every problem.

    ``function_timeout``: the Lambda function's timeout in seconds. When given,
    every check's ``timeout`` must be at most ``budget.longest_check_timeout``
    of it, or the run's deadline would cut the check on every run.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [("(file)", f"cannot read the file: {exc.strerror}")]) from None
    try:
        raw, duplicates = load_yaml(text)
    except YamlSyntaxError as exc:
        raise ConfigError(source, [(exc.where, f"not valid YAML: {exc.problem}")]) from None
    problems: Problems = [
        (
            dup.key if dup.path == "(top level)" else f"{dup.path}.{dup.key}",
            f"duplicate key {dup.key!r} (lines {dup.first_line} and {dup.second_line}); "
            "YAML would silently keep only the last one",
        )
        for dup in duplicates
    ]
    config, found = _validate(raw, function_timeout, Path(path).parent)
    problems += found
    if problems or config is None:
        raise ConfigError(source, problems)
    return config._replace(source=source)


def parse_config(
    raw: Any,
    *,
    source: str = "<config>",
    function_timeout: float | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> VigilConfig:
    """Validate an already-parsed config document (see ``load_config``).

    ``base_dir``: where relative file paths (``ca_bundle``) are read from;
    default the working directory.
    """
    config, problems = _validate(raw, function_timeout, Path(base_dir or "."))
    if problems or config is None:
        raise ConfigError(source, problems)
    return config._replace(source=source)


def _validate(
    raw: Any, function_timeout: float | None, base_dir: Path
) -> tuple[VigilConfig | None, Problems]:
    problems: Problems = []
    if not isinstance(raw, dict):
        return None, [("(top level)", "expected a mapping with a 'groups' key")]
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            from vigil.config_problems import unknown_key  # a valid file never imports it

            problems.append((str(key), unknown_key(str(key), TOP_LEVEL_KEYS)))

    defaults_raw = raw.get("defaults") or {}
    defaults = Defaults()
    if not isinstance(defaults_raw, dict):
        problems.append(("defaults", "expected a mapping"))
        defaults_raw = {}
    else:
        try:
            defaults = Defaults.model_validate(defaults_raw)
        except ValidationError as exc:
            from vigil.config_problems import validation_problems

            problems.extend(validation_problems(exc, "defaults", Defaults))
            bad_keys = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            defaults_raw = {k: v for k, v in defaults_raw.items() if k not in bad_keys}
            defaults = Defaults.model_validate(defaults_raw)

    inherited: dict[str, Inherited] = {}
    groups: dict[str, GroupConfig] = {}
    groups_raw = raw.get("groups")
    if not isinstance(groups_raw, dict) or not groups_raw:
        problems.append(("groups", "expected a mapping of at least one group name to its checks"))
        groups_raw = {}
    for group_name, group_raw in groups_raw.items():
        group = _parse_group(
            str(group_name),
            group_raw,
            defaults_raw,
            function_timeout,
            base_dir,
            problems,
            inherited,
        )
        if group is not None:
            groups[group.name] = group
    for path, finding in inherited.items():
        shown = ", ".join(finding.checks[:3]) + (
            f" and {len(finding.checks) - 3} more" if len(finding.checks) > 3 else ""
        )
        problems.append((path, f"{finding.message} (inherited by {shown})"))

    maintenance = _maintenance(raw.get("maintenance"), problems)
    locations = parse_locations(raw.get("locations"), raw.get("quorum_wait"), problems)
    _check_locations(groups, locations, raw.get("locations") is not None, problems)
    problems.extend(_dependency_problems(groups))
    notifications: tuple[Any, ...] = ()
    if raw.get("notifications") is not None:  # only configs with destinations pay the import
        from vigil.notify.config import parse_notifications

        notifications = parse_notifications(raw.get("notifications"), problems, groups=groups_raw)
    if problems:
        return None, problems
    config = VigilConfig(
        source="<config>",
        defaults=defaults,
        groups=groups,
        maintenance=maintenance,
        notifications=notifications,
        locations=locations,
    )
    return config, []


def _check_locations(
    groups: Mapping[str, GroupConfig], locations: Locations | None, given: bool, problems: Problems
) -> None:
    """A ``quorum`` needs locations (``given``: they were, with problems of their own),
    no more of them than there are, and a check a probe observes; and ``quorum_wait``
    must leave the probes the time of their slowest check (its timeout) and 2 s more to
    write what they saw, or a target that hangs would be judged by the home alone."""
    slowest: tuple[float, str] | None = None
    for group in groups.values():
        for index, check in enumerate(group.checks):
            at = f"groups.{group.name}.checks[{index}]"
            if check.type not in HOME_ONLY_TYPES and (
                slowest is None or check.timeout > slowest[0]
            ):
                slowest = (check.timeout, at)
            if check.quorum is None:
                continue
            where = f"{at}.quorum"
            if locations is None:
                if not given:
                    problems.append((where, "quorum needs locations (a home and probes)"))
            elif check.type in HOME_ONLY_TYPES:
                problems.append(
                    (where, f"a {check.type} check is judged by the home alone: no quorum")
                )
            elif check.quorum > len(locations.regions):
                problems.append(
                    (
                        where,
                        f"quorum {check.quorum} is more than the {len(locations.regions)} "
                        "locations",
                    )
                )
    if locations is not None and slowest is not None:
        timeout, at = slowest
        if locations.quorum_wait < timeout + PROBE_WRITE_S:
            problems.append(
                (
                    "quorum_wait",
                    f"{format_duration(locations.quorum_wait)} is too short for the probes to "
                    f"report {at} (timeout {format_duration(timeout)}): at least its timeout "
                    f"and {PROBE_WRITE_S:.0f}s more, or a target that hangs is judged by the "
                    "home alone",
                )
            )


def _maintenance(raw: Any, problems: Problems) -> tuple[MaintenanceWindow, ...]:
    """The top-level ``maintenance:`` list of windows (empty when absent)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(("maintenance", "expected a list of maintenance windows"))
        return ()
    from vigil.config_problems import unknown_key
    from vigil.policy.windows import MaintenanceWindow  # only configs with windows pay

    try:
        return TypeAdapter(tuple[MaintenanceWindow, ...]).validate_python(raw)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            path = "maintenance" + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc
            )
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = unknown_key(str(loc[-1]), tuple(MaintenanceWindow.model_fields))
            elif err["type"] == "missing":
                message = "required key is missing"
            problems.append((path, message))
        return ()


def _dependency_problems(groups: Mapping[str, GroupConfig]) -> Problems:
    """``depends_on`` naming a check that does not exist, or forming a cycle."""
    problems: Problems = []
    parents: dict[str, list[str]] = {}
    paths: dict[str, str] = {}
    for group in groups.values():
        for index, check in enumerate(group.checks):
            ref = f"{group.name}/{check.name}"
            paths[ref] = f"groups.{group.name}.checks[{index}].depends_on"
            parents[ref] = [parent_ref(group.name, p) for p in check.depends_on]
    for ref, refs in parents.items():
        for parent in refs:
            if parent not in parents:
                known = ", ".join(sorted(parents)[:8])
                problems.append(
                    (
                        paths[ref],
                        f"check {ref} depends on unknown check {parent!r} "
                        f"(write 'name' for the same group or 'group/name'; known: {known})",
                    )
                )
    reported: set[frozenset[str]] = set()
    for start in parents:
        cycle = _cycle_from(start, parents)
        if cycle and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            problems.append(
                (
                    paths[cycle[0]],
                    f"depends_on forms a cycle: {' -> '.join([*cycle, cycle[0]])}",
                )
            )
    return problems


def _cycle_from(start: str, parents: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle through ``start`` (as a path of checks), or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for parent in parents.get(node, []):
            if parent == start:
                return path
            if parent not in seen and parent in parents:
                seen.add(parent)
                stack.append((parent, [*path, parent]))
    return None


def _parse_group(
    name: str,
    raw: Any,
    defaults_raw: dict[str, Any],
    function_timeout: float | None,
    base_dir: Path,
    problems: Problems,
    inherited: dict[str, Inherited],
) -> GroupConfig | None:
    path = f"groups.{name}"
    start = len(problems)
    if not _NAME_RE.match(name):
        problems.append((path, "group names use letters, digits, '-', '_' or '.' (64 at most)"))
    if not isinstance(raw, dict):
        problems.append((path, "expected a mapping with a 'checks' list"))
        return None
    for key in raw:
        if key not in GROUP_KEYS:
            from vigil.config_problems import unknown_key

            problems.append((f"{path}.{key}", unknown_key(str(key), GROUP_KEYS)))
    shards = raw.get("shards", 1)
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 100:
        problems.append(
            (f"{path}.shards", f"expected a whole number from 1 to 100, got {shards!r}")
        )
    schedule = _schedule(raw, path, problems)
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
            type_name = check_raw.get("type")
            if not isinstance(type_name, str) or type_name not in REGISTRY:
                from vigil.config_problems import unknown_type

                problems.append((f"{check_path}.type", unknown_type(type_name)))
                continue
            # The type's own model, already built with its class: a union of the models
            # told apart by ``type`` would build a validator of its own (8 ms of a cold
            # start) only to do this lookup.
            check = (
                REGISTRY[type_name]
                .config_model()
                .model_validate({**defaults_raw, **check_raw}, context={"base_dir": base_dir})
            )
        except ValidationError as exc:
            from vigil.config_problems import model_for, validation_problems

            problems.extend(validation_problems(exc, check_path, model_for(check_raw)))
            continue
        _check_timeouts(
            check, check_path, check_raw, defaults_raw, function_timeout, problems, inherited
        )
        _check_interval(check, check_path, check_raw, schedule, problems)
        checks.append(check)
    if len(problems) > start or schedule is None:
        return None
    return GroupConfig(name=name, checks=tuple(checks), shards=shards, schedule=schedule)


def _schedule(raw: Mapping[str, Any], path: str, problems: Problems) -> Schedule | None:
    """The group's ``every`` or ``cron`` + ``timezone`` (default: every minute)."""
    from vigil.durations import parse_duration

    every, cron, zone = raw.get("every"), raw.get("cron"), raw.get("timezone")
    if every is not None and cron is not None:
        problems.append((f"{path}.cron", "give either every or cron, not both"))
        return None
    if cron is None:
        if zone is not None:
            problems.append((f"{path}.timezone", "timezone applies to cron; this group has none"))
            return None
        if every is None:
            return Schedule()
        try:
            seconds = parse_duration(every)
        except ValueError as exc:
            problems.append((f"{path}.every", str(exc)))
            return None
        wrong = every_problem(seconds)
        if wrong:
            problems.append((f"{path}.every", wrong))
            return None
        return Schedule(every=seconds)
    if not isinstance(cron, str):
        problems.append((f"{path}.cron", f"expected a cron expression (text), got {cron!r}"))
        return None
    if zone is not None and not isinstance(zone, str):
        problems.append((f"{path}.timezone", f"expected an IANA time zone name, got {zone!r}"))
        return None
    from vigil.cron import CronSchedule, time_zone  # cronsim: only for a cron group

    try:
        time_zone(zone or "UTC")
    except ValueError as exc:
        problems.append((f"{path}.timezone", str(exc)))
        return None
    try:
        return Schedule(every=None, cron=CronSchedule.parse(cron, zone or "UTC"))
    except ValueError as exc:
        problems.append((f"{path}.cron", str(exc)))
        return None


def _check_interval(
    check: CheckConfig,
    path: str,
    raw: Mapping[str, Any],
    schedule: Schedule | None,
    problems: Problems,
) -> None:
    """A check's ``interval`` must be a whole number of its group's runs."""
    if check.interval is None or schedule is None:
        return
    where = f"{path}.interval" + ("" if "interval" in raw else " (from defaults.interval)")
    if schedule.every is None:
        problems.append(
            (where, "a cron group's checks run on every run of the group; remove interval")
        )
        return
    runs = check.interval / schedule.every
    if runs < 1 or abs(runs - round(runs)) > 1e-9:
        problems.append(
            (
                where,
                f"interval {format_duration(check.interval)} is not a multiple of the group's "
                f"every ({format_duration(schedule.every)}): the group runs only then",
            )
        )


def _check_timeouts(
    check: CheckConfig,
    path: str,
    raw: Mapping[str, Any],
    defaults_raw: Mapping[str, Any],
    function_timeout: float | None,
    problems: Problems,
    inherited: dict[str, Inherited],
) -> None:
    """Refuse a ``degraded_after`` not below ``timeout`` and a ``timeout`` the function cannot hold.

    A value the check wrote is reported at the check's key; a value it took
    from ``defaults`` is reported once at ``defaults.<key>``, naming the checks.
    """

    def origin(key: str) -> str:
        if key in raw:
            return ""
        if key in defaults_raw:
            return f" (from defaults.{key})"
        return " (the built-in default)"

    def report(key: str, message: str) -> None:
        if key in raw:
            problems.append((f"{path}.{key}", message))
        else:
            where = f"defaults.{key}"
            from vigil.config_problems import Inherited

            inherited.setdefault(where, Inherited(message)).checks.append(path)

    limit = None if function_timeout is None else budget.longest_check_timeout(function_timeout)
    if limit is not None and check.timeout > limit:
        reserve = budget.reserve_for(function_timeout)
        margin = budget.end_margin(function_timeout)
        report(
            "timeout",
            f"timeout {format_duration(check.timeout)}{origin('timeout')} cannot finish inside "
            f"the function's timeout of {format_duration(function_timeout)}: a check's timeout "
            f"may be at most {format_duration(limit)} (each run keeps "
            f"{format_duration(reserve)} to store results and send alerts and "
            f"{format_duration(margin)} to return, and a check may overrun its "
            f"timeout by {format_duration(budget.HARD_TIMEOUT_GRACE)} before it is cut); "
            "lower the timeout or raise the function's Timeout",
        )
    slow = check.degraded_after
    if slow is not None and slow >= check.timeout:
        # Reported at the key the check wrote itself (degraded_after first); if it wrote
        # neither, both came from defaults and the finding belongs there.
        key = "degraded_after" if "degraded_after" in raw or "timeout" not in raw else "timeout"
        report(
            key,
            f"degraded_after {format_duration(slow)}{origin('degraded_after')} is not below "
            f"timeout {format_duration(check.timeout)}{origin('timeout')}: a check is cut at its "
            "timeout, so it could never be reported degraded; set degraded_after below timeout",
        )
