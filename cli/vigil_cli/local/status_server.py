"""The status function served on loopback: what its Function URL does, on this machine.

``StatusServer`` listens on 127.0.0.1 (a free port) in a background thread and
turns each HTTP request into a Lambda Function URL event (payload format 2.0)
for the real handler of ``functions/status/app.py``, then the handler's
response back into HTTP. Used by ``vigil demo`` and the page tests.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from vigil_cli.local.environ import environ_set
from vigil_cli.local.local_aws import REPO

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def load_status_function() -> ModuleType:
    """Import ``functions/status/app.py`` under its own module name (no ``app`` clash)."""
    path = REPO / "functions" / "status" / "app.py"
    spec = importlib.util.spec_from_file_location("vigil_function_status", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StatusContext:
    """The Lambda context the status handler gets on loopback."""

    function_name = "vigil-local-status"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:vigil-local-status"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def function_url_event(method: str, target: str, headers: dict[str, str] | None = None) -> dict:
    """A Function URL event (payload 2.0) for ``method`` on ``target`` (path and query)."""
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "queryStringParameters": query or None,
        "headers": {k.lower(): v for k, v in (headers or {}).items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": (headers or {}).get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }


MAX_BODY_BYTES = 6 * 1024 * 1024
# Content types Lambda passes as text; any other body is base64-encoded.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")


def _body(data: bytes, content_type: str) -> tuple[str, bool]:
    """A request body as a Function URL event carries it: text, or base64."""
    if content_type.lower().startswith(TEXT_TYPES):
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(data).decode("ascii"), True


class StatusServer:
    """Serve ``handler`` (the status function's) on ``http://127.0.0.1:<port>/``."""

    def __init__(self, handler: Handler, port: int = 0):
        self.handler, self.port = handler, port  # port 0: any free one
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> StatusServer:
        handler = self.handler

        class Request(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_HEAD(self) -> None:
                self._answer("HEAD")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                event = function_url_event(method, self.path, dict(self.headers))
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:  # Lambda's own limit for a Function URL request
                    self.send_error(413, "request body over 6 MB")
                    return
                if length > 0:
                    event["body"], event["isBase64Encoded"] = _body(
                        self.rfile.read(length), self.headers.get("Content-Type", "")
                    )
                response = handler(event, StatusContext())
                body = response.get("body") or ""
                data = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
                self.send_response(int(response.get("statusCode", 200)))
                for name, value in (response.get("headers") or {}).items():
                    self.send_header(name, value)
                for name, values in (response.get("multiValueHeaders") or {}).items():
                    for value in values:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the demo and the tests print what matters themselves

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Request)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="vigil-status-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StatusServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def offer_status_page(
    screen: Any,
    config_text: str,
    *,
    wait: bool | None = None,
    interrupted: Callable[[], bool] | None = None,
) -> bool:
    """Serve the status page of the current (embedded) AWS on loopback and print its address.

    ``config_text`` is the check configuration the page shows (kept in a file of
    its own while the page is up). The page is fetched once (``/api/status``) to
    show it answers. With ``wait``
    (default: when both stdin and the screen are a terminal) it stays up until
    Enter or Ctrl-C (``interrupted()`` turning true: the caller records the
    signal); otherwise it stops at once, so a run without a terminal
    (``make demo`` in CI) still ends by itself. Returns whether the page answered.
    """
    import json
    import select
    import sys
    from urllib.request import urlopen

    if wait is None:
        wait = bool(getattr(screen, "tty", False)) and sys.stdin.isatty()
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vigil-page-")))
        config = directory / "checks.yaml"
        config.write_text(config_text, encoding="utf-8")
        stack.enter_context(environ_set({"HEALTHCHECK_CONFIG": str(config)}))
        server = stack.enter_context(StatusServer(load_status_function().handler))
        try:
            with urlopen(server.url + "api/status", timeout=30) as response:
                overview = json.loads(response.read())
        except OSError as exc:
            screen.problem(f"the status page did not answer on {server.url}: {exc}")
            return False
        checks = sum(len(g["checks"]) for g in overview["groups"])
        screen.line()
        screen.heading("Status page (the status function, served on loopback for this data)")
        screen.line(f"  {server.url}   overall {overview['status']}, {checks} checks")
        screen.line(f"  {server.url}api/status   the JSON status API")
        if wait:
            screen.note("Open it in a browser on this machine; press Enter (or Ctrl-C) to end")
            with contextlib.suppress(KeyboardInterrupt):
                while not (interrupted is not None and interrupted()):
                    if select.select([sys.stdin], [], [], 0.25)[0]:
                        sys.stdin.readline()
                        break
        else:
            screen.note("(not on a terminal: the page stops with the demo)")
    return True
