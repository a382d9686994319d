"""`decide` answers as Kafka's StandardAuthorizer: a matching DENY wins, a matching ALLOW allows,
nothing matching denies; literal, `*` and prefixed names, ALL, and the operations that imply
DESCRIBE."""

from __future__ import annotations

import pytest

from streammesh.access import Acl, Grant, Operation, Pattern, Permission, Resource, decide
from streammesh.access.check import explain

ME = "User:streammesh.domain.sales"
TOPIC = Resource.TOPIC
LIT, PRE = Pattern.LITERAL, Pattern.PREFIXED
R, W, D = Operation.READ, Operation.WRITE, Operation.DESCRIBE


def acl(
    name: str,
    op: Operation,
    pattern: Pattern = LIT,
    permission: Permission = Permission.ALLOW,
    who: str = ME,
    resource: Resource = TOPIC,
) -> Acl:
    return Acl(who, resource, name, pattern, op, permission)


@pytest.mark.parametrize(
    ("acls", "name", "op", "allowed"),
    [
        ([], "t", R, False),
        ([acl("t", R)], "t", R, True),
        ([acl("t", R)], "t2", R, False),
        ([acl("t", R)], "t", W, False),
        ([acl("*", R)], "anything", R, True),
        ([acl("sales.", R, PRE)], "sales.orders.v1", R, True),
        ([acl("sales.", R, PRE)], "salesforce", R, False),
        ([acl("sales.", R)], "sales.orders.v1", R, False),  # a literal is no prefix
        ([acl("t", Operation.ALL)], "t", W, True),
        ([acl("t", R)], "t", D, True),
        ([acl("t", W)], "t", D, True),
        ([acl("t", Operation.CREATE)], "t", D, False),
        ([acl("t", Operation.ALTER_CONFIGS)], "t", Operation.DESCRIBE_CONFIGS, True),
        ([acl("t", R), acl("t", R, permission=Permission.DENY)], "t", R, False),
        ([acl("t", R), acl("*", Operation.ALL, permission=Permission.DENY)], "t", R, False),
        # a denied READ does not deny DESCRIBE
        ([acl("t", W), acl("t", R, permission=Permission.DENY)], "t", D, True),
        ([acl("t", R, who="User:*")], "t", R, True),
        ([acl("t", R, who="User:streammesh.domain.marketing")], "t", R, False),
        ([acl("t", R, resource=Resource.GROUP)], "t", R, False),
    ],
)
def test_decide(acls: list[Acl], name: str, op: Operation, allowed: bool) -> None:
    assert decide(acls, ME, TOPIC, name, op).allowed is allowed


def test_the_decision_names_the_bindings_it_rests_on() -> None:
    allow, deny = acl("t", R), acl("*", Operation.ALL, permission=Permission.DENY)
    assert decide([allow], ME, TOPIC, "t", R).matched == (allow,)
    assert decide([allow, deny], ME, TOPIC, "t", R).matched == (deny,)
    assert decide([allow], ME, TOPIC, "u", R).matched == ()


COMPUTED = {acl("t", R): (Grant("sales.orders.v1", "its owner sales reads it"),)}


def test_explain_rests_on_the_broker_and_says_why_from_the_descriptors() -> None:
    answer = explain([acl("t", R)], COMPUTED, ME, TOPIC, "t", R)
    assert answer.allowed
    assert answer.bindings == ((acl("t", R), COMPUTED[acl("t", R)]),)
    assert answer.note is None


def test_explain_names_what_is_missing_or_foreign() -> None:
    pending = explain([], COMPUTED, ME, TOPIC, "t", R)
    assert not pending.allowed
    assert pending.note is not None
    assert "`streammesh access apply` applies them" in pending.note
    foreign = explain([acl("u", R)], COMPUTED, ME, TOPIC, "u", R)
    assert foreign.allowed
    assert foreign.bindings == ((acl("u", R), ()),)
    assert foreign.note is not None
    assert "no descriptor grants it" in foreign.note
    denied = explain(
        [acl("t", R), acl("t", R, permission=Permission.DENY)], COMPUTED, ME, TOPIC, "t", R
    )
    assert not denied.allowed
    assert denied.note is not None
    assert "DENY" in denied.note


def test_explain_without_an_authorizer_or_for_a_super_user() -> None:
    assert explain(None, {}, ME, TOPIC, "t", W).allowed
    admin = "User:streammesh.admin"
    assert explain([], {}, admin, TOPIC, "t", W, super_users=[admin]).allowed
