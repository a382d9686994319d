"""``/subjects``: register, look up, list, read and delete versions of a subject; writes go
through ``Governance``, which holds a data product's subjects to its contract."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict, Field

from services.registry.api.deps import (
    Admin,
    Deleted,
    DeletedOnly,
    ForwarderDep,
    GovernanceDep,
    Normalize,
    Page,
    Permanent,
    RegistryDep,
    RenderCacheDep,
    Subject,
    VersionPath,
)
from services.registry.api.forward import scope_target
from services.registry.api.openapi import (
    EXPLICIT_ID,
    RAW_SCHEMA,
    REGISTER,
    REGISTERED_TYPE,
    SCHEMA_EXAMPLES,
    SUBJECT_DELETE,
    VERSION_DELETE,
    VERSION_LOOKUP,
    answers,
)
from services.registry.api.wire import V1, RegistryRoute
from services.registry.core.queries import parse_version
from services.registry.core.registry import Version
from services.registry.errors import (
    InvalidSchemaError,
    InvalidVersionError,
    SchemaNotFoundError,
    SubjectNotFoundError,
)
from services.registry.models import (
    Metadata,
    RuleSet,
    SchemaId,
    SchemaReference,
    SchemaVersion,
)
from streammesh.models import JsonInt, WireModel

router = APIRouter(prefix="/subjects", tags=["subjects"], route_class=RegistryRoute)


class SchemaBody(WireModel):
    """The body of lookup and compatibility requests; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=SCHEMA_EXAMPLES)

    schema_: str = Field(alias="schema")  # "schema" would shadow BaseModel.schema
    schema_type: str | None = None
    references: list[SchemaReference] = Field(default_factory=list)
    metadata: Metadata | None = None
    rule_set: RuleSet | None = None


class SchemaRequest(SchemaBody):
    """The body of a registration: the schema's type is checked, explicit ids and versions
    are the IMPORT mode's."""

    schema_type: Annotated[str | None, REGISTERED_TYPE] = None
    id: Annotated[JsonInt | None, EXPLICIT_ID] = None
    version: JsonInt | None = None


class RegistrationFields(TypedDict):
    """What a register request says besides the subject, the schema and explicit ids."""

    schema_type: str | None
    references: list[SchemaReference]
    metadata: Metadata | None
    rule_set: RuleSet | None
    normalize: bool


def version_param(version: str) -> Version:
    # Up to 11 characters ("-2147483648"): more digits are left for parse_version, which reads
    # leading zeros and refuses the rest, rather than for int(), which refuses past 4300.
    if len(version) <= 11 and version.lstrip("-").isdecimal():
        return int(version)
    return version


def version_key(version: str) -> int | str:
    """A version in a path as the render cache keys it: its number ("1", "01" and "001" are
    one answer), -1 for the latest ("latest", "-1"); a version that is not one stays as sent,
    as its 42202 is never cached."""
    try:
        number = parse_version(version_param(version))
    except InvalidVersionError:
        return version
    return -1 if number is None else number


@router.get("")
async def list_subjects(
    registry: RegistryDep,
    deleted: Deleted,
    deleted_only: DeletedOnly,
    paging: Page,
    subject_prefix: Annotated[str, Query(alias="subjectPrefix")] = "",
) -> list[str]:
    return paging(registry.list_subjects(subject_prefix, deleted, deleted_only))


@router.post(
    "/{subject}", responses=answers(SubjectNotFoundError, SchemaNotFoundError, InvalidSchemaError)
)
async def lookup(
    registry: RegistryDep,
    subject: Subject,
    body: SchemaBody,
    normalize: Normalize,
    deleted: Deleted,
) -> SchemaVersion:
    return registry.lookup(subject, body.schema_, body.references, normalize, deleted)


@router.delete("/{subject}", responses=SUBJECT_DELETE)
async def delete_subject(
    governance: GovernanceDep, admin: Admin, subject: Subject, permanent: Permanent
) -> list[int]:
    return await governance.delete_subject(subject, permanent, admin=admin)


@router.get("/{subject}/versions", responses=answers(SubjectNotFoundError))
async def list_versions(
    registry: RegistryDep,
    subject: Subject,
    deleted: Deleted,
    deleted_only: DeletedOnly,
    paging: Page,
) -> list[int]:
    return paging(registry.list_versions(subject, deleted, deleted_only))


@router.post("/{subject}/versions", response_model=SchemaId, responses=REGISTER)
async def register(
    request: Request,
    registry: RegistryDep,
    governance: GovernanceDep,
    admin: Admin,
    forwarder: ForwarderDep,
    subject: Subject,
    body: SchemaRequest,
    normalize: Normalize,
) -> SchemaId | Response:
    fields: RegistrationFields = {
        "schema_type": body.schema_type,
        "references": body.references,
        "metadata": body.metadata,
        "rule_set": body.rule_set,
        "normalize": normalize,
    }
    explicit_id = body.id if body.id is not None and body.id >= 0 else None
    explicit_version = body.version if body.version is not None and body.version > 0 else None
    if forwarder.forwarding:
        # A follower: answer a re-registration (it writes nothing), forward the rest.
        if body.id is None and body.version is None:
            existing = registry.registered_id(subject, body.schema_, **fields)
            if existing is not None:
                return SchemaId(id=existing)
        raw_path, query = scope_target(request.scope)
        return await forwarder.forward(
            "POST", raw_path, query, request.scope["headers"], await request.body()
        )
    return await governance.register(
        subject, body.schema_, **fields, id=explicit_id, version=explicit_version, admin=admin
    )


@router.get("/{subject}/versions/{version}", response_model=SchemaVersion, responses=VERSION_LOOKUP)
async def get_version(
    registry: RegistryDep,
    cache: RenderCacheDep,
    subject: Subject,
    version: VersionPath,
    deleted: Deleted,
) -> Response:
    # Serializers with use.latest.version ask for this on every cache miss.
    return cache.response(
        ("version", subject, version_key(version), deleted),
        lambda: registry.get_version(subject, version_param(version), deleted),
    )


@router.get("/{subject}/versions/{version}/schema", responses=RAW_SCHEMA | VERSION_LOOKUP)
async def get_raw_schema(
    registry: RegistryDep, subject: Subject, version: VersionPath, deleted: Deleted
) -> Response:
    found = registry.get_version(subject, version_param(version), deleted)
    return Response(found.schema_, media_type=V1)


@router.get("/{subject}/versions/{version}/referencedby", responses=VERSION_LOOKUP)
async def referenced_by(
    registry: RegistryDep, subject: Subject, version: VersionPath, paging: Page
) -> list[int]:
    return paging(registry.referenced_by(subject, version_param(version)))


@router.delete("/{subject}/versions/{version}", responses=VERSION_DELETE)
async def delete_version(
    governance: GovernanceDep,
    admin: Admin,
    subject: Subject,
    version: VersionPath,
    permanent: Permanent,
) -> int:
    return await governance.delete_version(subject, version_param(version), permanent, admin=admin)


@router.get("/{subject}/metadata", responses=answers(SubjectNotFoundError, SchemaNotFoundError))
async def latest_with_metadata(
    registry: RegistryDep,
    subject: Subject,
    deleted: Deleted,
    key: Annotated[list[str] | None, Query()] = None,
    value: Annotated[list[str] | None, Query()] = None,
) -> SchemaVersion:
    wanted = dict(zip(key or [], value or [], strict=False))
    return registry.get_latest_with_metadata(subject, wanted, deleted)
