"""Pick the Kafka a test session runs against: an existing cluster, a container, or our broker.

Order: ``STREAMMESH_BOOTSTRAP_SERVERS`` when set; testcontainers' Kafka when a Docker engine
answers; otherwise the project's own local broker in a throwaway state folder. Tests of access
control get a broker of their own that authenticates (SCRAM) and authorizes (ACLs): always the
project's launcher, whose admin credentials the tests know.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streammesh.broker import BrokerSettings, LocalBroker
from streammesh.broker.security import BrokerSecurity
from streammesh.security import ClientConfig, KafkaSecurity, kafka_client_config

KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"  # pinned: tests never float on "latest"


@dataclass(frozen=True)
class KafkaUnderTest:
    bootstrap_servers: str
    kind: str  # "external", "container" or "local"
    broker: LocalBroker | None = None  # only ours can be stopped and restarted by tests


def docker_available() -> bool:
    # Without an engine socket, asking the docker client leaks a socket as it fails.
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker  # noqa: PLC0415 - only needed where a Docker engine may exist

        client = docker.from_env(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means "no usable engine"
        return False
    return True


def local_broker(state_dir: Path) -> LocalBroker:
    return LocalBroker(BrokerSettings(port=0, controller_port=0, state_dir=state_dir))


@contextlib.contextmanager
def kafka_for_tests(state_dir: Path) -> Iterator[KafkaUnderTest]:
    external = os.environ.get("STREAMMESH_BOOTSTRAP_SERVERS")
    if external:
        yield KafkaUnderTest(external, "external")
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer  # noqa: PLC0415

        with KafkaContainer(KAFKA_IMAGE).with_kraft() as container:
            yield KafkaUnderTest(container.get_bootstrap_server(), "container")
        return
    broker = local_broker(state_dir)
    status = broker.start()
    try:
        assert status.bootstrap_servers is not None
        yield KafkaUnderTest(status.bootstrap_servers, "local", broker)
    finally:
        broker.stop()


@dataclass(frozen=True)
class SaslKafka:
    """A broker with SCRAM-SHA-512 and StandardAuthorizer, and its super user's settings."""

    bootstrap_servers: str
    admin: KafkaSecurity
    broker: LocalBroker

    def config(self, security: KafkaSecurity | None = None) -> ClientConfig:
        """confluent-kafka's settings to reach it as `security` (default: the admin)."""
        return kafka_client_config(self.bootstrap_servers, security or self.admin)


@contextlib.contextmanager
def sasl_kafka_for_tests(state_dir: Path) -> Iterator[SaslKafka]:
    settings = BrokerSettings(
        port=0, controller_port=0, state_dir=state_dir, security=BrokerSecurity.SASL_PLAINTEXT
    )
    broker = LocalBroker(settings)
    status = broker.start()
    try:
        assert status.bootstrap_servers is not None
        yield SaslKafka(status.bootstrap_servers, broker.admin_security(), broker)
    finally:
        broker.stop()
