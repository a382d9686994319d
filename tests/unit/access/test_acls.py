"""The ACLs computed from the shipped descriptors grant each party exactly what the mesh's rules
say, nothing more; the diff adds and removes only bindings of the principals StreamMesh manages.

Every rule is a row of `RULES`: who asks for what, and whether the computed set allows it, as
Kafka's StandardAuthorizer would decide (`streammesh.access.check`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streammesh.access import (
    Acl,
    Grant,
    Operation,
    Pattern,
    Permission,
    Platform,
    Resource,
    compute_acls,
    decide,
    diff_acls,
)
from streammesh.access.principals import domain_user, is_managed, principal, user_of
from streammesh.products import Descriptor, Status, load_descriptor

ROOT = Path(__file__).resolve().parents[3]


def shipped(relative: str) -> Descriptor:
    return load_descriptor(ROOT / "domains" / relative)


ORDERS = shipped("sales/products/orders.yaml")
PROFILES = shipped("customers/products/profiles.yaml")
CLV = shipped("marketing/products/customer_lifetime_value.yaml")
SEGMENTS = shipped("marketing/products/cltv_by_segment.yaml")
MESH = (ORDERS, PROFILES, CLV, SEGMENTS)
ACLS = compute_acls(MESH)

SALES = principal(domain_user("sales"))
CUSTOMERS = principal(domain_user("customers"))
MARKETING = principal(domain_user("marketing"))
REGISTRY = "User:streammesh.registry"
MONITOR = "User:streammesh.monitor"
TOPIC, GROUP, TXN = Resource.TOPIC, Resource.GROUP, Resource.TRANSACTIONAL_ID
R, W, D, C = Operation.READ, Operation.WRITE, Operation.DESCRIBE, Operation.CREATE
DC = Operation.DESCRIBE_CONFIGS

RULES = [
    # the owner writes and describes its product topics and dead letters, and reads neither
    (SALES, TOPIC, "sales.orders.v1", W, True),
    (SALES, TOPIC, "sales.orders.v1", D, True),
    (SALES, TOPIC, "sales.orders.v1.dlq", W, True),
    (SALES, TOPIC, "sales.orders.v1", R, False),
    (SALES, TOPIC, "sales.orders.v1", C, False),
    (SALES, TOPIC, "sales.orders.v1", DC, False),
    (MARKETING, TOPIC, "marketing.customer_lifetime_value.v1", W, True),
    (MARKETING, TOPIC, "marketing.cltv_by_segment.v1.dlq", W, True),
    # nobody writes another domain's topic or dead letters
    (SALES, TOPIC, "marketing.customer_lifetime_value.v1", W, False),
    (SALES, TOPIC, "marketing.customer_lifetime_value.v1.dlq", W, False),
    (MARKETING, TOPIC, "sales.orders.v1", W, False),
    (CUSTOMERS, TOPIC, "sales.orders.v1", W, False),
    # a domain's consumer groups and transactional ids, by the prefix `<domain>.`
    (SALES, GROUP, "sales.audit", R, True),
    (SALES, TXN, "sales.orders-writer", W, True),
    (MARKETING, GROUP, "marketing.cltv", R, True),
    (SALES, GROUP, "marketing.cltv", R, False),
    (SALES, GROUP, "salesforce.sync", R, False),
    (MARKETING, TXN, "sales.orders-writer", W, False),
    (SALES, GROUP, "_streammesh.quality-monitor", R, False),
    # a domain's stream processors, `<domain>-<processor>`: their groups and internal topics
    (MARKETING, GROUP, "marketing-cltv", R, True),
    *((MARKETING, TOPIC, "marketing-cltv-state-changelog", op, True) for op in (R, W, C, DC)),
    (MARKETING, TOPIC, "marketing-cltv-__assignor-__leader", C, True),
    (MARKETING, TOPIC, "marketing-cltv-state-changelog", Operation.DELETE, False),
    (SALES, GROUP, "marketing-cltv", R, False),
    (SALES, TOPIC, "marketing-cltv-state-changelog", R, False),
    (SALES, TOPIC, "marketing-cltv-state-changelog", C, False),
    (MARKETING, TOPIC, "sales-audit-changelog", R, False),
    (SALES, TOPIC, "sales_eu-audit-changelog", C, False),
    # the owner may make its missing dead-letter topic, never its product topic
    (SALES, TOPIC, "sales.orders.v1.dlq", C, True),
    (SALES, TOPIC, "sales.orders.v1.dlq", DC, True),
    (SALES, TOPIC, "customers.profiles.v1.dlq", C, False),
    # a domain reads only what its products declare as input ports
    (MARKETING, TOPIC, "sales.orders.v1", R, True),
    (MARKETING, TOPIC, "customers.profiles.v1", R, True),
    (MARKETING, TOPIC, "marketing.customer_lifetime_value.v1", R, True),  # cltv_by_segment's
    (MARKETING, TOPIC, "marketing.cltv_by_segment.v1", R, False),
    (MARKETING, TOPIC, "sales.orders.v1.dlq", R, False),
    (SALES, TOPIC, "customers.profiles.v1", R, False),
    (CUSTOMERS, TOPIC, "sales.orders.v1", R, False),
    # the registry alone writes its log
    (REGISTRY, TOPIC, "_streammesh.schemas", W, True),
    (REGISTRY, TOPIC, "_streammesh.schemas", R, True),
    (REGISTRY, TOPIC, "_streammesh.schemas", DC, True),  # it creates its log when missing
    (REGISTRY, TOPIC, "_streammesh.schemas", C, True),
    (REGISTRY, TXN, "_streammesh.schemas.writer", W, True),
    (REGISTRY, GROUP, "_streammesh.schemas.leader", R, True),
    (SALES, TOPIC, "_streammesh.schemas", W, False),
    (SALES, TOPIC, "_streammesh.schemas", R, False),
    (MONITOR, TOPIC, "_streammesh.schemas", W, False),
    (REGISTRY, TOPIC, "sales.orders.v1", W, False),
    (REGISTRY, TOPIC, "sales.orders.v1", R, False),
    # the monitor reads every product topic and writes (and may create) every dead-letter topic
    *((MONITOR, TOPIC, d.topic.name, R, True) for d in MESH),
    *((MONITOR, TOPIC, f"{d.topic.name}.dlq", W, True) for d in MESH),
    *((MONITOR, TOPIC, f"{d.topic.name}.dlq", C, True) for d in MESH),
    *((MONITOR, TOPIC, f"{d.topic.name}.dlq", DC, True) for d in MESH),
    (MONITOR, TOPIC, "sales.orders.v1", W, False),
    (MONITOR, GROUP, "_streammesh.quality-monitor", R, True),
    (MONITOR, GROUP, "sales.audit", R, False),
]


@pytest.mark.parametrize(("who", "resource", "name", "op", "allowed"), RULES)
def test_each_rule(who: str, resource: Resource, name: str, op: Operation, allowed: bool) -> None:
    assert decide(ACLS, who, resource, name, op).allowed is allowed


def test_every_binding_is_allow_for_any_host_of_a_managed_principal() -> None:
    assert ACLS
    for acl in ACLS:
        assert acl.permission is Permission.ALLOW
        assert acl.host == "*"
        assert is_managed(acl.principal), acl


def test_each_binding_names_the_descriptor_that_granted_it() -> None:
    read = Acl(MARKETING, TOPIC, "sales.orders.v1", Pattern.LITERAL, R)
    assert ACLS[read] == (
        Grant(
            "marketing.customer_lifetime_value.v1",
            "declares the input port sales.orders.v1, read by marketing",
        ),
    )
    groups = Acl(MARKETING, GROUP, "marketing.", Pattern.PREFIXED, R)
    assert [g.source for g in ACLS[groups]] == [
        "marketing.cltv_by_segment.v1",
        "marketing.customer_lifetime_value.v1",
    ]
    log = Acl(REGISTRY, TOPIC, "_streammesh.schemas", Pattern.LITERAL, W)
    assert [g.source for g in ACLS[log]] == ["platform"]


def test_the_computed_set_is_stable_and_sorted() -> None:
    assert list(compute_acls(reversed(MESH))) == list(ACLS) == sorted(ACLS)


def test_platform_names_come_from_the_platform() -> None:
    platform = Platform(registry_topic="_streammesh.schemas.test", monitor_group="monitor.test")
    acls = compute_acls(MESH, platform)
    assert decide(acls, REGISTRY, TOPIC, "_streammesh.schemas.test", W).allowed
    assert not decide(acls, REGISTRY, TOPIC, "_streammesh.schemas", W).allowed
    assert decide(acls, MONITOR, GROUP, "monitor.test", R).allowed


def test_removing_an_input_port_revokes_its_read() -> None:
    narrowed = CLV.model_copy(update={"input_ports": ("sales.orders.v1",)})
    diff = diff_acls(compute_acls((ORDERS, PROFILES, narrowed, SEGMENTS)), ACLS)
    assert diff.add == ()
    assert [str(acl) for acl in diff.remove] == [
        f"{MARKETING} allow describe topic customers.profiles.v1",
        f"{MARKETING} allow read topic customers.profiles.v1",
    ]


def test_a_port_declared_by_two_products_stays_until_both_drop_it() -> None:
    both = SEGMENTS.model_copy(update={"input_ports": (*SEGMENTS.input_ports, "sales.orders.v1")})
    narrowed = CLV.model_copy(update={"input_ports": ("customers.profiles.v1",)})
    acls = compute_acls((ORDERS, PROFILES, narrowed, both))
    assert decide(acls, MARKETING, TOPIC, "sales.orders.v1", R).allowed


def test_retiring_a_product_revokes_what_it_granted() -> None:
    retired = CLV.model_copy(update={"status": Status.RETIRED})
    acls = compute_acls((ORDERS, PROFILES, retired, SEGMENTS))
    topic = "marketing.customer_lifetime_value.v1"
    assert not decide(acls, MARKETING, TOPIC, topic, W).allowed
    assert not decide(acls, MONITOR, TOPIC, topic, R).allowed
    assert not decide(acls, MARKETING, TOPIC, "sales.orders.v1", R).allowed
    # what marketing's other product asks for stays: its input port and the domain's groups
    assert decide(acls, MARKETING, TOPIC, topic, R).allowed
    assert decide(acls, MARKETING, GROUP, "marketing.cltv", R).allowed


def test_a_domain_without_products_keeps_nothing() -> None:
    retired = ORDERS.model_copy(update={"status": Status.RETIRED})
    acls = compute_acls((retired, PROFILES, CLV, SEGMENTS))
    assert not [acl for acl in acls if acl.principal == SALES]
    assert not decide(acls, SALES, GROUP, "sales.audit", R).allowed


def test_deprecated_and_draft_products_still_grant() -> None:
    for status in (Status.DRAFT, Status.DEPRECATED):
        changed = ORDERS.model_copy(update={"status": status})
        assert decide(compute_acls((changed,)), SALES, TOPIC, "sales.orders.v1", W).allowed


def test_applying_the_same_set_twice_changes_nothing() -> None:
    diff = diff_acls(ACLS, ACLS)
    assert diff.empty
    assert diff.unchanged == len(ACLS)


def test_the_diff_never_touches_bindings_of_other_principals() -> None:
    foreign = [
        Acl("User:alice", TOPIC, "sales.orders.v1", Pattern.LITERAL, R),
        Acl("User:streammesh.admin", TOPIC, "*", Pattern.LITERAL, Operation.ALL),
        Acl("User:streammesh-tools", GROUP, "tools.", Pattern.PREFIXED, R),
        Acl("Group:sales", TOPIC, "sales.orders.v1", Pattern.LITERAL, W),
    ]
    diff = diff_acls(ACLS, [*ACLS, *foreign])
    assert diff.empty
    emptied = diff_acls([], [*ACLS, *foreign])
    assert set(emptied.remove) == set(ACLS)
    assert not set(emptied.remove) & set(foreign)


def test_the_diff_removes_a_managed_binding_the_descriptors_do_not_ask_for() -> None:
    stale = [
        Acl(SALES, TOPIC, "customers.profiles.v1", Pattern.LITERAL, R),
        Acl(SALES, TOPIC, "sales.orders.v1", Pattern.LITERAL, W, Permission.DENY),
        Acl(SALES, TOPIC, "sales.orders.v1", Pattern.LITERAL, W, host="10.0.0.1"),
        Acl("User:streammesh.domain.gone", TOPIC, "gone.things.v1", Pattern.LITERAL, W),
    ]
    diff = diff_acls(ACLS, [*ACLS, *stale])
    assert diff.add == ()
    assert set(diff.remove) == set(stale)
    assert "- User:streammesh.domain.gone allow write topic gone.things.v1" in diff.lines()


def test_the_diff_adds_what_is_missing() -> None:
    held = [acl for acl in ACLS if acl.principal != MARKETING]
    diff = diff_acls(ACLS, held)
    assert diff.remove == ()
    assert {acl.principal for acl in diff.add} == {MARKETING}
    assert diff.lines()[0].startswith(f"+ {MARKETING} allow ")


def test_computing_a_binding_for_an_unmanaged_principal_is_refused() -> None:
    with pytest.raises(ValueError, match="not a principal StreamMesh manages"):
        diff_acls([Acl("User:alice", TOPIC, "t", Pattern.LITERAL, R)], [])


def test_prefixed_bindings_read_as_such() -> None:
    groups = Acl(SALES, GROUP, "sales.", Pattern.PREFIXED, R)
    assert str(groups) == f"{SALES} allow read groups prefixed sales."


@pytest.mark.parametrize(
    ("who", "user"),
    [
        ("sales", "streammesh.domain.sales"),
        ("streammesh.registry", "streammesh.registry"),
        ("User:streammesh.monitor", "streammesh.monitor"),
        ("User:alice", "alice"),
    ],
)
def test_a_command_names_a_user_by_domain_or_in_full(who: str, user: str) -> None:
    assert user_of(who) == user


@pytest.mark.parametrize(
    ("name", "managed"),
    [
        ("User:streammesh.domain.sales", True),
        ("User:streammesh.registry", True),
        ("User:streammesh.monitor", True),
        ("User:streammesh.admin", False),
        ("User:streammesh.registry2", False),
        ("User:alice", False),
        ("Group:streammesh.domain.sales", False),
    ],
)
def test_which_principals_streammesh_manages(name: str, managed: bool) -> None:
    assert is_managed(name) is managed
