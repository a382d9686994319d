"""Fixtures of the access tests: the SASL broker's registry (run by the admin, a super user), the
environment the commands read (the admin's credentials), and a domain's own client settings
made from the password file `access apply` wrote."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Message
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr

from streammesh.security import ClientConfig, KafkaSecurity, SecurityProtocol
from streammesh.testing.kafka import SaslKafka
from streammesh.testing.servers import serve_in_thread

Credentials = Callable[[str], ClientConfig]


@pytest.fixture(scope="module")
def registry_topic() -> str:
    return f"_streammesh.schemas.access.{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def sasl_registry(sasl_kafka: SaslKafka, registry_topic: str) -> Iterator[str]:
    """A registry on the SASL broker, signed in as the admin; it creates its log itself."""
    from services.registry.app import create_app  # noqa: PLC0415 - only tests that serve
    from services.registry.settings import RegistrySettings  # noqa: PLC0415

    settings = RegistrySettings(
        bootstrap_servers=sasl_kafka.bootstrap_servers,
        topic=registry_topic,
        auth_enabled=False,
        kafka_security=sasl_kafka.admin,
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("access") / "secrets"


@pytest.fixture(scope="module")
def admin_env(
    sasl_kafka: SaslKafka, sasl_registry: str, registry_topic: str, secrets_dir: Path
) -> Iterator[None]:
    """The commands run as the platform admin, as `streammesh broker start` says to."""
    admin = sasl_kafka.admin
    assert admin.sasl_username is not None
    assert admin.sasl_password_file is not None
    env = {
        "STREAMMESH_BOOTSTRAP_SERVERS": sasl_kafka.bootstrap_servers,
        "STREAMMESH_SECURITY_PROTOCOL": admin.security_protocol.value,
        "STREAMMESH_SASL_USERNAME": admin.sasl_username,
        "STREAMMESH_SASL_PASSWORD_FILE": str(admin.sasl_password_file),
        "STREAMMESH_REGISTRY_URL": sasl_registry,
        "STREAMMESH_ACCESS_SECRETS_DIR": str(secrets_dir),
        "STREAMMESH_ACCESS_REGISTRY_TOPIC": registry_topic,
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        patch.delenv("STREAMMESH_SASL_PASSWORD", raising=False)
        patch.delenv("STREAMMESH_REGISTRY_USER_INFO", raising=False)
        yield


@pytest.fixture(scope="module")
def sasl_admin(sasl_kafka: SaslKafka) -> AdminClient:
    return AdminClient(sasl_kafka.config())


@pytest.fixture(scope="module")
def credentials(sasl_kafka: SaslKafka, secrets_dir: Path) -> Credentials:
    """A user's confluent-kafka settings, its password read from the file `access apply`
    wrote: what a domain's service is given."""

    def of(user: str) -> ClientConfig:
        security = KafkaSecurity(
            security_protocol=SecurityProtocol.SASL_PLAINTEXT,
            sasl_username=user,
            sasl_password=None,
            sasl_password_file=secrets_dir / f"{user}.password",
        )
        return {**sasl_kafka.config(security), "log_level": 0}

    return of


def password_of(secrets_dir: Path, user: str) -> SecretStr:
    return SecretStr((secrets_dir / f"{user}.password").read_text().strip())


def first_error(consumer: Consumer, seconds: float = 20.0) -> KafkaError | None:
    """The first error a consumer's poll reports within `seconds` (None: none came)."""
    for _ in range(int(seconds / 0.2)):
        message: Message | None = consumer.poll(0.2)
        error = None if message is None else message.error()
        if error is not None and error.code() != KafkaError._PARTITION_EOF:
            return error
    return None


def reader(config: ClientConfig, group: str, topic: str, **extra: Any) -> Consumer:
    consumer = Consumer({**config, "group.id": group, "auto.offset.reset": "earliest", **extra})
    consumer.subscribe([topic])
    return consumer
