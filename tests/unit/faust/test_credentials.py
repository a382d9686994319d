"""A Faust processor signs in as the mesh's other aiokafka clients do: the credentials it gives
Faust turn back, in Faust's own hands, into exactly `aiokafka_security`'s arguments."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streammesh.faust import App, broker_credentials
from streammesh.security import KafkaSecurity, aiokafka_security


def security(**fields: Any) -> KafkaSecurity:
    return KafkaSecurity.model_validate(
        {
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_username": "streammesh.domain.marketing",
            "sasl_password": "s3cret",
            "sasl_password_file": None,
            "ssl_ca_location": None,
            **fields,
        }
    )


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_faust_makes_the_same_aiokafka_arguments(protocol: str) -> None:
    chosen = security(security_protocol=protocol)
    ours = aiokafka_security(chosen)
    fausts = credentials_to_aiokafka_auth(broker_credentials(chosen))
    assert {k: v for k, v in fausts.items() if v is not None and k != "ssl_context"} == {
        k: v for k, v in ours.items() if k != "ssl_context"
    }
    context = fausts.get("ssl_context")
    assert isinstance(context, ssl.SSLContext) is (protocol == "SASL_SSL")


def test_plaintext_leaves_faust_at_its_default() -> None:
    chosen = security(security_protocol="PLAINTEXT", sasl_username=None, sasl_password=None)
    assert broker_credentials(chosen) is None


def test_the_app_carries_the_credentials(tmp_path: Path) -> None:
    app = App(
        "credentials-test",
        broker="kafka://127.0.0.1:1",
        datadir=str(tmp_path),
        autodiscover=False,
        security=security(security_protocol="SASL_PLAINTEXT"),
    )
    credentials = app.conf.broker_credentials
    assert credentials is not None
    assert credentials_to_aiokafka_auth(credentials)["sasl_plain_username"] == (
        "streammesh.domain.marketing"
    )
