"""Faust's broker credentials, from the mesh's Kafka security settings.

Faust builds each of its aiokafka clients itself (the worker's consumer, its producer, the
client that creates topics) from `App(broker_credentials=...)`. `broker_credentials` fills that
from `streammesh.security.aiokafka_security`, the one place the mesh's settings become aiokafka's
arguments, so a processor signs in exactly as the mesh's other aiokafka clients do; Faust turns
the credentials back into the same arguments for every client it makes.
"""

from __future__ import annotations

from faust.auth import SASLCredentials

from streammesh.security import KafkaSecurity, SecurityProtocol, aiokafka_security


def broker_credentials(security: KafkaSecurity | None = None) -> SASLCredentials | None:
    """Faust's credentials for `security` (default: the `STREAMMESH_*` environment); None for
    PLAINTEXT, Faust's default."""
    arguments = aiokafka_security(security)
    if not SecurityProtocol(arguments["security_protocol"]).sasl:
        return None
    # SASL_SSL is told apart by the TLS context, which aiokafka_security makes for it alone.
    return SASLCredentials(
        username=arguments["sasl_plain_username"],
        password=arguments["sasl_plain_password"],
        ssl_context=arguments.get("ssl_context"),
        mechanism=arguments["sasl_mechanism"],
    )
