"""Dependencies of the routes, as ``Annotated`` aliases; tests swap them with overrides.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a thread pool,
which costs more than the whole lookup it serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import WithJsonSchema

from services.registry.api.auth import Principal, Role
from services.registry.api.cache import RenderCache, get_render_cache
from services.registry.api.forward import Forwarder
from services.registry.api.openapi import VERSION
from services.registry.api.wire import decode_subject
from services.registry.catalog.governance import Governance
from services.registry.core.registry import Registry, page
from services.registry.storage import KafkaLog


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


async def get_kafka_log(request: Request) -> KafkaLog:
    kafka_log: KafkaLog = request.app.state.kafka_log
    return kafka_log


async def get_governance(request: Request) -> Governance:
    """Where every write to a subject goes, so a data product's subjects stay governed."""
    governance: Governance = request.app.state.catalog.governance
    return governance


async def get_forwarder(request: Request) -> Forwarder:
    """Whether and where this instance forwards writes."""
    forwarder: Forwarder = request.app.state.forwarder
    return forwarder


async def get_principal(request: Request) -> Principal | None:
    """Who sent the request; None when the registry runs without authentication."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


async def is_admin(request: Request) -> bool:
    """Whether the request may use an admin's overrides: an admin's may, and so may every
    request when the registry runs without authentication (there is no one to tell apart)."""
    principal = await get_principal(request)
    return principal is None or principal.role is Role.ADMIN


async def subject_path(subject: Annotated[str, Path()]) -> str:
    """The subject with its encoded ``/`` restored (see ``WireMiddleware``)."""
    return decode_subject(subject)


def flag(value: str | None) -> bool:
    # Clients send true, True, TRUE and bare flags.
    return value is not None and value.strip().lower() in ("true", "1", "")


async def deleted_flag(deleted: Annotated[str | None, Query()] = None) -> bool:
    return flag(deleted)


async def deleted_only_flag(
    deleted_only: Annotated[str | None, Query(alias="deletedOnly")] = None,
    deleted_only_snake: Annotated[str | None, Query(alias="deleted_only")] = None,
) -> bool:
    return flag(deleted_only) or flag(deleted_only_snake)


async def normalize_flag(normalize: Annotated[str | None, Query()] = None) -> bool:
    return flag(normalize)


async def permanent_flag(permanent: Annotated[str | None, Query()] = None) -> bool:
    return flag(permanent)


T = TypeVar("T")


@dataclass(frozen=True)
class Paging:
    """``offset`` and ``limit`` of a listing, as Confluent takes them (limit -1: all)."""

    offset: int
    limit: int

    def __call__(self, items: Sequence[T]) -> list[T]:
        return page(items, self.offset, self.limit)


async def paging(
    offset: Annotated[int, Query()] = 0, limit: Annotated[int, Query()] = -1
) -> Paging:
    return Paging(offset, limit)


RegistryDep = Annotated[Registry, Depends(get_registry)]
KafkaLogDep = Annotated[KafkaLog, Depends(get_kafka_log)]
RenderCacheDep = Annotated[RenderCache, Depends(get_render_cache)]
ForwarderDep = Annotated[Forwarder, Depends(get_forwarder)]
PrincipalDep = Annotated[Principal | None, Depends(get_principal)]
GovernanceDep = Annotated[Governance, Depends(get_governance)]
Admin = Annotated[bool, Depends(is_admin)]
Subject = Annotated[str, Depends(subject_path)]
Deleted = Annotated[bool, Depends(deleted_flag)]
DeletedOnly = Annotated[bool, Depends(deleted_only_flag)]
Normalize = Annotated[bool, Depends(normalize_flag)]
Permanent = Annotated[bool, Depends(permanent_flag)]
Page = Annotated[Paging, Depends(paging)]
# "latest", -1 or a number, read by the registry (42202 otherwise), so a string here.
VersionPath = Annotated[str, WithJsonSchema(VERSION), Path()]
