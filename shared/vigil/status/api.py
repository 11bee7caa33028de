"""The status API's routes on Powertools' Lambda Function URL resolver.

``GET /api/status``, ``GET /api/checks/{group}/{check}``,
``GET /api/checks/{group}/{check}/history?from=&to=&cursor=``, ``GET /`` and
``GET /checks/{group}/{check}`` (HTML). Errors: 404 ``{"error": ...}`` naming
what exists, 400 ``{"error": ...}`` for a bad parameter; the HTML routes answer
with an HTML page carrying the same message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response

from vigil.exceptions import ConfigError, VigilError
from vigil.status.exceptions import StatusQueryError
from vigil.status.page import PAGE_HEADERS, render_detail, render_error, render_overview
from vigil.status.queries import StatusQueries

logger = logging.getLogger(__name__)

JSON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
HISTORY_PARAMETERS = ("from", "to", "cursor")
ROUTES = (
    "GET /api/status",
    "GET /api/checks/{group}/{check}",
    "GET /api/checks/{group}/{check}/history?from=&to=&cursor=",
    "GET /",
    "GET /checks/{group}/{check}",
)


def json_response(status_code: int, body: dict[str, Any]) -> Response:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=JSON_HEADERS,
    )


def html_response(status_code: int, page: str) -> Response:
    headers = {k: v for k, v in PAGE_HEADERS.items() if k != "Content-Type"}
    return Response(
        status_code=status_code,
        content_type=PAGE_HEADERS["Content-Type"],
        body=page,
        headers=headers,
    )


def build_resolver(queries: Callable[[], StatusQueries]) -> LambdaFunctionUrlResolver:
    """The resolver with every route; ``queries()`` gives the ``StatusQueries`` to answer from."""
    app = LambdaFunctionUrlResolver()

    def parameters(allowed: tuple[str, ...]) -> dict[str, str]:
        given = app.current_event.query_string_parameters or {}
        unknown = sorted(set(given) - set(allowed))
        if unknown:
            expected = ", ".join(allowed) if allowed else "none"
            raise _BadParameter(f"unknown parameter {unknown[0]!r}; expected: {expected}")
        return given

    @app.get("/api/status")
    def api_status() -> Response:
        parameters(())
        return json_response(200, queries().overview().to_json())

    @app.get("/api/checks/<group>/<check>")
    def api_check(group: str, check: str) -> Response:
        parameters(())
        detail = queries().check_detail(unquote(group), unquote(check))
        return json_response(200, detail.to_json())

    @app.get("/api/checks/<group>/<check>/history")
    def api_history(group: str, check: str) -> Response:
        given = parameters(HISTORY_PARAMETERS)
        page = queries().history(
            unquote(group),
            unquote(check),
            start=given.get("from"),
            end=given.get("to"),
            cursor=given.get("cursor"),
        )
        return json_response(200, page.to_json())

    @app.get("/")
    def page_overview() -> Response:
        try:
            parameters(())
            return html_response(200, render_overview(queries().overview(with_days=True)))
        except StatusQueryError as exc:
            return html_response(exc.status_code, render_error(exc.status_code, str(exc)))

    @app.get("/checks/<group>/<check>")
    def page_check(group: str, check: str) -> Response:
        try:
            parameters(())
            detail = queries().check_detail(unquote(group), unquote(check))
            return html_response(200, render_detail(detail))
        except StatusQueryError as exc:
            return html_response(exc.status_code, render_error(exc.status_code, str(exc)))

    @app.exception_handler(StatusQueryError)
    def refused(exc: StatusQueryError) -> Response:
        return json_response(exc.status_code, {"error": str(exc)})

    @app.exception_handler(VigilError)
    def broken(exc: VigilError) -> Response:
        # An invalid config or a missing setting: the operator's to fix. The details go to
        # the log only: the page may be public, and a config error quotes the config.
        logger.error("status function cannot answer: %s", exc)
        if isinstance(exc, ConfigError):  # the key paths tell the operator where to look
            where = ", ".join(path for path, _ in exc.problems[:10])
            reason = f"invalid configuration at {where}"
        else:
            reason = type(exc).__name__
        return json_response(
            500, {"error": f"the status function cannot answer ({reason}); see its log"}
        )

    @app.not_found
    def no_route(exc: Exception) -> Response:
        method = app.current_event.http_method
        path = app.current_event.path
        return json_response(
            404, {"error": f"no route {method} {path[:200]}; routes: {'; '.join(ROUTES)}"}
        )

    return app


class _BadParameter(StatusQueryError):
    status_code = 400
