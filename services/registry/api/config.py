"""``/config`` and ``/mode``, global and per subject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from services.registry.api.auth import Role
from services.registry.api.deps import PrincipalDep, RegistryDep, Subject, flag
from services.registry.api.openapi import answers, any_case
from services.registry.api.wire import RegistryRoute
from services.registry.core.compatibility import CompatibilityLevel
from services.registry.core.config import IMPORT, MODES
from services.registry.errors import (
    ForbiddenError,
    InvalidCompatibilityLevelError,
    InvalidModeError,
    OperationNotPermittedError,
    SubjectCompatibilityNotConfiguredError,
    SubjectModeNotConfiguredError,
    SubjectNotFoundError,
)
from services.registry.models import Config, Mode

router = APIRouter(tags=["config"], route_class=RegistryRoute)
DefaultToGlobal = Annotated[str | None, Query(alias="defaultToGlobal")]
Level = Annotated[str | None, any_case(CompatibilityLevel, nullable=True)]


class ConfigUpdate(Config):
    """PUT /config body: clients send ``compatibility`` (older) or ``compatibilityLevel``."""

    compatibility_level: Level = None
    compatibility: Level = None


class ModeUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    mode: Annotated[str, any_case(MODES)]


def _stored(update: ConfigUpdate) -> Config:
    fields = update.model_dump(exclude_none=True, exclude={"compatibility"}, by_alias=False)
    if update.compatibility is not None:
        if update.compatibility_level is None:
            fields["compatibility_level"] = update.compatibility
        elif update.compatibility.upper() not in CompatibilityLevel.__members__:
            # Shadowed by compatibilityLevel, but refused all the same when it is no level.
            raise InvalidCompatibilityLevelError()
    return Config.model_validate(fields)


def _echo(config: Config) -> dict[str, object]:
    # Confluent answers a PUT with the request's shape, where the level is "compatibility".
    body = config.model_dump(by_alias=True, exclude_none=True)
    level = body.pop("compatibilityLevel", None)
    return {"compatibility": level, **body} if level is not None else body


@router.get("/config")
async def get_global_config(registry: RegistryDep) -> Config:
    return registry.get_config(None)


@router.put(
    "/config", response_model=ConfigUpdate, responses=answers(InvalidCompatibilityLevelError)
)
async def put_global_config(registry: RegistryDep, body: ConfigUpdate) -> dict[str, object]:
    return _echo(await registry.set_config(None, _stored(body)))


@router.delete("/config")
async def delete_global_config(registry: RegistryDep) -> Config:
    return await registry.delete_config(None)


@router.get("/config/{subject}", responses=answers(SubjectCompatibilityNotConfiguredError))
async def get_subject_config(
    registry: RegistryDep, subject: Subject, default_to_global: DefaultToGlobal = None
) -> Config:
    return registry.get_config(subject, flag(default_to_global))


@router.put(
    "/config/{subject}",
    response_model=ConfigUpdate,
    responses=answers(InvalidCompatibilityLevelError),
)
async def put_subject_config(
    registry: RegistryDep, subject: Subject, body: ConfigUpdate
) -> dict[str, object]:
    return _echo(await registry.set_config(subject, _stored(body)))


@router.delete(
    "/config/{subject}",
    responses=answers(SubjectNotFoundError, SubjectCompatibilityNotConfiguredError),
)
async def delete_subject_config(registry: RegistryDep, subject: Subject) -> Config:
    return await registry.delete_config(subject)


@router.get("/mode")
async def get_global_mode(registry: RegistryDep) -> Mode:
    return registry.get_mode(None)


@router.put("/mode", responses=answers(InvalidModeError, OperationNotPermittedError))
async def put_global_mode(
    registry: RegistryDep, body: ModeUpdate, force: str | None = None
) -> Mode:
    return await registry.set_mode(None, body.mode, flag(force))


@router.delete("/mode")
async def delete_global_mode(registry: RegistryDep) -> Mode:
    return await registry.delete_mode(None)


@router.get("/mode/{subject}", responses=answers(SubjectModeNotConfiguredError))
async def get_subject_mode(
    registry: RegistryDep, subject: Subject, default_to_global: DefaultToGlobal = None
) -> Mode:
    return registry.get_mode(subject, flag(default_to_global))


@router.put(
    "/mode/{subject}",
    responses=answers(InvalidModeError, OperationNotPermittedError, ForbiddenError),
)
async def put_subject_mode(
    registry: RegistryDep,
    subject: Subject,
    body: ModeUpdate,
    principal: PrincipalDep,
    force: str | None = None,
) -> Mode:
    # IMPORT lets a writer choose schema ids, which every domain's records share: an admin's
    # operation (the global mode is an admin's already, as every global setting).
    if body.mode.upper() == IMPORT and principal is not None and principal.role is not Role.ADMIN:
        raise ForbiddenError(
            f"User {principal.name} may not put subject '{subject}' in IMPORT mode: "
            "only an admin may"
        )
    return await registry.set_mode(subject, body.mode, flag(force))


@router.delete("/mode/{subject}", responses=answers(SubjectModeNotConfiguredError))
async def delete_subject_mode(registry: RegistryDep, subject: Subject) -> Mode:
    return await registry.delete_mode(subject)
