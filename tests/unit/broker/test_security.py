"""A SASL broker is configured to authenticate every connection (SCRAM-SHA-512 for clients, the
admin over PLAIN on the loopback controller listener), to deny what no ACL allows, and to have
one super user; the admin's SCRAM credential reaches the format tool salted, never as the
password."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest

from streammesh.access.secrets import write_secret
from streammesh.broker import BrokerSettings, LocalBroker
from streammesh.broker.errors import BrokerStartError
from streammesh.broker.security import (
    SCRAM_ITERATIONS,
    BrokerSecurity,
    listener_properties,
    scram_format_argument,
)


def props(security: BrokerSecurity) -> dict[str, str]:
    return listener_properties(
        security,
        host="127.0.0.1",
        port=9092,
        controller_port=9093,
        admin_user="streammesh.admin",
        admin_password="pw",
        tls=None,
    )


def test_plaintext_has_no_authorizer() -> None:
    plain = props(BrokerSecurity.PLAINTEXT)
    assert plain["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert "authorizer.class.name" not in plain
    assert "PLAINTEXT" in plain["listener.security.protocol.map"]


@pytest.mark.parametrize("security", [BrokerSecurity.SASL_PLAINTEXT, BrokerSecurity.SASL_SSL])
def test_sasl_authenticates_everything_and_allows_nothing_by_default(
    security: BrokerSecurity,
) -> None:
    name = security.value.upper()
    sasl = props(security)
    assert sasl["listeners"] == f"{name}://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert sasl["listener.security.protocol.map"] == f"{name}:{name},CONTROLLER:SASL_PLAINTEXT"
    assert sasl["inter.broker.listener.name"] == name
    assert sasl["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert sasl["authorizer.class.name"].endswith("StandardAuthorizer")
    assert sasl["allow.everyone.if.no.acl.found"] == "false"
    assert sasl["super.users"] == "User:streammesh.admin"  # nobody anonymous
    assert (
        'username="streammesh.admin"'
        in sasl[f"listener.name.{security.value}.scram-sha-512.sasl.jaas.config"]
    )


def test_the_format_argument_carries_a_salted_password_only() -> None:
    salt = b"0123456789abcdef"
    argument = scram_format_argument("streammesh.admin", "pw", salt=salt)
    salted = hashlib.pbkdf2_hmac("sha512", b"pw", salt, SCRAM_ITERATIONS)
    assert argument == (
        f"SCRAM-SHA-512=[name=streammesh.admin,iterations={SCRAM_ITERATIONS},"
        f'salt="{base64.b64encode(salt).decode()}",'
        f'saltedpassword="{base64.b64encode(salted).decode()}"]'
    )
    assert "pw" not in argument.replace("password", "")


def test_secrets_are_written_for_their_owner_only(tmp_path: Path) -> None:
    secret = tmp_path / "secrets" / "streammesh.admin.password"
    write_secret(secret, "pw")
    assert secret.read_text() == "pw\n"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700


def test_a_plaintext_state_folder_cannot_become_a_sasl_broker(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meta.properties").write_text("formatted without SCRAM")
    broker = LocalBroker(BrokerSettings(state_dir=tmp_path, security=BrokerSecurity.SASL_PLAINTEXT))
    with pytest.raises(BrokerStartError, match="fresh STREAMMESH_BROKER_STATE_DIR"):
        broker._admin_password()


def test_the_admin_connects_as_the_broker_was_started(tmp_path: Path) -> None:
    broker = LocalBroker(BrokerSettings(state_dir=tmp_path, security=BrokerSecurity.SASL_SSL))
    admin = broker.admin_security()
    assert admin.security_protocol.value == "SASL_SSL"
    assert admin.sasl_username == "streammesh.admin"
    assert admin.sasl_password_file == tmp_path / "secrets" / "streammesh.admin.password"
    assert admin.ssl_ca_location == tmp_path / "tls" / "ca.pem"
    plain = LocalBroker(BrokerSettings(state_dir=tmp_path / "plain"))
    assert not plain.admin_security().security_protocol.sasl
