"""Reading template.yaml (dev only, never used inside Lambda).

``load_template`` reads a SAM/CloudFormation template with cfn-lint's own decoder,
short tags included (``!Ref x`` -> ``{"Ref": "x"}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}``),
so a template reads here exactly as ``cfn-lint`` reads it. ``resources_of`` lists the
resources of one type.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RUNNER_FUNCTION = "RunnerFunction"  # the runner's logical id


def _dates_as_text(value: Any) -> Any:
    """YAML timestamps back to their text: CloudFormation reads an unquoted
    ``AWSTemplateFormatVersion: 2010-09-09`` as the string, cfn-lint's loader as a date."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _dates_as_text(item)
    elif isinstance(value, list):
        value[:] = [_dates_as_text(item) for item in value]
    elif isinstance(value, datetime.date):
        return value.isoformat()
    return value


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a template file (YAML or JSON); short tags become their long JSON forms.

    Raises ``OSError``, ``yaml.YAMLError`` (cfn-lint's parse errors included, such
    as a duplicate key) or ``ValueError`` when the document is not a mapping.
    """
    with open(path, encoding="utf-8") as handle:
        return loads_template(handle.read())


# Decoded templates, by the SHA-256 of their text: importing cfn-lint's decoder costs
# about 60 MB and 0.5 s, which every process that embeds AWS (the demo, a bench
# worker) would otherwise pay for the same unchanged template.
DECODED_CACHE = Path(__file__).resolve().parents[3] / ".vigil" / "template-cache"


def loads_template(text: str) -> dict[str, Any]:
    """Like ``load_template``, from a string."""
    cached = DECODED_CACHE / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    from cfnlint.decode import cfn_yaml  # cfn-lint's own template decoder

    document = cfn_yaml.loads(text)
    if not isinstance(document, dict):
        raise ValueError("a template must be a YAML mapping")
    document = _dates_as_text(document)
    with contextlib.suppress(OSError):  # a read-only checkout decodes every time
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(document), encoding="utf-8")
        partial.replace(cached)
    return document


def resources_of(template: Mapping[str, Any], type_: str) -> list[tuple[str, dict[str, Any]]]:
    """``(logical id, Properties)`` of every resource of ``type_``, in template order."""
    return [
        (logical_id, resource.get("Properties") or {})
        for logical_id, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict) and resource.get("Type") == type_
    ]
