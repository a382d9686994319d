"""The one door from the platform package into `services/`.

`streammesh` never imports a service at import time: the SDK, the serdes and most commands work
with the platform package alone, and a service's heavy imports (FastAPI, uvicorn, its settings)
load only when a command needs that service's own code. Those commands, and only those, reach
the service through the functions here: `registry serve` and `registry add-user`, the demo's
users file, and `slo rules` / `slo tests` (the monitor's metric names are what the rules count).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from streammesh.errors import StreamMeshError
from streammesh.products.descriptor import Descriptor


class UnknownRoleError(StreamMeshError):
    """A registry user's role that the registry does not have."""


# Each import below is deferred on purpose (PLC0415): it is the point of this module.


def serve_registry(overrides: Mapping[str, Any]) -> None:
    """Run the registry here, `overrides` over its STREAMMESH_REGISTRY_* settings."""
    from services.registry.server import serve  # noqa: PLC0415
    from services.registry.settings import RegistrySettings  # noqa: PLC0415

    serve(RegistrySettings(**overrides))


def add_registry_user(
    users_file: Path, name: str, password: str, role: str, domains: tuple[str, ...]
) -> None:
    """Add or replace `name` in the registry's users file; `UnknownRoleError` for a role the
    registry does not have."""
    from services.registry.api import auth  # noqa: PLC0415

    try:
        chosen = auth.Role(role)
    except ValueError:
        known = ", ".join(r.value for r in auth.Role)
        raise UnknownRoleError(f"unknown role {role!r}: {known}") from None
    auth.add_user(users_file, name, password, chosen, domains)


def registry_password_hash(password: str, *, iterations: int) -> str:
    """A password as the registry's users file keeps it (salted PBKDF2)."""
    from services.registry.api.auth import hash_password  # noqa: PLC0415

    return hash_password(password, iterations=iterations)


def slo_rules(descriptors: Iterable[Descriptor], freshness_objective: float) -> str:
    """Prometheus recording rules and burn-rate alerts of every product SLO."""
    from services.quality_monitor import slo  # noqa: PLC0415

    return slo.render_rules(slo.objectives(descriptors, freshness_objective))


def slo_alert_tests(
    descriptors: Iterable[Descriptor], freshness_objective: float, rules_file: str
) -> str:
    """promtool unit tests that fire, and do not fire, every alert of `slo_rules`."""
    from services.quality_monitor import slo  # noqa: PLC0415

    return slo.render_alert_tests(slo.objectives(descriptors, freshness_objective), rules_file)
