"""``/config`` and ``/mode``, global and per subject; writes go through ``Governance``, which
keeps a data product's subjects at the compatibility floor and their modes an admin's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from services.registry.api.deps import Admin, GovernanceDep, RegistryDep, Subject, flag
from services.registry.api.openapi import answers, any_case
from services.registry.api.wire import RegistryRoute
from services.registry.core.compatibility import CompatibilityLevel
from services.registry.core.config import MODES
from services.registry.core.registration import check_rules
from services.registry.errors import (
    CompatibilityFloorError,
    ForbiddenError,
    InvalidCompatibilityLevelError,
    InvalidModeError,
    InvalidSchemaError,
    OperationNotPermittedError,
    PolicyViolationError,
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
    config = Config.model_validate(fields)
    # Default and override rules join every later registration's rules.
    check_rules(config.default_rule_set)
    check_rules(config.override_rule_set)
    return config


def _echo(config: Config) -> dict[str, object]:
    # Confluent answers a PUT with the request's shape, where the level is "compatibility".
    body = config.model_dump(by_alias=True, exclude_none=True)
    level = body.pop("compatibilityLevel", None)
    return {"compatibility": level, **body} if level is not None else body


_CONFIG_REFUSALS = (
    InvalidCompatibilityLevelError,
    CompatibilityFloorError,
    InvalidSchemaError,
    PolicyViolationError,
)
_MODE_REFUSALS = (InvalidModeError, OperationNotPermittedError, ForbiddenError)


@router.get("/config")
async def get_global_config(registry: RegistryDep) -> Config:
    return registry.get_config(None)


@router.put("/config", response_model=ConfigUpdate, responses=answers(*_CONFIG_REFUSALS))
async def put_global_config(governance: GovernanceDep, body: ConfigUpdate) -> dict[str, object]:
    return _echo(await governance.set_config(None, _stored(body)))


@router.delete("/config")
async def delete_global_config(governance: GovernanceDep) -> Config:
    return await governance.delete_config(None)


@router.get("/config/{subject}", responses=answers(SubjectCompatibilityNotConfiguredError))
async def get_subject_config(
    registry: RegistryDep, subject: Subject, default_to_global: DefaultToGlobal = None
) -> Config:
    return registry.get_config(subject, flag(default_to_global))


@router.put("/config/{subject}", response_model=ConfigUpdate, responses=answers(*_CONFIG_REFUSALS))
async def put_subject_config(
    governance: GovernanceDep, subject: Subject, body: ConfigUpdate
) -> dict[str, object]:
    return _echo(await governance.set_config(subject, _stored(body)))


@router.delete(
    "/config/{subject}",
    responses=answers(
        SubjectNotFoundError, SubjectCompatibilityNotConfiguredError, CompatibilityFloorError
    ),
)
async def delete_subject_config(governance: GovernanceDep, subject: Subject) -> Config:
    return await governance.delete_config(subject)


@router.get("/mode")
async def get_global_mode(registry: RegistryDep) -> Mode:
    return registry.get_mode(None)


@router.put("/mode", responses=answers(*_MODE_REFUSALS))
async def put_global_mode(
    governance: GovernanceDep, admin: Admin, body: ModeUpdate, force: str | None = None
) -> Mode:
    return await governance.set_mode(None, body.mode, flag(force), admin=admin)


@router.delete("/mode", responses=answers(ForbiddenError))
async def delete_global_mode(governance: GovernanceDep, admin: Admin) -> Mode:
    return await governance.delete_mode(None, admin=admin)


@router.get("/mode/{subject}", responses=answers(SubjectModeNotConfiguredError))
async def get_subject_mode(
    registry: RegistryDep, subject: Subject, default_to_global: DefaultToGlobal = None
) -> Mode:
    return registry.get_mode(subject, flag(default_to_global))


@router.put("/mode/{subject}", responses=answers(*_MODE_REFUSALS))
async def put_subject_mode(
    governance: GovernanceDep,
    admin: Admin,
    subject: Subject,
    body: ModeUpdate,
    force: str | None = None,
) -> Mode:
    return await governance.set_mode(subject, body.mode, flag(force), admin=admin)


@router.delete("/mode/{subject}", responses=answers(SubjectModeNotConfiguredError, ForbiddenError))
async def delete_subject_mode(governance: GovernanceDep, admin: Admin, subject: Subject) -> Mode:
    return await governance.delete_mode(subject, admin=admin)
