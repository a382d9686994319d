"""``/schemas``: schemas by id and guid, and the listing of all schemas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.registry.api.cache import RenderCache
from services.registry.api.deps import Deleted, Page, RegistryDep, flag
from services.registry.api.openapi import RAW_SCHEMA, answers
from services.registry.api.wire import V1, RegistryRoute
from services.registry.core.registry import Registry
from services.registry.errors import SchemaNotFoundError
from services.registry.models import SchemaString, SchemaVersion, SubjectVersion

router = APIRouter(prefix="/schemas", tags=["schemas"], route_class=RegistryRoute)


@router.get("")
async def list_schemas(
    registry: RegistryDep,
    deleted: Deleted,
    paging: Page,
    subject_prefix: Annotated[str, Query(alias="subjectPrefix")] = "",
    latest_only: Annotated[str | None, Query(alias="latestOnly")] = None,
) -> list[SchemaVersion]:
    return paging(registry.list_schemas(subject_prefix, deleted, flag(latest_only)))


@router.get(
    "/ids/{schema_id}",
    response_model=SchemaString,
    responses=answers(SchemaNotFoundError),
    openapi_extra={
        "parameters": [
            {"name": "subject", "in": "query", "schema": {"type": "string"}},
            # A flag, as every flag: "true", "True", "1" or "" mean true, anything else false.
            {"name": "fetchMaxId", "in": "query", "schema": {"type": "string"}},
        ]
    },
)
async def schema_by_id(request: Request, schema_id: int) -> Response:
    # The mesh's hottest read: every consumer's deserializer asks it once per schema id. It
    # reads app state and the query itself, as each FastAPI dependency costs more than the
    # cached answer does.
    state = request.app.state
    registry: Registry = state.registry
    cache: RenderCache = state.render_cache
    query = request.query_params
    subject = query.get("subject")
    max_id = flag(query.get("fetchMaxId"))
    return cache.response(
        ("id", schema_id, subject, max_id),
        lambda: registry.get_schema_by_id(schema_id, subject, max_id),
    )


@router.get("/ids/{schema_id}/schema", responses=RAW_SCHEMA | answers(SchemaNotFoundError))
async def raw_schema_by_id(
    registry: RegistryDep, schema_id: int, subject: str | None = None
) -> Response:
    # The schema itself, not a JSON string holding it.
    return Response(registry.get_schema_by_id(schema_id, subject).schema_, media_type=V1)


@router.get("/ids/{schema_id}/subjects", responses=answers(SchemaNotFoundError))
async def subjects_by_id(
    registry: RegistryDep,
    schema_id: int,
    deleted: Deleted,
    paging: Page,
    subject: str | None = None,
) -> list[str]:
    return paging(registry.subjects_for_id(schema_id, deleted, subject))


@router.get("/ids/{schema_id}/versions", responses=answers(SchemaNotFoundError))
async def versions_by_id(
    registry: RegistryDep,
    schema_id: int,
    deleted: Deleted,
    paging: Page,
    subject: str | None = None,
) -> list[SubjectVersion]:
    return paging(registry.versions_for_id(schema_id, deleted, subject))


@router.get("/guids/{guid}", responses=answers(SchemaNotFoundError))
async def schema_by_guid(registry: RegistryDep, guid: str) -> SchemaString:
    return registry.get_schema_by_guid(guid)
