"""On a broker that authenticates and authorizes, the ACLs `product apply` and `access apply`
compute from the descriptors hold every domain to its own products: a domain writes its own
topics, reads only what it declared, consumes only in its own groups, and never writes the
registry's log; the platform's services can do their work; a second apply changes nothing, and
ACLs made outside StreamMesh are left alone. Real Kafka, real SCRAM users, unchanged
confluent-kafka clients."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)
from typer.testing import CliRunner

from streammesh.access.principals import MONITOR_USER, domain_user
from streammesh.cli import app
from streammesh.security import ClientConfig
from streammesh.testing.kafka import SaslKafka
from tests.integration.access.conftest import Credentials, first_error, reader
from tests.integration.sdk.workspace import Workspace, copy_products

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("admin_env")]

runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The shipped products under fresh domain names, applied: topics, catalog, ACLs, users."""
    workspace = copy_products(tmp_path_factory.mktemp("mesh"))
    code, out = run("product", "apply", workspace.root / "domains")
    assert code == 0, out
    code, out = run("access", "apply")
    assert code == 0, out
    # Other modules on this broker may have made the monitor's user: a rotation puts a
    # password this module knows in its secrets directory.
    code, out = run("access", "rotate", MONITOR_USER)
    assert code == 0, out
    return workspace


def user(mesh: Workspace, domain: str) -> str:
    return domain_user(mesh.domain(domain))


def produce_error(config: ClientConfig, topic: str) -> KafkaError | None:
    """What the broker answers to one record sent to `topic` (None: it was written)."""
    errors: list[KafkaError | None] = []
    producer = Producer({**config, "message.timeout.ms": 15000})
    producer.produce(topic, b"x", on_delivery=lambda error, _: errors.append(error))
    producer.flush(30)
    assert len(errors) == 1
    return errors[0]


def test_the_owner_writes_its_own_topic(mesh: Workspace, credentials: Credentials) -> None:
    sales = credentials(user(mesh, "sales"))
    # the SDK's producer settings: idempotent, acks=all
    config = {**sales, "enable.idempotence": True, "acks": "all"}
    assert produce_error(config, mesh.ref("sales.orders.v1")) is None
    assert produce_error(config, mesh.ref("sales.orders.v1.dlq")) is None


def test_sales_producing_to_a_marketing_topic_is_refused(
    mesh: Workspace, credentials: Credentials
) -> None:
    sales = credentials(user(mesh, "sales"))
    error = produce_error(sales, mesh.ref("marketing.customer_lifetime_value.v1"))
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_marketing_reads_its_input_ports_in_its_own_groups(
    mesh: Workspace, credentials: Credentials
) -> None:
    marketing = credentials(user(mesh, "marketing"))
    group = f"{mesh.domain('marketing')}.cltv"
    consumer = reader(
        marketing, group, mesh.ref("sales.orders.v1"), **{"enable.partition.eof": True}
    )
    try:
        assert first_error(consumer, seconds=10) is None
        assert consumer.assignment()
    finally:
        consumer.close()


def test_marketing_reading_a_topic_it_did_not_declare_is_refused(
    mesh: Workspace, credentials: Credentials
) -> None:
    marketing = credentials(user(mesh, "marketing"))
    group = f"{mesh.domain('marketing')}.snoop"
    consumer = reader(marketing, group, mesh.ref("sales.orders.v1.dlq"))
    try:
        error = first_error(consumer)
    finally:
        consumer.close()
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_domain_writing_the_registry_log_is_refused(
    mesh: Workspace, credentials: Credentials, registry_topic: str
) -> None:
    error = produce_error(credentials(user(mesh, "sales")), registry_topic)
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_a_domain_joining_another_domains_group_is_refused(
    mesh: Workspace, credentials: Credentials
) -> None:
    marketing = credentials(user(mesh, "marketing"))
    # a topic marketing may read, in a group that is sales'
    consumer = reader(marketing, f"{mesh.domain('sales')}.audit", mesh.ref("sales.orders.v1"))
    try:
        error = first_error(consumer)
    finally:
        consumer.close()
    assert error is not None
    assert error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_the_monitor_reads_every_product_and_writes_every_dead_letter_topic(
    mesh: Workspace, credentials: Credentials
) -> None:
    monitor = credentials(MONITOR_USER)
    topic = mesh.ref("marketing.cltv_by_segment.v1")
    consumer = reader(monitor, "_streammesh.quality-monitor", topic)
    try:
        assert first_error(consumer, seconds=5) is None
    finally:
        consumer.close()
    assert produce_error(monitor, f"{topic}.dlq") is None
    assert produce_error(monitor, topic) is not None


def test_check_says_who_may_and_which_descriptor_granted_it(mesh: Workspace) -> None:
    orders = mesh.ref("sales.orders.v1")
    code, out = run("access", "check", mesh.domain("marketing"), orders, "read", "-o", "json")
    assert code == 0, out
    answer = json.loads(out)
    assert answer["allowed"] is True
    granted = [g for b in answer["bindings"] for g in b["grantedBy"]]
    assert f"{mesh.ref('marketing.customer_lifetime_value.v1')}: declares the input port " in (
        " ".join(granted)
    )
    target = mesh.ref("marketing.customer_lifetime_value.v1")
    code, out = run("access", "check", mesh.domain("sales"), target, "write")
    assert code == 1
    assert "may not write topic" in out
    assert "no ACL allows it" in out


def test_the_authorizer_log_keeps_the_refusals(
    mesh: Workspace, credentials: Credentials, sasl_kafka: SaslKafka
) -> None:
    target = mesh.ref("customers.profiles.v1")
    assert produce_error(credentials(user(mesh, "sales")), target) is not None
    log = sasl_kafka.broker.authorizer_log_file
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if f"User:{user(mesh, 'sales')}" in text and target in text:
            break
        time.sleep(0.2)
    assert "Denied" in text
    assert target in text


def test_apply_twice_changes_nothing_the_second_time(mesh: Workspace) -> None:
    code, out = run("access", "apply", "-o", "json")
    assert code == 0, out
    plan = json.loads(out)
    assert plan["nothingToDo"] is True
    assert plan["add"] == plan["remove"] == []
    code, out = run("product", "apply", "-o", "json", mesh.root / "domains")
    assert code == 0, out
    assert json.loads(out)["access"]["nothingToDo"] is True


def test_acls_made_outside_streammesh_are_left_alone_and_stale_ones_go(
    mesh: Workspace, sasl_admin: AdminClient
) -> None:
    foreign = AclBinding(
        ResourceType.TOPIC,
        mesh.ref("sales.orders.v1"),
        ResourcePatternType.LITERAL,
        f"User:{mesh.prefix}-analyst",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    stale = AclBinding(
        ResourceType.TOPIC,
        mesh.ref("customers.profiles.v1"),
        ResourcePatternType.LITERAL,
        f"User:{user(mesh, 'sales')}",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    for future in sasl_admin.create_acls([foreign, stale]).values():
        future.result(timeout=30)
    code, out = run("access", "apply", "--dry-run")
    assert code == 0, out
    assert f"- User:{user(mesh, 'sales')} allow read topic {mesh.ref('customers.profiles.v1')}" in (
        out
    )
    assert "analyst" not in out
    assert run("access", "apply")[0] == 0
    held = sasl_admin.describe_acls(
        AclBindingFilter(
            ResourceType.TOPIC,
            None,  # type: ignore[arg-type]  # None matches any name
            ResourcePatternType.ANY,
            None,  # type: ignore[arg-type]
            None,  # type: ignore[arg-type]
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
    ).result(timeout=30)
    assert foreign in held
    assert stale not in held


def test_a_rotated_password_replaces_the_old_one(
    mesh: Workspace, credentials: Credentials, secrets_dir: Path
) -> None:
    customers = user(mesh, "customers")
    before = credentials(customers)
    code, out = run("access", "rotate", mesh.domain("customers"))
    assert code == 0, out
    assert str(before["sasl.password"]) not in out
    after = credentials(customers)
    assert after["sasl.password"] != before["sasl.password"]
    assert produce_error(after, mesh.ref("customers.profiles.v1.dlq")) is None
    errors: list[KafkaError] = []
    old = AdminClient({**before, "error_cb": errors.append})  # type: ignore[dict-item]
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal: the password is gone
        old.list_topics(timeout=5)
