"""A grant lives as long as the descriptor asking for it: dropping an input port revokes its read
on the next `product apply`, which `--dry-run` shows as a removal first."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import KafkaError
from typer.testing import CliRunner

from streammesh.access.principals import domain_user
from streammesh.cli import app
from streammesh.security import ClientConfig
from tests.integration.access.conftest import Credentials, first_error, reader
from tests.integration.sdk.workspace import Workspace

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("admin_env")]

runner = CliRunner()
CLV = "marketing/products/customer_lifetime_value.yaml"


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def read_error(config: ClientConfig, group: str, topic: str) -> KafkaError | None:
    consumer = reader(config, group, topic, **{"enable.partition.eof": True})
    try:
        return first_error(consumer, seconds=10)
    finally:
        consumer.close()


def test_removing_an_input_port_revokes_the_read_on_the_next_apply(
    workspace: Workspace, credentials: Credentials
) -> None:
    domains = workspace.root / "domains"
    assert run("product", "apply", domains)[0] == 0
    assert run("access", "apply")[0] == 0
    marketing_user = domain_user(workspace.domain("marketing"))
    marketing = credentials(marketing_user)
    profiles = workspace.ref("customers.profiles.v1")
    group = f"{workspace.domain('marketing')}.cltv"
    assert read_error(marketing, group, profiles) is None

    descriptor = workspace.descriptor(CLV)
    text = descriptor.read_text()
    assert f"  - {profiles}\n" in text
    descriptor.write_text(text.replace(f"  - {profiles}\n", ""))
    code, out = run("product", "apply", "--dry-run", domains)
    assert code == 0, out
    assert f"- User:{marketing_user} allow read topic {profiles}" in out
    assert read_error(marketing, group, profiles) is None  # a dry run changes nothing

    code, out = run("product", "apply", domains)
    assert code == 0, out
    error = read_error(marketing, group, profiles)
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    code, out = run("access", "check", workspace.domain("marketing"), profiles, "read")
    assert code == 1, out
    # the other input port is still declared, so still read
    assert read_error(marketing, group, workspace.ref("sales.orders.v1")) is None
