"""Who is who on an authenticated mesh: one SCRAM user per domain and per platform service.

StreamMesh owns the ACL bindings of the principals it names here (a domain's, the registry's,
the monitor's) and no others: `access apply` and `product apply` create and delete bindings of
these principals only, so ACLs an operator wrote for anyone else are never touched. A domain
name starts with a letter (`ProductRef`), so `streammesh.domain.<domain>` can never be read as
a platform user, and a domain dropped from the mesh still has its leftovers recognised.
"""

from __future__ import annotations

from typing import Final

#: Kafka's principal type for SASL users.
USER: Final = "User:"
#: Every domain's SCRAM user is this prefix and the domain's name.
DOMAIN_USER_PREFIX: Final = "streammesh.domain."
#: The registry's SCRAM user: the only writer of the registry's log.
REGISTRY_USER: Final = "streammesh.registry"
#: The quality monitor's SCRAM user: reads every product topic, writes every dead-letter topic.
MONITOR_USER: Final = "streammesh.monitor"
#: The platform admin, a super user of the broker: it applies topics, ACLs and credentials, and
#: needs no ACL of its own, so StreamMesh never manages any for it.
ADMIN_USER: Final = "streammesh.admin"


def domain_user(domain: str) -> str:
    """The SCRAM user of `domain`."""
    return f"{DOMAIN_USER_PREFIX}{domain}"


def principal(user: str) -> str:
    """Kafka's principal for a SCRAM user, `User:<user>`."""
    return f"{USER}{user}"


def is_managed(principal_name: str) -> bool:
    """Whether StreamMesh owns the ACL bindings of this principal (see the module's note)."""
    if not principal_name.startswith(USER):
        return False
    user = principal_name.removeprefix(USER)
    return user.startswith(DOMAIN_USER_PREFIX) or user in (REGISTRY_USER, MONITOR_USER)


def user_of(who: str) -> str:
    """The SCRAM user a command names: a domain (`sales`), or a user or principal spelled out
    (`streammesh.registry`, `User:streammesh.monitor`). A domain name has no dot, so the
    two never meet."""
    if who.startswith(USER):
        return who.removeprefix(USER)
    return who if "." in who else domain_user(who)
