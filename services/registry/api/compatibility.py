"""``/compatibility``: would this schema be accepted after that version (or all of them)?"""

from __future__ import annotations

from fastapi import APIRouter

from services.registry.api.deps import Normalize, RegistryDep, Subject, VersionPath, flag
from services.registry.api.openapi import SCHEMA_CHECK, answers
from services.registry.api.subjects import SchemaBody, version_param
from services.registry.api.wire import RegistryRoute
from services.registry.core.registry import Registry, Version
from services.registry.errors import InvalidSchemaError
from services.registry.models import CompatibilityCheck

router = APIRouter(
    prefix="/compatibility/subjects", tags=["compatibility"], route_class=RegistryRoute
)


@router.post("/{subject}/versions/{version}", responses=SCHEMA_CHECK)
async def check_version(
    registry: RegistryDep,
    subject: Subject,
    version: VersionPath,
    body: SchemaBody,
    normalize: Normalize,
    verbose: str | None = None,
) -> CompatibilityCheck:
    return _check(registry, subject, version_param(version), body, normalize, verbose)


@router.post("/{subject}/versions", responses=answers(InvalidSchemaError))
async def check_all(
    registry: RegistryDep,
    subject: Subject,
    body: SchemaBody,
    normalize: Normalize,
    verbose: str | None = None,
) -> CompatibilityCheck:
    return _check(registry, subject, None, body, normalize, verbose)


def _check(
    registry: Registry,
    subject: str,
    version: Version | None,
    body: SchemaBody,
    normalize: bool,
    verbose: str | None,
) -> CompatibilityCheck:
    """Against one version, or (None) against the versions the subject's level checks."""
    return registry.check_compatibility(
        subject,
        version,
        body.schema_,
        references=body.references,
        normalize=normalize,
        verbose=flag(verbose),
    )
