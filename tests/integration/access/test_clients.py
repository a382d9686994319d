"""The mesh's own clients run on a broker that authenticates and authorizes, each as its own
user, with no ACL but those `access apply` computed from the descriptors: the quality monitor,
as `streammesh.monitor`, checks a product and dead-letters what breaks its contract, making the
missing dead-letter topic itself; the CLTV processor, as marketing, consumes the orders and
profiles it declares as inputs, keeps its tables and partials in internal topics it creates
under its processor prefix, and writes its two products, equal to the batch computation. The
admin's credentials are out of the environment meanwhile, so a client not given its own
settings would fall back to PLAINTEXT and be refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.admin import AdminClient
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from domains.marketing.cltv.model import load_model
from services.quality_monitor.app import create_app
from services.quality_monitor.settings import MonitorSettings
from streammesh.access.acls import processor_prefix
from streammesh.access.principals import MONITOR_USER, domain_user
from streammesh.broker.launcher import free_port
from streammesh.cli import app
from streammesh.deadletter import Reason, dlq_topic
from streammesh.sdk import Mesh
from streammesh.security import ClientConfig, KafkaSecurity, SecurityProtocol
from streammesh.settings import MeshSettings
from streammesh.testing.kafka import SaslKafka
from streammesh.testing.servers import serve_in_thread
from tests.integration.domains.conftest import (
    History,
    Worker,
    expected,
    make_history,
    wait_for_products,
)
from tests.integration.sdk.workspace import Workspace, copy_products, order

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("admin_env")]

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]
#: What `admin_env` signs the commands in with, and a client would fall back to.
SIGN_IN = (
    "STREAMMESH_SECURITY_PROTOCOL",
    "STREAMMESH_SASL_USERNAME",
    "STREAMMESH_SASL_PASSWORD",
    "STREAMMESH_SASL_PASSWORD_FILE",
)


@pytest.fixture
def mesh(tmp_path: Path) -> Workspace:
    """The shipped products under fresh domain names (a copy per test, so no test reads
    another's records), applied with their users and ACLs."""
    workspace = copy_products(tmp_path / "mesh")
    # Other modules on this broker may have made the monitor's user: a rotation puts a
    # password this module knows in its secrets directory.
    for args in (
        ["product", "apply", str(workspace.root / "domains")],
        ["access", "apply"],
        ["access", "rotate", MONITOR_USER],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return workspace


@pytest.fixture
def without_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SIGN_IN:
        monkeypatch.delenv(name, raising=False)


def own(secrets_dir: Path, user: str) -> KafkaSecurity:
    """`user`'s settings, its password in the file `access apply` wrote."""
    return KafkaSecurity(
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        sasl_username=user,
        sasl_password=None,
        sasl_password_file=secrets_dir / f"{user}.password",
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def delete_topic(admin: AdminClient, topic: str) -> None:
    admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=30)
    wait_until(lambda: topic not in admin.list_topics(timeout=10).topics, 30, f"{topic} stays")


def read_topic(kafka: ClientConfig, topic: str, count: int, timeout: float = 60.0) -> list[Message]:
    """Every record of `topic` once `count` arrived, then what comes within a second more."""
    consumer = Consumer({**kafka, "group.id": "unused", "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        found: list[Message] = []
        deadline, grace = time.monotonic() + timeout, None
        while time.monotonic() < deadline and (grace is None or time.monotonic() < grace):
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                found.append(message)
            if len(found) >= count and grace is None:
                grace = time.monotonic() + 1.0
        return found
    finally:
        consumer.close()


def headers(message: Message) -> dict[str, str]:
    raw = message.headers() or []
    items = raw.items() if isinstance(raw, dict) else raw
    return {k: v.decode() for k, v in items if isinstance(v, bytes)}


def status_of(url: str, ref: str) -> dict[str, Any]:
    statuses = httpx.get(f"{url}/products", timeout=5).json()
    return next((s for s in statuses if s["ref"] == ref), {})


def is_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False


def test_the_monitor_checks_a_product_as_its_own_user(
    mesh: Workspace,
    sasl_kafka: SaslKafka,
    sasl_registry: str,
    sasl_admin: AdminClient,
    secrets_dir: Path,
    without_admin: None,
) -> None:
    ref = mesh.ref("sales.orders.v1")
    dlq = dlq_topic(ref)
    delete_topic(sasl_admin, dlq)  # the monitor makes a missing dead-letter topic itself
    settings = MonitorSettings(
        bootstrap_servers=sasl_kafka.bootstrap_servers,
        registry_url=sasl_registry,
        kafka_security=own(secrets_dir, MONITOR_USER),
        catalog_interval_seconds=0.5,
        poll_timeout_seconds=0.2,
    )
    sales = MeshSettings(
        bootstrap_servers=sasl_kafka.bootstrap_servers,
        registry_url=sasl_registry,
        kafka_security=own(secrets_dir, domain_user(mesh.domain("sales"))),
    )
    with serve_in_thread(create_app(settings, registry=CollectorRegistry())) as url:
        wait_until(lambda: is_ready(url), 60, "the monitor to read the catalog and subscribe")
        with Mesh(sales) as sdk, closing(sdk.producer(ref, on_invalid="send")) as producer:
            now = datetime.now(UTC)
            producer.publish(order(order_id="o-1", event_time=now), key="c-1")
            bad = order(order_id="o-2", event_time=now, amount=Decimal("-1.00"))
            producer.publish(bad, key="c-1")
            assert producer.flush() == 0
        wait_until(lambda: status_of(url, ref).get("checked") == 2, 60, "the monitor to check both")
        assert status_of(url, ref)["failed"] == 1
    letters = read_topic(sasl_kafka.config(), dlq, 1)
    assert len(letters) == 1
    letter = headers(letters[0])
    assert letter["__streammesh.reason"] == Reason.RULE_VIOLATION.value
    assert letter["__rule.name"] == "amount_non_negative"
    assert letter["__rule.topic"] == ref


def publish_as(
    kafka: SaslKafka, registry_url: str, security: KafkaSecurity, ref: str, events: list[Any]
) -> None:
    """Publish `(key, value)` events to `ref` with the SDK, placed by key as the generators do;
    records that break the contract go out as they are, as the sales generator's bad ones."""
    settings = MeshSettings(
        bootstrap_servers=kafka.bootstrap_servers,
        registry_url=registry_url,
        kafka_security=security,
    )
    with Mesh(settings) as sdk, closing(sdk.producer(ref, on_invalid="send")) as producer:
        for key, value in events:
            producer.publish(value, key=key, partition_by=key)
        assert producer.flush() == 0


@pytest.fixture
def cltv_worker(
    mesh: Workspace,
    sasl_kafka: SaslKafka,
    sasl_registry: str,
    secrets_dir: Path,
    tmp_path: Path,
    without_admin: None,
) -> Iterator[Worker]:
    """One CLTV worker (`python -m domains.marketing.cltv`), signed in as marketing, on this
    mesh's copies of the products; its settings come from the environment, as in production."""
    marketing = domain_user(mesh.domain("marketing"))
    port = free_port()
    cltv = {
        "APP_ID": f"{processor_prefix(mesh.domain('marketing'))}cltv",
        "BOOTSTRAP_SERVERS": sasl_kafka.bootstrap_servers,
        "REGISTRY_URL": sasl_registry,
        "ORDERS_TOPIC": mesh.ref("sales.orders.v1"),
        "PROFILES_TOPIC": mesh.ref("customers.profiles.v1"),
        "CLTV_TOPIC": mesh.ref("marketing.customer_lifetime_value.v1"),
        "SEGMENTS_TOPIC": mesh.ref("marketing.cltv_by_segment.v1"),
        "RESYNC_INTERVAL_SECONDS": "2",
        "COMMIT_INTERVAL_SECONDS": "0.5",
        "SESSION_TIMEOUT_SECONDS": "6",
        "STANDBY_REPLICAS": "0",
        "WEB_PORT": str(port),
        "DATA_DIR": str(tmp_path / "cltv"),
    }
    env = {
        **os.environ,
        **{f"STREAMMESH_CLTV_{name}": value for name, value in cltv.items()},
        "STREAMMESH_SECURITY_PROTOCOL": SecurityProtocol.SASL_PLAINTEXT.value,
        "STREAMMESH_SASL_USERNAME": marketing,
        "STREAMMESH_SASL_PASSWORD_FILE": str(secrets_dir / f"{marketing}.password"),
    }
    log = tmp_path / "worker.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "domains.marketing.cltv"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker = Worker(process, f"http://127.0.0.1:{port}", log)
    try:
        yield worker
    finally:
        worker.stop()


def owns_partitions(worker: Worker) -> bool:
    if worker.process.poll() is not None:
        raise RuntimeError(f"the worker exited:\n{worker.log.read_text()[-3000:]}")
    try:
        return bool(worker.stats()["partitions"])
    except httpx.HTTPError:
        return False


def history() -> History:
    return make_history(seed=7, customers=60, orders=600, changes=40)


def test_the_cltv_processor_runs_as_marketing(
    mesh: Workspace,
    sasl_kafka: SaslKafka,
    sasl_registry: str,
    sasl_admin: AdminClient,
    secrets_dir: Path,
    cltv_worker: Worker,
) -> None:
    events = history()
    for domain, kind, ref in (
        ("sales", "orders", "sales.orders.v1"),
        ("customers", "profiles", "customers.profiles.v1"),
    ):
        mine = [(key, value) for k, key, value in events.events if k == kind]
        security = own(secrets_dir, domain_user(mesh.domain(domain)))
        publish_as(sasl_kafka, sasl_registry, security, mesh.ref(ref), mine)
    try:
        wait_until(lambda: owns_partitions(cltv_worker), 90, "the worker to join its group")
        want = expected(events, load_model())
        topics = (
            mesh.ref("marketing.customer_lifetime_value.v1"),
            mesh.ref("marketing.cltv_by_segment.v1"),
        )
        got = wait_for_products(sasl_kafka.config(), sasl_registry, topics, want)
    except BaseException:
        print(cltv_worker.log.read_text()[-5000:])  # shown by pytest when the test fails
        raise
    assert got.customers == want.customers
    assert got.segments == want.segments
    # its internal topics, made by marketing itself: changelogs, partials, Faust's leader topic
    app_id = f"{processor_prefix(mesh.domain('marketing'))}cltv"
    internal = {t for t in sasl_admin.list_topics(timeout=10).topics if t.startswith(app_id)}
    assert {
        f"{app_id}-state-changelog",
        f"{app_id}-segments-changelog",
        f"{app_id}-segment-partials",
        f"{app_id}-__assignor-__leader",
    } <= internal
