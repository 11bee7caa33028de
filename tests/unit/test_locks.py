"""The dependency locks: exact versions with hashes, the layer's the same as the tests'."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEV_LOCK = REPO / "requirements-dev.txt"
LAYER_LOCK = REPO / "shared" / "requirements.txt"
LAYER_RANGES = REPO / "shared" / "requirements.in"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _name(requirement: str) -> str:
    """``moto[sqs]>=5.0`` -> ``moto``, normalised as PyPI does."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip()).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lock: Path) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every requirement in a lock file."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = _name(match.group(1))
            pins[current] = (match.group(2), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif line and not line.startswith(" "):
            current = None
    return pins


def _ranges(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {_name(line) for line in lines if line}


def test_every_locked_requirement_is_exact_and_hashed():
    for lock in (DEV_LOCK, LAYER_LOCK):
        pins = _pins(lock)
        assert pins, lock
        unhashed = sorted(name for name, (_, hashes) in pins.items() if hashes == 0)
        assert unhashed == [], f"{lock.name}: no hash for {unhashed}"
        loose = [
            line
            for line in lock.read_text().splitlines()
            if line and not line.startswith((" ", "#")) and "==" not in line
        ]
        assert loose == [], f"{lock.name}: not pinned with ==: {loose}"


def test_the_layer_ships_the_versions_the_tests_run():
    dev, layer = _pins(DEV_LOCK), _pins(LAYER_LOCK)
    differ = {
        name: (version, dev.get(name, ("missing", 0))[0])
        for name, (version, _) in layer.items()
        if dev.get(name, (None, 0))[0] != version
    }
    assert differ == {}, "layer lock vs dev lock (run make lock)"


def test_the_layer_leaves_boto3_to_the_lambda_runtime():
    assert not {"boto3", "botocore", "s3transfer"} & set(_pins(LAYER_LOCK))


def test_the_locks_cover_the_declared_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    dev = {_name(r) for r in project["optional-dependencies"]["dev"]}
    # boto3 is declared for local use; on Lambda the runtime provides it
    assert _ranges(LAYER_RANGES) == runtime - {"boto3"}, "shared/requirements.in vs pyproject"
    assert runtime - {"boto3"} <= set(_pins(LAYER_LOCK))
    assert runtime | dev <= set(_pins(DEV_LOCK))
