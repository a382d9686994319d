"""Whether a principal may do something, decided as Kafka's StandardAuthorizer decides it.

A DENY binding that matches wins; otherwise a matching ALLOW allows; otherwise the request is
denied (the mesh's brokers run with `allow.everyone.if.no.acl.found=false`). A binding matches
a resource of its type whose name it equals, a literal `*`, or, when prefixed, a name it
starts; its operation matches itself, ALL, and DESCRIBE when it is READ, WRITE, DELETE or
ALTER (DESCRIBE_CONFIGS when it is ALTER_CONFIGS). Super users skip all of this, and a
binding's host is not looked at (the question names no client address).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from streammesh.access.acls import Acl, AclSet, Grant, Operation, Pattern, Permission, Resource

#: The operations that also allow DESCRIBE (and ALTER_CONFIGS, DESCRIBE_CONFIGS), as in Kafka.
IMPLIES: Final[dict[Operation, frozenset[Operation]]] = {
    Operation.DESCRIBE: frozenset(
        {Operation.READ, Operation.WRITE, Operation.DELETE, Operation.ALTER}
    ),
    Operation.DESCRIBE_CONFIGS: frozenset({Operation.ALTER_CONFIGS}),
}
_ANY_USER: Final = "User:*"


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer, and the bindings it rests on (the denying ones when one denies)."""

    allowed: bool
    matched: tuple[Acl, ...]


def matches(acl: Acl, principal: str, resource: Resource, name: str, op: Operation) -> bool:
    """Whether `acl` speaks about `principal` doing `op` on `resource` `name`."""
    if acl.principal not in (principal, _ANY_USER) or acl.resource is not resource:
        return False
    if acl.pattern is Pattern.PREFIXED:
        named = name.startswith(acl.name)
    else:
        named = acl.name in (name, "*")
    if not named:
        return False
    if acl.operation in (op, Operation.ALL):
        return True
    # Only an ALLOW implies DESCRIBE: a denied READ does not deny DESCRIBE.
    return acl.permission is Permission.ALLOW and acl.operation in IMPLIES.get(op, frozenset())


def decide(
    acls: Iterable[Acl], principal: str, resource: Resource, name: str, op: Operation
) -> Decision:
    """May `principal` do `op` on `resource` `name`, under `acls`?"""
    found = sorted(acl for acl in acls if matches(acl, principal, resource, name, op))
    denied = tuple(acl for acl in found if acl.permission is Permission.DENY)
    if denied:
        return Decision(False, denied)
    return Decision(bool(found), tuple(found))


@dataclass(frozen=True, slots=True)
class Answer:
    """`streammesh access check`'s answer: allowed or not, the broker's bindings it rests on
    with the grants that asked for each (none: not computed from any descriptor), and a note."""

    allowed: bool
    bindings: tuple[tuple[Acl, tuple[Grant, ...]], ...]
    note: str | None


def explain(
    held: Iterable[Acl] | None,
    computed: AclSet,
    principal: str,
    resource: Resource,
    name: str,
    op: Operation,
    *,
    super_users: Iterable[str] = (),
) -> Answer:
    """Decide on the broker's bindings (`held`; None: it has no authorizer), and say why with
    the computed set's grants."""
    if held is None:
        return Answer(True, (), "the broker has no authorizer: anyone may")
    if principal in super_users:
        return Answer(True, (), f"{principal} is a super user of the broker")
    decision = decide(held, principal, resource, name, op)
    bindings = tuple((acl, tuple(computed.get(acl, ()))) for acl in decision.matched)
    wanted = decide(computed, principal, resource, name, op).allowed
    note = None
    if not decision.matched:
        note = "no ACL allows it, and the broker denies what no ACL allows"
        if wanted:
            note += "; the descriptors grant it: `streammesh access apply` applies them"
    elif not decision.allowed:
        note = "a DENY binding refuses it, whatever else allows it"
    elif not wanted:
        note = "no descriptor grants it: an ACL made outside StreamMesh, or one to revoke"
    return Answer(decision.allowed, bindings, note)
