"""Credentials are planned from what the broker holds and what the secrets folder holds: a
missing user gets a password, a user whose file survived gets it back, a user whose password is
elsewhere is left alone; one user per live domain and platform service; the catalog's copies
give way to the descriptors being applied."""

from __future__ import annotations

import stat
from pathlib import Path

from pydantic import SecretStr

from streammesh.access import Platform
from streammesh.access.credentials import (
    CredentialAction,
    CredentialChange,
    mesh_users,
    plan_credentials,
)
from streammesh.access.plan import mesh_descriptors
from streammesh.access.secrets import SecretStore
from streammesh.products import Status
from tests.unit.access.test_acls import CLV, ORDERS, PROFILES, SEGMENTS

SALES = "streammesh.domain.sales"
MARKETING = "streammesh.domain.marketing"


def test_one_user_per_live_domain_and_platform_service() -> None:
    retired = PROFILES.model_copy(update={"status": Status.RETIRED})
    assert mesh_users((ORDERS, retired, CLV, SEGMENTS), Platform()) == [
        "streammesh.registry",
        "streammesh.monitor",
        MARKETING,
        SALES,
    ]


def test_credentials_are_made_restored_or_left_alone(tmp_path: Path) -> None:
    store = SecretStore(tmp_path)
    store.write(MARKETING, SecretStr("kept"))
    store.write("streammesh.monitor", SecretStr("known"))
    users = ["streammesh.registry", "streammesh.monitor", MARKETING, SALES]
    existing = {"streammesh.registry", "streammesh.monitor"}
    assert plan_credentials(users, existing, store) == (
        CredentialChange("streammesh.registry", CredentialAction.UNKNOWN),
        CredentialChange(MARKETING, CredentialAction.RESTORE),
        CredentialChange(SALES, CredentialAction.CREATE),
    )
    assert plan_credentials(users, set(users), store) == (
        CredentialChange("streammesh.registry", CredentialAction.UNKNOWN),
        CredentialChange(SALES, CredentialAction.UNKNOWN),
    )
    assert "rotate" in str(CredentialChange(SALES, CredentialAction.UNKNOWN))


def test_a_secret_file_is_for_its_owner_only_and_replaced_whole(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    path = store.write(SALES, SecretStr("first"))
    assert path == tmp_path / "secrets" / f"{SALES}.password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.write(SALES, SecretStr("second"))
    held = store.read(SALES)
    assert held is not None
    assert held.get_secret_value() == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert store.read("streammesh.domain.nobody") is None


def test_the_descriptors_applied_replace_the_catalogs_copies() -> None:
    narrowed = CLV.model_copy(update={"input_ports": ("sales.orders.v1",)})
    mesh = mesh_descriptors([ORDERS, PROFILES, CLV], [narrowed, SEGMENTS])
    assert [d.ref for d in mesh] == sorted(d.ref for d in (ORDERS, PROFILES, CLV, SEGMENTS))
    assert narrowed in mesh
    assert CLV not in mesh
