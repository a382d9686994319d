"""One definition of a client's Kafka security: settings from `STREAMMESH_SECURITY_PROTOCOL` and
`STREAMMESH_SASL_*`, turned into confluent-kafka's config and aiokafka's arguments; a password
stays secret and is read from its file when a client is made."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from streammesh.security import (
    KafkaSecurity,
    SecurityError,
    SecurityProtocol,
    aiokafka_security,
    kafka_client_config,
)

SERVERS = "127.0.0.1:9092"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "STREAMMESH_SECURITY_PROTOCOL",
        "STREAMMESH_SASL_MECHANISM",
        "STREAMMESH_SASL_USERNAME",
        "STREAMMESH_SASL_PASSWORD",
        "STREAMMESH_SASL_PASSWORD_FILE",
        "STREAMMESH_SSL_CA_LOCATION",
    ):
        monkeypatch.delenv(name, raising=False)


def sasl(**fields: object) -> KafkaSecurity:
    return KafkaSecurity.model_validate(
        {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "streammesh.domain.sales"} | fields
    )


def test_plaintext_adds_nothing_but_the_servers() -> None:
    assert kafka_client_config(SERVERS, KafkaSecurity()) == {"bootstrap.servers": SERVERS}
    assert aiokafka_security(KafkaSecurity()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMMESH_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("STREAMMESH_SASL_USERNAME", "streammesh.domain.sales")
    monkeypatch.setenv("STREAMMESH_SASL_PASSWORD", "s3cret")
    assert kafka_client_config(SERVERS) == {
        "bootstrap.servers": SERVERS,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "streammesh.domain.sales",
        "sasl.password": "s3cret",
    }
    assert aiokafka_security() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "streammesh.domain.sales",
        "sasl_plain_password": "s3cret",
    }


def test_the_password_never_shows(tmp_path: Path) -> None:
    security = sasl(sasl_password="s3cret")
    assert "s3cret" not in repr(security)
    assert "s3cret" not in str(security.model_dump())


def test_a_password_file_is_read_when_a_client_is_made(tmp_path: Path) -> None:
    secret = tmp_path / "sales.password"
    secret.write_text("first\n")
    security = sasl(sasl_password_file=secret)
    assert kafka_client_config(SERVERS, security)["sasl.password"] == "first"
    secret.write_text("rotated\n")
    assert kafka_client_config(SERVERS, security)["sasl.password"] == "rotated"


@pytest.mark.parametrize("content", [None, ""])
def test_a_missing_or_empty_password_file_is_named(tmp_path: Path, content: str | None) -> None:
    secret = tmp_path / "sales.password"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(SecurityError, match=r"sales\.password"):
        kafka_client_config(SERVERS, sasl(sasl_password_file=secret))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sasl_username": None, "sasl_password": "x"}, "STREAMMESH_SASL_USERNAME"),
        ({}, "exactly one of"),
        ({"sasl_password": "x", "sasl_password_file": "/x"}, "exactly one of"),
    ],
)
def test_incomplete_sasl_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        sasl(**fields)


def test_sasl_ssl_trusts_the_given_ca(tmp_path: Path) -> None:
    security = sasl(security_protocol="SASL_SSL", sasl_password="x", ssl_ca_location=tmp_path)
    config = kafka_client_config(SERVERS, security)
    assert config["security.protocol"] == "SASL_SSL"
    assert config["ssl.ca.location"] == str(tmp_path)
    without_ca = sasl(security_protocol="SASL_SSL", sasl_password="x")
    kwargs = aiokafka_security(without_ca)
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)


def test_protocols_say_whether_they_authenticate() -> None:
    assert not SecurityProtocol.PLAINTEXT.sasl
    assert SecurityProtocol.SASL_PLAINTEXT.sasl
    assert SecurityProtocol.SASL_SSL.sasl
    assert sasl(sasl_password=SecretStr("x")).password().get_secret_value() == "x"
