"""The OpenAPI document says what answers ahead of the routes, in every negotiated media type;
an undeclared method is answered 405 with every method of its path.

No Kafka: the document and the 405 need neither the log nor the lifespan.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.registry.api.openapi import answers, document
from services.registry.api.wire import SUPPORTED
from services.registry.app import create_app
from services.registry.errors import (
    ErrorCode,
    InvalidVersionError,
    SubjectNotFoundError,
    VersionNotFoundError,
)
from services.registry.settings import RegistrySettings

APP = create_app(RegistrySettings(auth_enabled=False))


def codes(response: dict[str, Any]) -> list[int]:
    schema = response["content"][SUPPORTED[0]]["schema"]
    assert schema["allOf"] == [{"$ref": "#/components/schemas/ErrorBody"}]
    enum: list[int] = schema["properties"]["error_code"]["enum"]
    return enum


def test_answers_group_a_routes_errors_by_status() -> None:
    declared = answers(SubjectNotFoundError, VersionNotFoundError, InvalidVersionError)
    assert sorted(declared) == [404, 422]
    assert declared[404]["x-error-codes"] == [40401, 40402]
    assert declared[422]["x-error-codes"] == [42202]


def test_a_route_lists_its_own_codes_and_those_met_before_it() -> None:
    operation = document(APP, auth=False)["paths"]["/subjects/{subject}/versions/{version}"]["get"]
    responses = operation["responses"]
    assert sorted(responses) == ["200", "404", "406", "422", "500"]
    assert codes(responses["404"]) == [40401, 40402]
    assert codes(responses["422"]) == [422, 42202]  # FastAPI's validation, and the route's own
    assert codes(responses["500"]) == [50001, 50002, 50003]
    assert list(responses["200"]["content"]) == list(SUPPORTED)
    assert list(responses["406"]["content"]) == ["application/json"]  # none of the client's


def test_writes_declare_the_body_limit_and_with_authentication_its_refusals() -> None:
    open_ = document(APP, auth=False)
    signed = document(APP, auth=True)
    register = "/subjects/{subject}/versions"
    assert {"400", "409", "413"} <= set(open_["paths"][register]["post"]["responses"])
    assert not {"401", "403"} & set(open_["paths"][register]["post"]["responses"])
    responses = signed["paths"][register]["post"]["responses"]
    assert codes(responses["401"]) == [ErrorCode.UNAUTHORIZED]
    assert codes(responses["403"]) == [ErrorCode.FORBIDDEN]
    assert "403" not in signed["paths"]["/subjects"]["get"]["responses"]  # reads are everyone's
    assert signed["security"] == [{"basic": []}]
    assert signed["paths"]["/health"]["get"]["security"] == []  # open to probes
    assert "401" not in signed["paths"]["/health"]["get"]["responses"]


def test_the_document_is_served() -> None:
    answer = TestClient(APP).get("/openapi.json")  # not entered: no lifespan, no Kafka
    assert answer.status_code == 200
    assert answer.json() == document(APP, auth=False)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/config", "GET, PUT, DELETE"),
        ("PATCH", "/subjects/a%2Fb/versions", "GET, POST"),
        ("POST", "/schemas/ids/1", "GET"),
    ],
)
def test_an_undeclared_method_is_405_with_every_method_of_the_path(
    method: str, path: str, allowed: str
) -> None:
    answer = TestClient(APP).request(method, path)
    assert answer.status_code == 405
    assert answer.json() == {"error_code": 405, "message": "HTTP 405 Method Not Allowed"}
    assert answer.headers["allow"] == allowed
