"""How a client authenticates to the mesh's Kafka, defined once for every client.

`KafkaSecurity` reads `STREAMMESH_SECURITY_PROTOCOL`, `STREAMMESH_SASL_*` and
`STREAMMESH_SSL_CA_LOCATION`; `kafka_client_config` turns it into confluent-kafka's settings and
`aiokafka_security` into aiokafka's keyword arguments, so the SDK, the services, the processors
and the tools connect the same way. A password comes from the environment or, better, from a
file (`STREAMMESH_SASL_PASSWORD_FILE`, as `streammesh access apply` writes them), and stays a
`SecretStr` until the moment a client is made.
"""

from __future__ import annotations

import ssl
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streammesh.errors import StreamMeshError

#: A confluent-kafka client's configuration, as its clients type it.
ClientConfig = dict[str, str | int | float | bool]


class SecurityError(StreamMeshError):
    """Kafka security settings that cannot work together, or a password file that cannot be
    read."""


class SecurityProtocol(StrEnum):
    """Kafka's `security.protocol` values the mesh supports."""

    PLAINTEXT = "PLAINTEXT"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"

    @property
    def sasl(self) -> bool:
        return self is not SecurityProtocol.PLAINTEXT


class SaslMechanism(StrEnum):
    SCRAM_SHA_512 = "SCRAM-SHA-512"
    SCRAM_SHA_256 = "SCRAM-SHA-256"


class KafkaSecurity(BaseSettings):
    """A client's Kafka credentials. Each field reads ``STREAMMESH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="STREAMMESH_", frozen=True, extra="ignore")

    security_protocol: SecurityProtocol = Field(
        default=SecurityProtocol.PLAINTEXT,
        description="PLAINTEXT (no authentication), SASL_PLAINTEXT or SASL_SSL "
        "(STREAMMESH_SECURITY_PROTOCOL; default PLAINTEXT).",
    )
    sasl_mechanism: SaslMechanism = Field(
        default=SaslMechanism.SCRAM_SHA_512,
        description="SASL mechanism (STREAMMESH_SASL_MECHANISM; default SCRAM-SHA-512).",
    )
    sasl_username: str | None = Field(
        default=None,
        description="SCRAM user, e.g. streammesh.domain.sales (STREAMMESH_SASL_USERNAME).",
    )
    sasl_password: SecretStr | None = Field(
        default=None, description="SCRAM password (STREAMMESH_SASL_PASSWORD); prefer the file."
    )
    sasl_password_file: Path | None = Field(
        default=None,
        description="A file holding the SCRAM password, read when a client is made "
        "(STREAMMESH_SASL_PASSWORD_FILE).",
    )
    ssl_ca_location: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the brokers' certificates, for SASL_SSL "
        "(STREAMMESH_SSL_CA_LOCATION; unset: the system's CAs).",
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.security_protocol.sasl:
            return self
        if not self.sasl_username:
            raise ValueError(f"{self.security_protocol} needs STREAMMESH_SASL_USERNAME")
        if (self.sasl_password is None) == (self.sasl_password_file is None):
            raise ValueError(
                f"{self.security_protocol} needs exactly one of STREAMMESH_SASL_PASSWORD and "
                "STREAMMESH_SASL_PASSWORD_FILE"
            )
        return self

    def password(self) -> SecretStr:
        """The SCRAM password, from the file when one is named (read afresh each time, so a
        rotated password counts for the next client)."""
        if self.sasl_password is not None:
            return self.sasl_password
        if self.sasl_password_file is None:
            raise SecurityError("no SASL password is configured")
        try:
            text = self.sasl_password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecurityError(
                f"cannot read the SASL password file {self.sasl_password_file}: {exc.strerror}"
            ) from None
        if not text:
            raise SecurityError(f"the SASL password file {self.sasl_password_file} is empty")
        return SecretStr(text)


def kafka_client_config(
    bootstrap_servers: str, security: KafkaSecurity | None = None
) -> ClientConfig:
    """confluent-kafka's settings to reach `bootstrap_servers` as `security` says (default:
    the `STREAMMESH_*` environment). PLAINTEXT adds nothing but the servers."""
    chosen = security if security is not None else KafkaSecurity()
    config: ClientConfig = {"bootstrap.servers": bootstrap_servers}
    if not chosen.security_protocol.sasl:
        return config
    assert chosen.sasl_username is not None  # the validator requires it for SASL
    config |= {
        "security.protocol": chosen.security_protocol.value,
        "sasl.mechanism": chosen.sasl_mechanism.value,
        "sasl.username": chosen.sasl_username,
        "sasl.password": chosen.password().get_secret_value(),
    }
    if chosen.ssl_ca_location is not None:
        config["ssl.ca.location"] = str(chosen.ssl_ca_location)
    return config


def aiokafka_security(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """The same as aiokafka's keyword arguments (`security_protocol`, `sasl_*`,
    `ssl_context`), for its producers, consumers and admin client."""
    chosen = security if security is not None else KafkaSecurity()
    if not chosen.security_protocol.sasl:
        return {"security_protocol": SecurityProtocol.PLAINTEXT.value}
    kwargs: dict[str, Any] = {
        "security_protocol": chosen.security_protocol.value,
        "sasl_mechanism": chosen.sasl_mechanism.value,
        "sasl_plain_username": chosen.sasl_username,
        "sasl_plain_password": chosen.password().get_secret_value(),
    }
    if chosen.security_protocol is SecurityProtocol.SASL_SSL:
        cafile = None if chosen.ssl_ca_location is None else str(chosen.ssl_ca_location)
        kwargs["ssl_context"] = ssl.create_default_context(cafile=cafile)
    return kwargs
