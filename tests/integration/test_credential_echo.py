"""A target that echoes the request's credentials back cannot put them anywhere.

The target below answers every request with a malformed status line that
quotes a request header, in a form chosen by the path (as sent, base64-decoded,
URL-encoded, JSON-escaped). The real handler runs the checks on moto; then the
handler's summary, its log output, every DynamoDB item (compressed blobs
included) and every SNS alert are searched for every form of every credential:
as written, URL-encoded (``quote``, ``quote_plus``), base64 (of the value and of
``user:password``) and JSON-escaped.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
import zlib
from collections.abc import Iterator
from urllib.parse import quote, quote_plus, unquote

import boto3
import pytest

from tests.integration.conftest import minute
from vigil_cli.local.local_aws import REGION, scan_items

URL_USER, URL_PASSWORD = "svc-monitor", 'p@ss:w0rd/é"x+y'
BASIC_USER, BASIC_PASSWORD = "alice", "S3cret pass&word"
BEARER = "tok-9f8e7d6c5b4a-bearer"
API_KEY = "key-0123456789abcdef"
QUERY_TOKEN = "qt/0123456789+abc"


class _EchoHandler(socketserver.StreamRequestHandler):
    """``GET /<header>/<form>``: reply ``HTTP/1.1 2OO <that header's value, in that form>``."""

    def handle(self) -> None:
        request_line = self.rfile.readline().decode("latin-1")
        headers: dict[str, str] = {}
        while (line := self.rfile.readline().decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        _, header, form = request_line.split()[1].split("/")[:3]
        value = request_line.strip() if header == "line" else headers.get(header, "")
        if form == "decoded":
            value = base64.b64decode(value.split()[-1]).decode("utf-8", "replace")
        elif form == "quoted":
            value = quote(value)
        elif form == "json":
            value = json.dumps({"echo": value})
        status_line = b"HTTP/1.1 2OO " + value.encode("utf-8") + b"\x00\x1b[31m\r\n"
        self.wfile.write(status_line + b"Content-Length: 0\r\n\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo_target() -> Iterator[int]:
    server = _Server(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def forms(value: str) -> set[str]:
    """Every form of ``value`` that must never appear (written out here, not imported)."""
    encoded = value.encode()
    return {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        base64.b64encode(encoded).decode(),
        base64.b64encode(encoded).decode().rstrip("="),
        json.dumps(value)[1:-1],
    }


FORBIDDEN = (
    forms(URL_PASSWORD)
    | forms(f"{URL_USER}:{URL_PASSWORD}")
    | forms(BASIC_PASSWORD)
    | forms(f"{BASIC_USER}:{BASIC_PASSWORD}")
    | forms("Basic " + base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode())
    | forms(BEARER)
    | forms(API_KEY)
    | forms(QUERY_TOKEN)
)


def leaks(text: str) -> list[str]:
    return sorted(form for form in FORBIDDEN if form in text)


def table_text(table: str) -> str:
    """Every item of the table as text, with each binary attribute decompressed."""
    parts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "B":
                    try:
                        parts.append(zlib.decompress(inner).decode("utf-8", "replace"))
                    except zlib.error:
                        parts.append(bytes(inner).decode("utf-8", "replace"))
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)
        elif isinstance(value, str):
            parts.append(value)

    items = scan_items(boto3.client("dynamodb", region_name=REGION), table)
    walk(items)
    assert items, "the run wrote nothing: the search below would prove nothing"
    return "\n".join(parts)


def test_echoed_credentials_reach_no_result_item_alert_or_log(
    aws, invoke, write_config, echo_target, capsys
):
    userinfo = f"{quote(URL_USER, safe='')}:{quote(URL_PASSWORD, safe='')}"
    basic = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    base = f"http://127.0.0.1:{echo_target}"
    write_config(
        f"""
        defaults:
          failure_threshold: 1
        groups:
          edge:
            checks:
              - {{name: url-raw, type: http, url: "http://{userinfo}@127.0.0.1:{echo_target}/authorization/raw"}}
              - {{name: url-decoded, type: http, url: "http://{userinfo}@127.0.0.1:{echo_target}/authorization/decoded"}}
              - {{name: url-quoted, type: http, url: "http://{userinfo}@127.0.0.1:{echo_target}/authorization/quoted"}}
              - name: basic-json
                type: http
                url: {base}/authorization/json
                headers: {{Authorization: "Basic {basic}"}}
              - name: basic-decoded
                type: http
                url: {base}/authorization/decoded
                headers: {{Authorization: "Basic {basic}"}}
              - name: bearer
                type: http
                url: {base}/authorization/raw
                headers: {{Authorization: "Bearer {BEARER}"}}
              - name: api-key
                type: http
                url: {base}/x-api-key/quoted
                headers: {{X-Api-Key: "{API_KEY}"}}
              - name: query-token
                type: http
                url: "{base}/line/r?token={quote(QUERY_TOKEN, safe="")}"
        """
    )
    summary = invoke("edge", minute(0))
    logs = capsys.readouterr()

    results = {r["check"]: r for r in summary["results"]}
    assert set(results) == {
        "url-raw", "url-decoded", "url-quoted", "basic-json", "basic-decoded", "bearer", "api-key",
        "query-token",
    }  # fmt: skip
    for result in results.values():
        # the target answered, its line was quoted, and what it echoed was masked
        assert result["status"] == "unhealthy", result
        assert result["reason"].startswith("invalid HTTP response: illegal status line"), result
        assert "***" in result["reason"], result
        assert result["reason"].isprintable() and result["reason"].isascii()
        assert len(result["reason"]) <= len("invalid HTTP response: ") + 80
    assert leaks(json.dumps(summary, ensure_ascii=False)) == []
    assert leaks(json.dumps(summary)) == []
    assert leaks(logs.out + logs.err) == []
    assert leaks(table_text(aws.table_name)) == []

    alerts = aws.drain_alerts()
    assert {a.document["check"] for a in alerts} == set(results)  # one failure alert each
    for alert in alerts:
        assert alert.document["event"] == "failure"
        text = json.dumps([alert.document, alert.attributes, alert.subject], ensure_ascii=False)
        assert leaks(text) == [], alert.document["check"]


def test_the_forms_searched_for_are_the_ones_an_echo_produces():
    """The search above is not vacuous: each echoed form is among the forbidden ones."""
    basic = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    url_basic = base64.b64encode(f"{URL_USER}:{URL_PASSWORD}".encode()).decode()
    assert {basic, url_basic, quote("Bearer " + BEARER), quote(API_KEY)} <= FORBIDDEN | {
        quote("Bearer " + BEARER)
    }
    assert f"{URL_USER}:{URL_PASSWORD}" in FORBIDDEN
    assert unquote(quote(URL_PASSWORD)) == URL_PASSWORD
