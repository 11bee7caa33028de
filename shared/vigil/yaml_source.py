"""Read a YAML document as configuration: PyYAML's safe subset, duplicate keys refused.

PyYAML keeps the last of two equal keys in a mapping without a word, so a
repeated ``core:`` under ``groups:`` silently drops a whole group. The loader
below records every duplicate while it builds the mapping (libyaml's
``CSafeLoader`` parses when PyYAML has it, as the Lambda wheels do: ~8x faster
on a large config, which the cold start pays for), and the key path of each
mapping that holds one is found only when there is one, so a valid file costs
nothing extra.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_BASE_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKey(NamedTuple):
    """A key written twice in one mapping: ``path`` is the mapping's key path."""

    path: str
    key: str
    first_line: int
    second_line: int


class YamlSyntaxError(ValueError):
    """The text is not YAML; ``where`` is ``line L, column C`` (or ``(file)``)."""

    def __init__(self, where: str, problem: str):
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class _DuplicateRefusingLoader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, noting each mapping key that repeats an earlier one of its mapping."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[MappingNode, str, int, int]] = []

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # `<<: *base` then overriding a merged key is no duplicate
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the constructor below refuses it
                    continue
                if first is None:
                    seen[key] = line
                else:
                    self.duplicates.append((node, str(key), first, line))
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> tuple[Any, list[DuplicateKey]]:
    """Parse ``text``; return the document and every duplicate key, with its path and lines.

    Raises ``YamlSyntaxError`` when the text is not YAML.
    """
    loader = _DuplicateRefusingLoader(text)
    try:
        root = loader.get_single_node()
        document = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise YamlSyntaxError(where, getattr(exc, "problem", None) or str(exc)) from None
    finally:
        loader.dispose()
    if not loader.duplicates:
        return document, []
    paths = _mapping_paths(root)
    found = [
        DuplicateKey(paths.get(id(node), "(top level)"), key, first, second)
        for node, key, first, second in loader.duplicates
    ]
    return document, sorted(found, key=lambda d: d.second_line)


def _mapping_paths(root: Node | None) -> dict[int, str]:
    """The key path (``groups.core.checks[1]``) of every mapping node, by node identity."""
    paths: dict[int, str] = {}
    stack: list[tuple[Node, str]] = [(root, "")] if root is not None else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, MappingNode):
            if id(node) in paths:
                continue  # an alias: keep the first path
            paths[id(node)] = path or "(top level)"
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, ScalarNode) else "?"
                stack.append((value_node, f"{path}.{key}" if path else str(key)))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, f"{path}[{index}]"))
    return paths
