"""The local broker's authentication and authorization: SCRAM-SHA-512 for clients,
StandardAuthorizer with no access unless an ACL grants it, and one super user, the platform admin.

The admin's password is made when the storage is formatted and kept in a 0600 file under the
state folder; its SCRAM credential is written into the metadata at format time (KRaft reads
credentials from the metadata log, so it must be there before any client connects), given as a
salted password so the password itself never appears on a command line. The broker itself
signs in as the admin on its client listener (inter-broker traffic), and over SASL/PLAIN on the
loopback controller listener, so no connection is ever anonymous.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from streammesh.access.secrets import new_password, write_secret
from streammesh.broker.errors import BrokerStartError
from streammesh.security import KafkaSecurity, SaslMechanism, SecurityProtocol

#: PBKDF2 rounds of the admin's SCRAM credential (Kafka's minimum is 4096).
SCRAM_ITERATIONS: Final = 8192
_MECHANISM: Final = SaslMechanism.SCRAM_SHA_512
_CERT_DAYS: Final = 825


class BrokerSecurity(StrEnum):
    """How the local broker's client listener is secured."""

    #: No authentication and no authorization: every client may do everything.
    PLAINTEXT = "plaintext"
    SASL_PLAINTEXT = "sasl_plaintext"
    #: SASL over TLS, with a certificate for the broker's host signed by a local CA.
    SASL_SSL = "sasl_ssl"

    @property
    def protocol(self) -> SecurityProtocol:
        return SecurityProtocol(self.value.upper())


PLAINTEXT_WARNING: Final = (
    "PLAINTEXT: no authentication and no ACLs, every client may read and write every topic. "
    "Set STREAMMESH_BROKER_SECURITY=sasl_plaintext for SCRAM users and ACLs."
)


@dataclass(frozen=True)
class Tls:
    """The broker's keystore and the CA clients trust."""

    keystore: Path
    ca: Path
    password_file: Path


def scram_format_argument(user: str, password: str, *, salt: bytes | None = None) -> str:
    """`kafka-storage format --add-scram`'s value for `user`: a salted password (RFC 5802's
    Hi(), PBKDF2 with SHA-512), never the password itself."""
    chosen_salt = salt if salt is not None else secrets.token_bytes(32)
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), chosen_salt, SCRAM_ITERATIONS)
    encode = base64.b64encode
    return (
        f"{_MECHANISM.value}=[name={user},iterations={SCRAM_ITERATIONS},"
        f'salt="{encode(chosen_salt).decode()}",saltedpassword="{encode(salted).decode()}"]'
    )


def _jaas(module: str, user: str, password: str, *extra: str) -> str:
    options = " ".join([f'username="{user}"', f'password="{password}"', *extra])
    return f"org.apache.kafka.common.security.{module} required {options};"


def listener_properties(
    security: BrokerSecurity,
    *,
    host: str,
    port: int,
    controller_port: int,
    admin_user: str,
    admin_password: str | None,
    tls: Tls | None,
) -> dict[str, str]:
    """server.properties' listener, SASL and authorizer lines for `security`."""
    if security is BrokerSecurity.PLAINTEXT:
        return {
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        }
    assert admin_password is not None  # made at format time for every SASL broker
    name = security.protocol.value
    listener = name.lower()
    props = {
        "listeners": f"{name}://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"{name}://{host}:{port}",
        "inter.broker.listener.name": name,
        "listener.security.protocol.map": f"{name}:{name},CONTROLLER:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": _MECHANISM.value,
        "sasl.mechanism.inter.broker.protocol": _MECHANISM.value,
        f"listener.name.{listener}.{_MECHANISM.value.lower()}.sasl.jaas.config": _jaas(
            "scram.ScramLoginModule", admin_user, admin_password
        ),
        # SCRAM credentials live in the metadata the controller serves, so the controller
        # listener cannot use them: PLAIN with the admin alone, on loopback.
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": _jaas(
            "plain.PlainLoginModule",
            admin_user,
            admin_password,
            f'user_{admin_user}="{admin_password}"',
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{admin_user}",
    }
    if tls is not None:
        password = tls.password_file.read_text(encoding="utf-8").strip()
        props |= {
            f"listener.name.{listener}.ssl.keystore.location": str(tls.keystore),
            f"listener.name.{listener}.ssl.keystore.type": "PKCS12",
            f"listener.name.{listener}.ssl.keystore.password": password,
            f"listener.name.{listener}.ssl.key.password": password,
            # The broker connects to itself as a client of this listener.
            f"listener.name.{listener}.ssl.truststore.location": str(tls.keystore),
            f"listener.name.{listener}.ssl.truststore.type": "PKCS12",
            f"listener.name.{listener}.ssl.truststore.password": password,
        }
    return props


def admin_security(
    security: BrokerSecurity, admin_user: str, password_file: Path, ca: Path | None
) -> KafkaSecurity:
    """The admin's client settings for a broker secured by `security`, every field given so
    that no `STREAMMESH_SASL_*` of the environment mixes in."""
    if security is BrokerSecurity.PLAINTEXT:
        return KafkaSecurity(
            security_protocol=SecurityProtocol.PLAINTEXT,
            sasl_username=None,
            sasl_password=None,
            sasl_password_file=None,
            ssl_ca_location=None,
        )
    return KafkaSecurity(
        security_protocol=security.protocol,
        sasl_mechanism=_MECHANISM,
        sasl_username=admin_user,
        sasl_password=None,
        sasl_password_file=password_file,
        ssl_ca_location=ca,
    )


def make_tls(folder: Path, java: str, host: str) -> Tls:
    """A local CA and a certificate for `host` (and localhost, 127.0.0.1) signed by it, with
    Java's keytool (the broker's own JDK, so nothing else to install). Made once."""
    tls = Tls(folder / "broker.p12", folder / "ca.pem", folder / "keystore.password")
    if tls.keystore.exists() and tls.ca.exists():
        return tls
    keytool = str(Path(java).resolve().parent / "keytool")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not tls.password_file.exists():
        write_secret(tls.password_file, new_password())
    ca_store = folder / "ca.p12"
    csr, signed = folder / "broker.csr", folder / "broker.pem"
    for leftover in (ca_store, tls.keystore, csr, signed, tls.ca):
        leftover.unlink(missing_ok=True)
    store = ["-storetype", "PKCS12", "-storepass:file", str(tls.password_file)]
    key = ["-keypass:file", str(tls.password_file)]
    sans = sorted({"dns:localhost", "ip:127.0.0.1", f"{_san_kind(host)}:{host}"})
    steps = [
        ["-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048",
         "-dname", "CN=StreamMesh local CA", "-ext", "bc:c", "-validity", str(_CERT_DAYS),
         "-keystore", str(ca_store), *store, *key],
        ["-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca_store), *store,
         "-file", str(tls.ca)],
        ["-genkeypair", "-alias", "broker", "-keyalg", "RSA", "-keysize", "2048",
         "-dname", f"CN={host}", "-validity", str(_CERT_DAYS),
         "-keystore", str(tls.keystore), *store, *key],
        ["-certreq", "-alias", "broker", "-keystore", str(tls.keystore), *store, *key,
         "-file", str(csr)],
        ["-gencert", "-alias", "ca", "-keystore", str(ca_store), *store, *key, "-rfc",
         "-infile", str(csr), "-outfile", str(signed), "-validity", str(_CERT_DAYS),
         "-ext", f"SAN={','.join(sans)}"],
        ["-importcert", "-noprompt", "-alias", "ca", "-file", str(tls.ca),
         "-keystore", str(tls.keystore), *store],
        ["-importcert", "-noprompt", "-alias", "broker", "-file", str(signed),
         "-keystore", str(tls.keystore), *store, *key],
    ]  # fmt: skip
    for step in steps:
        proc = subprocess.run(
            [keytool, *step], capture_output=True, text=True, check=False, timeout=120
        )
        if proc.returncode != 0:
            raise BrokerStartError(
                f"keytool {step[0]} failed making the broker's certificate:\n"
                f"{(proc.stdout + proc.stderr).strip()}"
            )
    csr.unlink()
    return tls


def _san_kind(host: str) -> str:
    return "ip" if host.replace(".", "").isdigit() or ":" in host else "dns"
