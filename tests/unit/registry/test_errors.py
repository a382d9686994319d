"""Every error the core raises has Confluent's error code, HTTP status and message."""

from collections.abc import Callable
from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, StringConstraints

from services.registry import errors
from services.registry.api.handlers import install_error_handlers
from services.registry.core.registry import Registry
from services.registry.errors import ErrorCode, RegistryError
from services.registry.models import Config, SchemaReference
from streammesh.errors import StreamMeshError

from .samples import USER_V1, USER_V2, USER_V3, field, record, run

Trigger = Callable[[Registry], Any]


def registered(r: Registry) -> Registry:
    run(r.register("users", USER_V1))
    return r


def soft_deleted_subject(r: Registry) -> Registry:
    registered(r)
    run(r.delete_subject("users"))
    return r


def referenced(r: Registry) -> Registry:
    run(r.register("addr", record("Address", field("city", "string"))))
    ref = SchemaReference(name="Address", subject="addr", version=1)
    run(r.register("users", record("User", field("a", "Address")), references=[ref]))
    return r


CASES: list[tuple[str, Trigger, ErrorCode, int, str]] = [
    (
        "subject not found",
        lambda r: r.get_version("nope", "latest"),
        ErrorCode.SUBJECT_NOT_FOUND,
        404,
        "Subject 'nope' not found.",
    ),
    (
        "version not found",
        lambda r: registered(r).get_version("users", 9),
        ErrorCode.VERSION_NOT_FOUND,
        404,
        "Version 9 not found.",
    ),
    (
        "schema id not found",
        lambda r: r.get_schema_by_id(42),
        ErrorCode.SCHEMA_NOT_FOUND,
        404,
        "Schema 42 not found",
    ),
    (
        "schema not under subject",
        lambda r: registered(r).lookup("users", USER_V3),
        ErrorCode.SCHEMA_NOT_FOUND,
        404,
        "Schema not found",
    ),
    (
        "subject already soft-deleted",
        lambda r: run(soft_deleted_subject(r).delete_subject("users")),
        ErrorCode.SUBJECT_SOFT_DELETED,
        404,
        "Subject 'users' was soft deleted.Set permanent=true to delete permanently",
    ),
    (
        "subject not soft-deleted first",
        lambda r: run(registered(r).delete_subject("users", permanent=True)),
        ErrorCode.SUBJECT_NOT_SOFT_DELETED,
        404,
        "Subject 'users' was not deleted first before being permanently deleted",
    ),
    (
        "version already soft-deleted",
        lambda r: run(soft_deleted_version(r).delete_version("users", 1)),
        ErrorCode.VERSION_SOFT_DELETED,
        404,
        "Subject 'users' Version 1 was soft deleted.Set permanent=true to delete permanently",
    ),
    (
        "version not soft-deleted first",
        lambda r: run(registered(r).delete_version("users", 1, permanent=True)),
        ErrorCode.VERSION_NOT_SOFT_DELETED,
        404,
        "Subject 'users' Version 1 was not deleted first before being permanently deleted",
    ),
    (
        "no subject-level config",
        lambda r: registered(r).get_config("users"),
        ErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
        404,
        "Subject 'users' does not have subject-level compatibility configured",
    ),
    (
        "no subject-level mode",
        lambda r: registered(r).get_mode("users"),
        ErrorCode.SUBJECT_MODE_NOT_CONFIGURED,
        404,
        "Subject 'users' does not have subject-level mode configured",
    ),
    (
        "incompatible schema",
        lambda r: run(registered(r).register("users", USER_V3)),
        ErrorCode.INCOMPATIBLE_SCHEMA,
        409,
        'Schema being registered is incompatible with an earlier schema for subject "users", '
        "details: [{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'",
    ),
    (
        "invalid schema",
        lambda r: run(r.register("users", '{"type":"record"}')),
        ErrorCode.INVALID_SCHEMA,
        422,
        'Invalid schema {"type":"record"} of type AVRO, details:',
    ),
    (
        "missing reference",
        lambda r: run(
            r.register(
                "users", USER_V1, references=[SchemaReference(name="A", subject="x", version=1)]
            )
        ),
        ErrorCode.INVALID_SCHEMA,
        422,
        "Invalid schema reference A to subject x version 1: Subject 'x' not found.",
    ),
    (
        "invalid version",
        lambda r: registered(r).get_version("users", "first"),
        ErrorCode.INVALID_VERSION,
        422,
        "The specified version 'first' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"',
    ),
    (
        "invalid compatibility level",
        lambda r: run(r.set_config(None, Config(compatibility_level="SIDEWAYS"))),
        ErrorCode.INVALID_COMPATIBILITY_LEVEL,
        422,
        "Invalid compatibility level. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive",
    ),
    (
        "invalid mode",
        lambda r: run(r.set_mode(None, "READMOSTLY")),
        ErrorCode.INVALID_MODE,
        422,
        "Invalid mode. Valid values are READWRITE, READONLY, and IMPORT.",
    ),
    (
        "write in read-only mode",
        lambda r: run(read_only(r).register("users", USER_V2)),
        ErrorCode.OPERATION_NOT_PERMITTED,
        422,
        "Subject users is in read-only mode",
    ),
    (
        "explicit id outside import mode",
        lambda r: run(r.register("users", USER_V1, id=5)),
        ErrorCode.OPERATION_NOT_PERMITTED,
        422,
        "Subject users is not in import mode",
    ),
    (
        "import mode over existing subjects",
        lambda r: run(registered(r).set_mode(None, "IMPORT")),
        ErrorCode.OPERATION_NOT_PERMITTED,
        422,
        "Cannot import since found existing subjects",
    ),
    (
        "referenced version deleted",
        lambda r: run(referenced(r).delete_version("addr", 1)),
        ErrorCode.REFERENCE_EXISTS,
        422,
        "One or more references exist to the schema "
        "{magic=1,keytype=SCHEMA,subject=addr,version=1}.",
    ),
]


def soft_deleted_version(r: Registry) -> Registry:
    run(registered(r).delete_version("users", 1))
    return r


def read_only(r: Registry) -> Registry:
    run(registered(r).set_mode(None, "READONLY"))
    return r


@pytest.mark.parametrize(
    ("trigger", "code", "status", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_core_raises_confluents_error(
    registry: Registry, trigger: Trigger, code: ErrorCode, status: int, message: str
) -> None:
    with pytest.raises(RegistryError) as caught:
        trigger(registry)
    assert (caught.value.error_code, caught.value.http_status) == (code, status)
    assert caught.value.message.startswith(message)
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (errors.UnknownRouteError(), 404, 404),
        (errors.MethodNotAllowedError(), 405, 405),
        (errors.UnsupportedMediaTypeError(), 415, 415),
        (errors.UnprocessableEntityError("bad body"), 422, 422),
        (errors.UnauthorizedError(), 40101, 401),
        (errors.ForbiddenError(), 40301, 403),
        (errors.StoreError(), 50001, 500),
        (errors.StoreTimeoutError(), 50002, 500),
        (errors.ForwardingError(), 50003, 500),
    ],
)
def test_errors_raised_outside_the_core_carry_their_codes(
    error: RegistryError, code: int, status: int
) -> None:
    assert (error.error_code, error.http_status) == (code, status)
    assert error.message


def test_every_registry_error_derives_from_the_project_root() -> None:
    assert issubclass(RegistryError, StreamMeshError)


def test_a_refused_body_is_named_briefly() -> None:
    # The client's own text in a field's path (a map key) and the number of problems named
    # are both cut, so a refused megabyte does not come back as a megabyte.
    app = FastAPI()
    install_error_handlers(app)

    class Body(BaseModel):
        params: dict[Annotated[str, StringConstraints(max_length=8)], int]

    @app.put("/x")
    async def put(body: Body) -> None:
        del body

    with TestClient(app) as client:
        huge = client.put("/x", json={"params": {"k" * (1 << 20): 1}})
        many = client.put("/x", json={"params": {f"key-{n:05d}": 1 for n in range(30)}})
    assert (huge.status_code, huge.json()["error_code"]) == (422, 422)
    assert huge.json()["message"].startswith("Unprocessable entity: params.kkkk")
    assert len(huge.content) < 1024
    assert many.json()["message"].endswith("; and 10 more")
