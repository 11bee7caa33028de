"""The layers of the vigil package, read from its own imports (every import, lazy and
type-only ones included): no circle, between modules or between packages, and no
low layer importing a high one.

Low: the records and pure logic every function shares (results, state, checks,
policy, alerts, store, rollups, time, cron, retry, redaction). High: what puts
them together for one function (run, notify, status, config, environment).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "shared"
LOW = (
    "vigil.alerts",
    "vigil.budget",
    "vigil.checks",
    "vigil.clients",
    "vigil.cron",
    "vigil.durations",
    "vigil.exceptions",
    "vigil.lambda_init",
    "vigil.locations",
    "vigil.pacing",
    "vigil.pings",
    "vigil.policy",
    "vigil.redact",
    "vigil.results",
    "vigil.retry",
    "vigil.rollups",
    "vigil.schedule",
    "vigil.secrets",
    "vigil.sharding",
    "vigil.state",
    "vigil.store",
    "vigil.times",
    "vigil.yaml_source",
)
HIGH = (
    "vigil.config",
    "vigil.config_file",
    "vigil.config_problems",
    "vigil.dispatch",
    "vigil.environment",
    "vigil.fanout",
    "vigil.metrics",
    "vigil.notify",
    "vigil.ping_door",
    "vigil.run",
    "vigil.status",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the vigil modules it imports (``from a import b``: ``a.b`` if a module)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    found.add(child if child in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, path = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_every_module_is_placed_in_a_layer():
    unplaced = [m for m in _modules() if m != "vigil" and not _under(m, LOW + HIGH)]
    assert unplaced == [], "put each new module in LOW or HIGH"


def test_no_circle_between_modules_or_packages():
    graph = _imports(_modules())
    assert _circles(graph) == []
    packages: dict[str, set[str]] = {}
    for module, imported in graph.items():
        for other in imported:
            if _package(other) != _package(module):
                packages.setdefault(_package(module), set()).add(_package(other))
    assert _circles(packages) == []


def test_no_low_layer_imports_a_high_one():
    graph = _imports(_modules())
    upward = sorted(
        f"{module} -> {other}"
        for module, imported in graph.items()
        if _under(module, LOW)
        for other in imported
        if _under(other, HIGH)
    )
    assert upward == []


def test_the_check_finds_what_it_looks_for(tmp_path):
    """The reader is not blind: a circle and an upward import are each found."""
    graph = {"vigil.store.a": {"vigil.run.b"}, "vigil.run.b": {"vigil.store.a"}}
    assert _circles(graph) == [["vigil.run.b", "vigil.store.a", "vigil.run.b"]]
    assert _under("vigil.store.a", LOW) and _under("vigil.run.b", HIGH)
