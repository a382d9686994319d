"""The one place errors become HTTP: ``{"error_code", "message"}`` with Confluent's codes."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from services.registry.api.wire import RegistryJSONResponse
from services.registry.errors import ErrorCode, RegistryError

log = logging.getLogger(__name__)
_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# A refusal names the fields but stays small: a map key in a field's path is the client's own
# text (a refused 1 MB key must not come back as a 1 MB message), and so is the number of them.
_PART_SHOWN = 64
_PROBLEMS_SHOWN = 20


def _shown(part: object) -> str:
    text = str(part)
    return text if len(text) <= _PART_SHOWN else f"{text[:_PART_SHOWN]}..."


def _render(status: int, error_code: int, message: str) -> RegistryJSONResponse:
    return RegistryJSONResponse({"error_code": error_code, "message": message}, status_code=status)


def render_error(error: RegistryError) -> RegistryJSONResponse:
    return _render(error.http_status, error.error_code, error.message)


async def _registry_error(_: Request, error: Exception) -> RegistryJSONResponse:
    assert isinstance(error, RegistryError)
    return render_error(error)


async def _http_error(request: Request, error: Exception) -> RegistryJSONResponse:
    # Unknown routes and methods, phrased as Jersey phrases them for Confluent.
    assert isinstance(error, HTTPException)
    phrase = HTTPStatus(error.status_code).phrase
    response = _render(error.status_code, error.status_code, f"HTTP {error.status_code} {phrase}")
    if error.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        response.headers["Allow"] = allowed_methods(request)
    return response


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers: Starlette names only its first route's."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


async def _validation_error(_: Request, error: Exception) -> RegistryJSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return _render(400, 400, "Unexpected character: the request body is not valid JSON")
    details = "; ".join(
        f"{'.'.join(_shown(p) for p in problem.get('loc', ()) if p != 'body')}: "
        f"{problem.get('msg')}"
        for problem in problems[:_PROBLEMS_SHOWN]
    )
    if len(problems) > _PROBLEMS_SHOWN:
        details += f"; and {len(problems) - _PROBLEMS_SHOWN} more"
    return _render(422, ErrorCode.UNPROCESSABLE_ENTITY, f"Unprocessable entity: {details}")


async def _unexpected(_: Request, error: Exception) -> RegistryJSONResponse:
    log.exception("unexpected error", exc_info=error)
    return _render(500, ErrorCode.STORE_ERROR, f"Internal server error: {error}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RegistryError, _registry_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
