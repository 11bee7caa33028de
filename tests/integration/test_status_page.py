"""The status page in a real headless Chromium (Debian's ``chromium``), served on loopback.

A target whose failure reason carries ``<script>`` and ``"><img onerror=...>``
must show that text as text: no element is created from it and nothing runs.
Screenshots are kept in ``.vigil/screenshots/`` (git-ignored) for a person to
look at, and in the test's temporary directory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vigil_cli.local.local_aws import REPO
from vigil_cli.local.status_server import StatusServer, load_status_function

SCREENSHOTS = REPO / ".vigil" / "screenshots"
HOSTILE = (
    "<script>document.body.dataset.pwned=1</script>"
    '"><img src=x onerror="document.body.dataset.pwned=2">'
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
_INSTALL_HINT = (
    "Debian's chromium was not found on PATH, and the status page tests need a real browser.\n"
    "Install it: sudo apt-get install -y --no-install-recommends chromium (or run .ci/run)"
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(_INSTALL_HINT, pytrace=False)


def browse(url: str, *, screenshot: Path | None = None, size: str = "1280,1500") -> str:
    """Load ``url`` in a fresh headless Chromium; return the DOM after load (or "")."""
    with tempfile.TemporaryDirectory(prefix="vigil-chromium-") as profile:
        argv = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        if screenshot is not None:
            argv += [f"--screenshot={screenshot}", f"--window-size={size}"]
        else:
            argv += ["--dump-dom"]
        done = subprocess.run(
            [*argv, url], capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """Elements (tag, attributes), all text, and the text inside elements with an ``id``."""

    def __init__(self, markup: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text_by_id: dict[str, str] = {}
        self.text = ""
        self._open_ids: list[tuple[str, str]] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if attributes.get("id"):
            self._open_ids.append((tag, attributes["id"]))
            self.text_by_id.setdefault(attributes["id"], "")

    def handle_endtag(self, tag):
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data):
        self.text += data
        for _, element_id in self._open_ids:
            self.text_by_id[element_id] += data

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]


@pytest.fixture
def served(aws, write_config, invoke, http_target, tcp_target, refused):
    write_config(
        f"""
        groups:
          web:
            checks:
              - name: shop
                type: http
                url: {http_target.url("/scripted/shop")}
                failure_threshold: 1
              - name: hostile
                type: http
                url: {http_target.url("/ok")}
                body_contains: {json.dumps(HOSTILE)}
                failure_threshold: 1
          infra:
            checks:
              - {{name: cache, type: tcp, host: 127.0.0.1, port: {tcp_target.port}}}
              - {{name: queue, type: tcp, host: 127.0.0.1, port: {refused}}}
        """
    )
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for n in range(90, -1, -1):
        at = (now - timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        http_target.script("shop", "failing:502" if 40 <= n < 50 else f"slow:{5 + n % 20}")
        invoke("web", at)
        invoke("infra", at)
    with StatusServer(load_status_function().handler) as server:
        yield server


def keep(screenshot: Path) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    kept = SCREENSHOTS / screenshot.name
    shutil.copyfile(screenshot, kept)
    return kept


def test_status_page_in_chromium(served, tmp_path):
    dom = Dom(browse(served.url))
    assert dom.text_by_id["overall"] == "Some checks are failing"
    rows = dom.tags("tr")
    statuses = [attrs.get("data-status") for attrs in rows if attrs.get("class") == "check"]
    assert statuses == ["healthy", "unhealthy", "healthy", "unhealthy"]
    assert {a["href"] for a in dom.tags("a")} >= {
        "/checks/web/shop",
        "/checks/web/hostile",
        "/checks/infra/queue",
    }
    # one 90-day bar per check, drawn inline
    assert len(dom.tags("svg")) == 4 and len(dom.tags("rect")) == 4 * 90
    # the hostile reason is text: no element, no script ran, no external request
    assert dom.tags("script") == [] and dom.tags("img") == []
    body = dom.tags("body")[0]
    assert "data-pwned" not in body
    assert HOSTILE in dom.text
    shot = tmp_path / "status-page.png"
    browse(served.url, screenshot=shot)
    assert shot.stat().st_size > 10_000
    keep(shot)


def test_detail_page_in_chromium(served, tmp_path):
    url = served.url + "checks/web/hostile"
    dom = Dom(browse(url))
    assert HOSTILE in dom.text_by_id["reason"]
    assert dom.tags("script") == [] and dom.tags("img") == []
    assert "data-pwned" not in dom.tags("body")[0]
    incidents = [a for a in dom.tags("tr") if a.get("class") == "incident"]
    assert len(incidents) == 1
    runs = [a for a in dom.tags("tr") if a.get("class") == "run"]
    assert len(runs) == 60

    shop = Dom(browse(served.url + "checks/web/shop"))
    charts = [a for a in shop.tags("svg") if a.get("class") == "chart"]
    assert len(charts) == 2
    assert len(shop.tags("polyline")) >= 2  # p50 and p95 lines of the hourly chart
    assert len([a for a in shop.tags("tr") if a.get("class") == "incident"]) == 1
    shot = tmp_path / "status-detail.png"
    browse(served.url + "checks/web/shop", screenshot=shot, size="1280,2200")
    assert shot.stat().st_size > 10_000
    keep(shot)
    hostile_shot = tmp_path / "status-detail-hostile.png"
    browse(url, screenshot=hostile_shot, size="1280,1400")
    keep(hostile_shot)
