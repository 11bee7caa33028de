"""The README's example of an HTTP check loads as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import trustme
import yaml

from vigil.config import parse_config

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_http_example_loads(tmp_path):
    text = README.read_text()
    block = re.search(r"```yaml\n(      - name: orders-api\n.*?)```", text, re.S)
    assert block is not None, "the README's orders-api example is gone"
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "internal-ca.pem"))
    checks = yaml.safe_load(textwrap.dedent(block.group(1)))
    config = parse_config({"groups": {"g": {"checks": checks}}}, base_dir=tmp_path)
    (check,) = config.group("g").checks
    assert check.client_cert_secret == "vigil/orders-mtls"
    assert [(s.low, s.high) for s in check.expect_status] == [(200, 299), (304, 304)]
    assert [a.op for a in check.json_assertions] == ["equals", "equals"]
    assert check.headers["Authorization"].key == "bearer"
