"""The OpenAPI document, true to what the registry answers on the wire.

FastAPI documents what each route returns. The registry also answers ahead of the routes (the
wire's 406, the body limit's 413, authentication's 401 and 403, the one handler's 400, 422 and
500) and in each media type it negotiates, so the document is completed here, once, for every
route; a route names only its own errors, with ``responses=answers(...)``. Each error status
lists the Confluent ``error_code`` values it may carry, in its schema too, so a client (and the
fuzz test) can hold the registry to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field, JsonValue, WithJsonSchema

from services.registry.api.forward import is_write
from services.registry.api.wire import SUPPORTED
from services.registry.errors import (
    ErrorCode,
    IncompatibleSchemaError,
    InvalidSchemaError,
    InvalidVersionError,
    OperationNotPermittedError,
    ReferenceExistsError,
    RegistryError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from services.registry.models import MAX_INT

Responses = dict[int | str, dict[str, Any]]
JsonSchema = dict[str, Any]

_CODES: Final = "x-error-codes"  # a route's own codes per status, until the document is built
_OPERATIONS: Final = ("get", "put", "post", "delete", "patch")
# Open to anonymous reads, as api/auth.py lets them through.
_OPEN: Final = frozenset({("get", "/health")})
_JERSEY_PHRASES: Final = {400: "the body is not JSON", 406: "not acceptable"}


class ErrorBody(BaseModel):
    """Every error the registry answers, in Confluent's shape."""

    error_code: int = Field(description="Confluent's error code (40401, 42201, ...).")
    message: str


def answers(*errors: type[RegistryError]) -> Responses:
    """A route's ``responses=``: the statuses its own errors answer, with their codes."""
    codes: dict[int, list[int]] = {}
    for error in errors:
        codes.setdefault(error.default_http_status, []).append(error.default_error_code)
    return {status: {"description": "", _CODES: listed} for status, listed in codes.items()}


# A version in a path, as ``queries.parse_version`` reads it: 1 to 2^31-1, or the latest as
# "latest" or -1. The routes answer anything else with 42202, so it is documented, not validated
# by FastAPI (whose 422 would carry another code).
VERSION: Final[JsonSchema] = {
    "title": "Version",
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_INT},
        {"type": "integer", "enum": [-1]},
        {"type": "string", "enum": ["latest"]},
    ],
}


# A registration's explicit id: under 1 none is given, 0 and past 2^31-1 are refused (42201).
EXPLICIT_ID: Final = WithJsonSchema(
    {
        "anyOf": [
            {"type": "integer", "maximum": -1},
            {"type": "integer", "minimum": 1, "maximum": MAX_INT},
            {"type": "null"},
        ]
    }
)
# The one schema type this registry registers (42201 for another).
REGISTERED_TYPE: Final = WithJsonSchema({"enum": ["AVRO", None]})
# A schema's text must parse as Avro, which a JSON Schema cannot say: an example shows one.
SCHEMA_EXAMPLES: Final[dict[str, JsonValue]] = {
    "examples": [
        {
            "schema": '{"type":"record","name":"Order","namespace":"sales",'
            '"fields":[{"name":"id","type":"string"}]}'
        }
    ]
}

# The errors of routes that share them.
VERSION_LOOKUP: Final = answers(SubjectNotFoundError, VersionNotFoundError, InvalidVersionError)
VERSION_DELETE: Final = answers(
    SubjectNotFoundError,
    VersionNotFoundError,
    VersionSoftDeletedError,
    VersionNotSoftDeletedError,
    InvalidVersionError,
    ReferenceExistsError,
    OperationNotPermittedError,
)
SUBJECT_DELETE: Final = answers(
    SubjectNotFoundError,
    SubjectSoftDeletedError,
    SubjectNotSoftDeletedError,
    ReferenceExistsError,
    OperationNotPermittedError,
)
REGISTER: Final = answers(IncompatibleSchemaError, InvalidSchemaError, OperationNotPermittedError)
SCHEMA_CHECK: Final = answers(
    SubjectNotFoundError, VersionNotFoundError, InvalidVersionError, InvalidSchemaError
)
# A schema's own text: JSON of any shape (an Avro schema may be a name, a record or a union).
RAW_SCHEMA: Final[Responses] = {
    200: {"description": "The schema itself", "content": {SUPPORTED[0]: {"schema": {}}}}
}


def any_case(values: Iterable[str], *, nullable: bool = False) -> WithJsonSchema:
    """The schema of a string the registry upper-cases, then finds among ``values``."""

    def letters(value: str) -> str:
        return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in value)

    pattern = f"^({'|'.join(letters(v) for v in sorted(values))})$"
    schema: JsonSchema = {"type": "string", "pattern": pattern}
    return WithJsonSchema({"anyOf": [schema, {"type": "null"}]} if nullable else schema)


def install_openapi(app: FastAPI, *, auth: bool) -> None:
    """Serve the completed document at ``/openapi.json`` (built once, on the first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, auth=auth)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


def document(app: FastAPI, *, auth: bool) -> dict[str, Any]:
    """FastAPI's document of ``app``, completed with what answers ahead of the routes."""
    spec = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for fastapi_only in ("HTTPValidationError", "ValidationError"):
        schemas.pop(fastapi_only, None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    if auth:
        spec["components"]["securitySchemes"] = {"basic": {"type": "http", "scheme": "basic"}}
        spec["security"] = [{"basic": []}]
    for path, item in spec.get("paths", {}).items():
        for method in _OPERATIONS:
            if method in item:
                _complete(item[method], method, path, auth)
    return spec


def _negotiated(schema: JsonSchema) -> dict[str, Any]:
    # The wire answers (and reads) each of Confluent's media types with the same JSON.
    return {media: {"schema": schema} for media in SUPPORTED}


def _complete(operation: dict[str, Any], method: str, path: str, auth: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes: dict[int, set[int]] = {}
    for status in list(responses):
        # A route's own errors, and FastAPI's validation error (the one handler renders it).
        if _CODES in responses[status] or status == "422":
            codes[int(status)] = set(responses.pop(status).get(_CODES, ()))
    for response in responses.values():
        content = response.get("content")
        if content:  # FastAPI names one media type; the wire answers in the client's
            response["content"] = _negotiated(next(iter(content.values())).get("schema", {}))
    body = operation.get("requestBody")
    if body is not None:
        body["content"] = _negotiated(next(iter(body["content"].values()))["schema"])
    # What answers ahead of the route, in the order a request meets it.
    if auth and (method, path) not in _OPEN:
        codes.setdefault(401, set()).add(ErrorCode.UNAUTHORIZED)
        if is_write(method.upper(), path):
            codes.setdefault(403, set()).add(ErrorCode.FORBIDDEN)
    codes.setdefault(406, set()).add(406)
    if method != "get":
        codes.setdefault(413, set()).add(ErrorCode.PAYLOAD_TOO_LARGE)
    if body is not None:
        codes.setdefault(400, set()).add(400)
    if body is not None or operation.get("parameters"):
        codes.setdefault(422, set()).add(ErrorCode.UNPROCESSABLE_ENTITY)
    codes.setdefault(500, set()).update(
        (ErrorCode.STORE_ERROR, ErrorCode.OPERATION_TIMEOUT, ErrorCode.FORWARDING_ERROR)
    )
    for code, listed in sorted(codes.items()):
        responses[str(code)] = _error_response(sorted(listed), refused=code == 406)
    if auth and (method, path) in _OPEN:
        operation["security"] = []


def _error_response(codes: list[int], *, refused: bool = False) -> dict[str, Any]:
    named = ", ".join(f"{code} ({_name(code)})" for code in codes)
    schema = {
        "allOf": [{"$ref": "#/components/schemas/ErrorBody"}],
        "properties": {"error_code": {"enum": codes}},
    }
    # A refused negotiation has no media type of the client's to answer in: plain JSON.
    content = {"application/json": {"schema": schema}} if refused else _negotiated(schema)
    return {"description": f"Error codes: {named}.", "content": content}


def _name(code: int) -> str:
    if code in _JERSEY_PHRASES:
        return _JERSEY_PHRASES[code]
    return ErrorCode(code).name.lower().replace("_", " ")
