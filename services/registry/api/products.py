"""``/products``: the data-product catalog (upsert, search, lineage, impact, lifecycle)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.registry.api.openapi import answers
from services.registry.api.wire import RegistryRoute
from services.registry.catalog.models import (
    DataProductCreate,
    DataProductPublic,
    DeprecateRequest,
    ImpactReport,
    ImpactRequest,
    LineageGraph,
    RetireRequest,
)
from services.registry.catalog.service import Catalog
from services.registry.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    LifecycleError,
    OperationNotPermittedError,
    PolicyViolationError,
    ProductNotFoundError,
)
from streammesh.products.descriptor import Status

router = APIRouter(prefix="/products", tags=["products"], route_class=RegistryRoute)


async def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
Major = Annotated[int | None, Query()]
LIFECYCLE = answers(ProductNotFoundError, LifecycleError, PolicyViolationError)


@router.get("")
async def search(
    catalog: CatalogDep,
    domain: str | None = None,
    tag: str | None = None,
    status: Status | None = None,
    q: Annotated[str | None, Query(description="Text in the name or description.")] = None,
) -> list[DataProductPublic]:
    return catalog.search(domain=domain, tag=tag, status=status, text=q)


@router.put(
    "/{domain}/{name}",
    responses=answers(
        PolicyViolationError,
        IncompatibleSchemaError,
        InvalidSchemaError,
        OperationNotPermittedError,
    ),
)
async def upsert(
    catalog: CatalogDep, domain: str, name: str, body: DataProductCreate
) -> DataProductPublic:
    """Create or update a product's major line: governance, then its schemas, then itself."""
    return await catalog.upsert(domain, name, body)


@router.get("/{domain}/{name}", responses=answers(ProductNotFoundError))
async def get(
    catalog: CatalogDep, domain: str, name: str, major: Major = None
) -> DataProductPublic:
    return catalog.get(domain, name, major)


@router.get("/{domain}/{name}/lineage", responses=answers(ProductNotFoundError))
async def lineage(catalog: CatalogDep, domain: str, name: str, major: Major = None) -> LineageGraph:
    return catalog.lineage(domain, name, major)


@router.post("/{domain}/{name}/impact", responses=answers(ProductNotFoundError, InvalidSchemaError))
async def impact(catalog: CatalogDep, domain: str, name: str, body: ImpactRequest) -> ImpactReport:
    return await catalog.impact(domain, name, body)


@router.post("/{domain}/{name}/deprecate", responses=LIFECYCLE)
async def deprecate(
    catalog: CatalogDep, domain: str, name: str, body: DeprecateRequest
) -> DataProductPublic:
    return await catalog.deprecate(domain, name, body)


@router.post("/{domain}/{name}/retire", responses=LIFECYCLE)
async def retire(
    catalog: CatalogDep, domain: str, name: str, body: RetireRequest
) -> DataProductPublic:
    return await catalog.retire(domain, name, body)
