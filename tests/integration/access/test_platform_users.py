"""The platform rules are enough for the registry to run as its own user: it replays its log,
wins the election, fences with its transactional id and writes, with no ACL beyond those
`access apply` computed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from streammesh.access.principals import REGISTRY_USER
from streammesh.cli import app
from streammesh.security import KafkaSecurity, SecurityProtocol
from streammesh.testing.kafka import SaslKafka
from streammesh.testing.servers import serve_in_thread
from tests.integration.sdk.workspace import copy_products

pytestmark = pytest.mark.integration

runner = CliRunner()


@contextmanager
def registry(sasl_kafka: SaslKafka, topic: str, security: KafkaSecurity) -> Iterator[str]:
    from services.registry.app import create_app  # noqa: PLC0415 - only tests that serve
    from services.registry.settings import RegistrySettings  # noqa: PLC0415

    settings = RegistrySettings(
        bootstrap_servers=sasl_kafka.bootstrap_servers,
        topic=topic,
        auth_enabled=False,
        kafka_security=security,
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url


def test_the_registry_runs_as_streammesh_registry(
    sasl_kafka: SaslKafka, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = f"_streammesh.schemas.access.{uuid.uuid4().hex[:8]}"
    secrets = tmp_path / "secrets"
    admin = sasl_kafka.admin
    monkeypatch.setenv("STREAMMESH_BOOTSTRAP_SERVERS", sasl_kafka.bootstrap_servers)
    monkeypatch.setenv("STREAMMESH_SECURITY_PROTOCOL", admin.security_protocol.value)
    monkeypatch.setenv("STREAMMESH_SASL_USERNAME", str(admin.sasl_username))
    monkeypatch.setenv("STREAMMESH_SASL_PASSWORD_FILE", str(admin.sasl_password_file))
    monkeypatch.setenv("STREAMMESH_ACCESS_SECRETS_DIR", str(secrets))
    monkeypatch.setenv("STREAMMESH_ACCESS_REGISTRY_TOPIC", topic)
    workspace = copy_products(tmp_path / "mesh")
    orders = workspace.descriptor("sales/products/orders.yaml")
    profiles = workspace.descriptor("customers/products/profiles.yaml")

    # Bootstrap: the admin runs the registry until the registry's user and ACLs exist.
    with registry(sasl_kafka, topic, admin) as url:
        monkeypatch.setenv("STREAMMESH_REGISTRY_URL", url)
        # The broker is shared with other tests, which may have made the registry's user
        # already: rotating it puts a password this test knows in its secrets directory.
        for args in (
            ["product", "apply", str(orders)],
            ["access", "apply"],
            ["access", "rotate", REGISTRY_USER],
        ):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output

    own = KafkaSecurity(
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        sasl_username=REGISTRY_USER,
        sasl_password=None,
        sasl_password_file=secrets / f"{REGISTRY_USER}.password",
    )
    with registry(sasl_kafka, topic, own) as url:
        monkeypatch.setenv("STREAMMESH_REGISTRY_URL", url)
        replayed = httpx.get(f"{url}/products", timeout=10).json()
        assert [p["ref"] for p in replayed] == [workspace.ref("sales.orders.v1")]
        result = runner.invoke(app, ["product", "apply", str(profiles)])
        assert result.exit_code == 0, result.output
        written = httpx.get(f"{url}/products", timeout=10).json()
        assert sorted(p["ref"] for p in written) == [
            workspace.ref("customers.profiles.v1"),
            workspace.ref("sales.orders.v1"),
        ]
