"""What `access apply` and `product apply` would change in Kafka's ACLs, before they change it.

The ACLs come from the whole mesh: every product of the catalog, with the descriptors being
applied in place of the catalog's copies. One catalog describes one cluster, so a binding of a
StreamMesh principal that no product asks for is stale and goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka.admin import AdminClient

from streammesh.access.acls import AclDiff, AclSet, Platform, compute_acls, diff_acls
from streammesh.access.credentials import CredentialAction, CredentialChange
from streammesh.access.errors import AuthorizerMissingError
from streammesh.access.kafka import current_acls
from streammesh.products.descriptor import Descriptor


def mesh_descriptors(
    catalog: Iterable[Descriptor], local: Iterable[Descriptor] = ()
) -> list[Descriptor]:
    """The catalog's descriptors, each replaced by a local one of the same product line."""
    by_ref = {d.ref: d for d in catalog}
    by_ref |= {d.ref: d for d in local}
    return [by_ref[ref] for ref in sorted(by_ref)]


@dataclass(frozen=True)
class AccessPlan:
    """The computed ACLs, the change to the broker's (None: it has no authorizer), and the
    credentials to make."""

    acls: AclSet
    diff: AclDiff | None
    credentials: tuple[CredentialChange, ...] = ()
    note: str | None = None

    @property
    def changes(self) -> list[CredentialChange]:
        return [c for c in self.credentials if c.action is not CredentialAction.UNKNOWN]

    @property
    def empty(self) -> bool:
        return (self.diff is None or self.diff.empty) and not self.changes

    def lines(self) -> list[str]:
        acl_lines = [] if self.diff is None else self.diff.lines()
        return [*(str(c) for c in self.changes), *acl_lines]

    def as_json(self) -> dict[str, Any]:
        return {
            "authorizer": self.diff is not None,
            "note": self.note,
            "add": [] if self.diff is None else [str(a) for a in self.diff.add],
            "remove": [] if self.diff is None else [str(a) for a in self.diff.remove],
            "unchanged": 0 if self.diff is None else self.diff.unchanged,
            "credentials": [
                {"user": c.user, "action": c.action.value} for c in sorted(self.credentials)
            ],
            "nothingToDo": self.empty,
        }


def plan_acls(
    admin: AdminClient, descriptors: Iterable[Descriptor], platform: Platform
) -> AccessPlan:
    """The ACLs `descriptors` need, against what the cluster holds."""
    computed = compute_acls(descriptors, platform)
    try:
        held = current_acls(admin)
    except AuthorizerMissingError as exc:
        return AccessPlan(computed, None, note=f"ACLs not applied: {exc}")
    return AccessPlan(computed, diff_acls(computed, held))
