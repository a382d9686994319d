"""Fixtures shared by every test layer: one real Kafka per session, fresh names per test."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streammesh.broker.launcher import free_port
from streammesh.testing.kafka import (
    KafkaUnderTest,
    SaslKafka,
    kafka_for_tests,
    sasl_kafka_for_tests,
)
from streammesh.testing.servers import serve_in_thread

TopicFactory = Callable[..., str]


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaUnderTest]:
    """The session's Kafka: started lazily, only when a test needs it, and stopped after."""
    with kafka_for_tests(tmp_path_factory.mktemp("kafka")) as under_test:
        yield under_test


@pytest.fixture(scope="session")
def sasl_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslKafka]:
    """A second Kafka, for access-control tests only: SCRAM users and ACLs enforced. Started
    lazily, only when such a test runs, so the rest of the suite never pays for it."""
    with sasl_kafka_for_tests(tmp_path_factory.mktemp("sasl-kafka")) as under_test:
        yield under_test


@pytest.fixture(scope="session")
def bootstrap_servers(kafka: KafkaUnderTest) -> str:
    return kafka.bootstrap_servers


@pytest.fixture(scope="session")
def admin(bootstrap_servers: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap_servers})


def unique_name(request: pytest.FixtureRequest, prefix: str) -> str:
    test = request.node.name.replace("[", ".").replace("]", "").replace("/", ".")[:60]
    return f"{prefix}.{test}.{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topic_factory(admin: AdminClient, request: pytest.FixtureRequest) -> Iterator[TopicFactory]:
    """Create topics named after the test; they are deleted when it ends."""
    created: list[str] = []

    def create(partitions: int = 1, config: dict[str, str] | None = None, suffix: str = "") -> str:
        name = unique_name(request, "test") + suffix
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
            operation_timeout=30,
        )
        futures[name].result(timeout=30)
        created.append(name)
        return name

    yield create
    if created:
        for future in admin.delete_topics(created, operation_timeout=30).values():
            future.result(timeout=30)


@pytest.fixture
def group_id(request: pytest.FixtureRequest) -> str:
    """A consumer group no other test uses."""
    return unique_name(request, "group")


RegistryFactory = Callable[..., str]


def ensure_registry_topic(admin: AdminClient, topic: str, timeout: float = 30.0) -> None:
    """Create the registry's log topic unless it exists, and wait until it has a leader.

    The registry creates a missing topic itself but then asks at once for its offsets, which a
    partition without a leader yet refuses (NOT_LEADER_FOR_PARTITION); tests start many
    registries on fresh topics, so they wait for the leader first.
    """
    from services.registry.storage import TOPIC_CONFIG  # noqa: PLC0415 - registry tests only

    if topic not in admin.list_topics(timeout=10).topics:
        new = NewTopic(topic, num_partitions=1, replication_factor=1, config=TOPIC_CONFIG)
        with contextlib.suppress(KafkaException):  # another instance created it first
            admin.create_topics([new], operation_timeout=30)[topic].result(timeout=30)
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(topic=topic, timeout=10).topics[topic]
        partition = metadata.partitions.get(0)
        if metadata.error is None and partition is not None and partition.leader >= 0:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic} has no leader after {timeout:.0f}s")
        time.sleep(0.05)


@pytest.fixture
def registry_factory(
    bootstrap_servers: str, admin: AdminClient, request: pytest.FixtureRequest
) -> Iterator[RegistryFactory]:
    """Start registry instances on real ports; by default each test has a log topic of its own."""
    from services.registry.app import create_app  # noqa: PLC0415 - only tests that serve need it
    from services.registry.settings import RegistrySettings  # noqa: PLC0415

    default_topic = unique_name(request, "_streammesh.schemas")
    stack = contextlib.ExitStack()

    def start(topic: str | None = None, **overrides: object) -> str:
        port = free_port()
        settings = RegistrySettings.model_validate(
            {
                "bootstrap_servers": bootstrap_servers,
                "topic": topic or default_topic,
                # Tests switch authentication off explicitly unless they test it.
                "auth_enabled": "auth_file" in overrides,
                # Where the others forward writes when this instance leads.
                "advertised_url": f"http://127.0.0.1:{port}",
                **overrides,
            }
        )
        ensure_registry_topic(admin, settings.topic)
        return stack.enter_context(serve_in_thread(create_app(settings), port=port))

    with stack:
        yield start
    if default_topic in admin.list_topics(timeout=10).topics:
        admin.delete_topics([default_topic])[default_topic].result(timeout=30)
