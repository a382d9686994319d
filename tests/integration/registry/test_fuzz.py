"""The registry answers as its OpenAPI document says, whatever it is sent.

Schemathesis takes the registry's document (the one ``/openapi.json`` serves, as a test here
checks) and sends every operation of a registry served on a port, on the session's Kafka, with
authentication off and on (signed by an admin), generated requests, valid and invalid, with
every check on: no server error, only documented statuses, media types, bodies and headers,
valid data accepted and invalid data refused, 405 with ``Allow`` for an undeclared method,
credentials enforced. Examples are bounded and derandomized: every run is the same run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
import schemathesis
import yaml
from confluent_kafka.admin import AdminClient
from hypothesis import HealthCheck, settings
from schemathesis import CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from services.registry.api.auth import hash_password
from services.registry.api.openapi import document
from services.registry.app import create_app
from services.registry.errors import ErrorCode
from services.registry.settings import RegistrySettings
from streammesh.testing.servers import serve_in_thread
from tests.conftest import ensure_registry_topic, unique_name

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN = ("ops", "ops-pw")
OPEN_PATHS = frozenset({"/health"})
# Refusals of a well-formed request for what it means, which no JSON Schema can say: a schema
# text that does not parse as Avro (or names a missing reference), a write the subject's mode
# forbids, a version still referenced, a product its governance refuses. Confluent answers
# them 422 with these codes, and its clients depend on that.
MEANING_REFUSED = frozenset(
    {
        ErrorCode.INVALID_SCHEMA,
        ErrorCode.OPERATION_NOT_PERMITTED,
        ErrorCode.REFERENCE_EXISTS,
        ErrorCode.POLICY_VIOLATION,
        ErrorCode.INVALID_LIFECYCLE,
    }
)


def serve(
    request: pytest.FixtureRequest, bootstrap_servers: str, admin: AdminClient, **auth: object
) -> Iterator[str]:
    """A fresh registry on a log of its own, served on a port."""
    topic = unique_name(request, "_streammesh.schemas")
    registry_settings = RegistrySettings.model_validate(
        {"bootstrap_servers": bootstrap_servers, "topic": topic, "auth_enabled": False, **auth}
    )
    ensure_registry_topic(admin, topic)
    with serve_in_thread(create_app(registry_settings)) as url:
        yield url
    admin.delete_topics([topic])[topic].result(timeout=30)


@pytest.fixture(scope="module")
def open_registry(
    request: pytest.FixtureRequest, bootstrap_servers: str, admin: AdminClient
) -> Iterator[str]:
    yield from serve(request, bootstrap_servers, admin)


@pytest.fixture(scope="module")
def signed_registry(
    request: pytest.FixtureRequest,
    bootstrap_servers: str,
    admin: AdminClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """With authentication on; the fuzzer signs its requests as ADMIN."""
    name, password = ADMIN
    users = {name: {"password": hash_password(password, iterations=1000), "role": "admin"}}
    auth_file = tmp_path_factory.mktemp("users") / "users.yaml"
    auth_file.write_text(yaml.safe_dump({"users": users}))
    yield from serve(request, bootstrap_servers, admin, auth_enabled=True, auth_file=auth_file)


def positive_data_accepted(ctx: CheckContext, response: Response, case: OpenApiCase) -> bool | None:
    """Schemathesis' positive_data_acceptance, but for the refusals in MEANING_REFUSED."""
    if response.status_code == 422 and _error_code(response) in MEANING_REFUSED:
        return None
    return positive_data_acceptance(ctx, response, case)


def undeclared_method_refused(
    ctx: CheckContext, response: Response, case: OpenApiCase
) -> bool | None:
    """Schemathesis' unsupported_method, but for an open path's 401 (see below)."""
    # Open paths are open to reads only: another method is authenticated before routing
    # answers 405, as test_auth.py holds (the check excuses a 401 only where the document
    # asks for credentials, and the probe's GET does not).
    if response.status_code == 401 and case.operation.path in OPEN_PATHS:
        return None
    return unsupported_method(ctx, response, case)


def _error_code(response: Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error_code") if isinstance(body, dict) else None


# Every check of schemathesis but two: max_response_time (no time limit holds on a shared
# machine) and object_level_authorization (every principal reads everything, by design).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_accepted,
    missing_required_header,
    undeclared_method_refused,
    allow_header_conformance,
    ignored_auth,
    use_after_free,
    ensure_resource_availability,
]

# The documents the registries serve (the test below holds them to it), read from the routes
# at collection, as schemathesis parametrizes a test by the operations of a document.
ROUTES = create_app(RegistrySettings(auth_enabled=False))
OPEN = schemathesis.openapi.from_dict(document(ROUTES, auth=False))
# Signed through the document's security scheme, so schemathesis also sends requests unsigned.
SIGNED = schemathesis.openapi.from_dict(
    document(ROUTES, auth=True),
    config=schemathesis.Config.from_dict(
        {"auth": {"openapi": {"basic": {"username": ADMIN[0], "password": ADMIN[1]}}}}
    ),
)
FUZZING = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@OPEN.parametrize()
@FUZZING
def test_without_authentication(case: OpenApiCase, open_registry: str) -> None:
    case.call_and_validate(base_url=open_registry, checks=CHECKS, timeout=30)


# The config's body has some 1300 coverage cases, many of them writes; the open run sends them,
# and what the signed run adds, authentication, is the same for every route.
@SIGNED.exclude(method="PUT", path_regex="^/config").parametrize()
@FUZZING
def test_signed_by_an_admin(case: OpenApiCase, signed_registry: str) -> None:
    case.call_and_validate(base_url=signed_registry, checks=CHECKS, timeout=30)


def test_the_served_documents_are_the_fuzzed_ones(open_registry: str, signed_registry: str) -> None:
    assert httpx.get(f"{open_registry}/openapi.json").json() == OPEN.raw_schema
    signed = httpx.get(f"{signed_registry}/openapi.json", auth=ADMIN).json()
    assert signed == SIGNED.raw_schema
