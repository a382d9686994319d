"""SCRAM credentials of the mesh's principals, set through the Admin API
(`alter_user_scram_credentials`), their passwords kept in a `SecretStore`.

`apply` makes what is missing and nothing else: a user without a credential gets a new password
(its file written first, so a failed upsert is finished by the next apply from that file), a
user whose file exists but whose credential does not gets it back from the file. `rotate` gives
one user a new password: staged beside the old file, set on the broker, then put in place, so
the file always holds a password the broker accepts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from streammesh.access.acls import Platform
from streammesh.access.kafka import upsert_credentials
from streammesh.access.principals import domain_user
from streammesh.access.secrets import SecretStore, new_password
from streammesh.products.descriptor import Descriptor, Status


class CredentialAction(StrEnum):
    CREATE = "create"
    RESTORE = "restore"
    #: The broker has a credential whose password this machine does not hold: left alone.
    UNKNOWN = "unknown"


@dataclass(frozen=True, order=True)
class CredentialChange:
    user: str
    action: CredentialAction

    def __str__(self) -> str:
        if self.action is CredentialAction.CREATE:
            return f"create SCRAM user {self.user} (new password)"
        if self.action is CredentialAction.RESTORE:
            return f"create SCRAM user {self.user} (password from its file)"
        return f"SCRAM user {self.user} exists; its password is not here (rotate makes one)"


def mesh_users(descriptors: Iterable[Descriptor], platform: Platform) -> list[str]:
    """One user per domain with a product that is not retired, the registry's, the monitor's."""
    domains = {d.domain for d in descriptors if d.status is not Status.RETIRED}
    return [platform.registry_user, platform.monitor_user, *sorted(map(domain_user, domains))]


def plan_credentials(
    users: Iterable[str], existing: set[str], store: SecretStore
) -> tuple[CredentialChange, ...]:
    changes = []
    for user in users:
        held = store.read(user) is not None
        if user not in existing:
            action = CredentialAction.RESTORE if held else CredentialAction.CREATE
            changes.append(CredentialChange(user, action))
        elif not held:
            changes.append(CredentialChange(user, CredentialAction.UNKNOWN))
    return tuple(changes)


def apply_credentials(
    admin: AdminClient, changes: Iterable[CredentialChange], store: SecretStore
) -> None:
    passwords: dict[str, SecretStr] = {}
    for change in changes:
        if change.action is CredentialAction.CREATE:
            passwords[change.user] = SecretStr(new_password())
            store.write(change.user, passwords[change.user])
        elif change.action is CredentialAction.RESTORE:
            held = store.read(change.user)
            assert held is not None  # planned from the file's presence
            passwords[change.user] = held
    upsert_credentials(admin, passwords)


def rotate_credential(admin: AdminClient, store: SecretStore, user: str) -> None:
    """A new password for `user`, on the broker and in its file."""
    password = SecretStr(new_password())
    staged = f"{user}.next"
    store.write(staged, password)
    try:
        upsert_credentials(admin, {user: password})
    except BaseException:
        store.path(staged).unlink(missing_ok=True)
        raise
    store.path(staged).replace(store.path(user))
