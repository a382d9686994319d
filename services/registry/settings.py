"""Typed settings of the registry service (env prefix ``STREAMMESH_REGISTRY_``)."""

import socket
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streammesh.security import KafkaSecurity


class RegistrySettings(BaseSettings):
    """Each field reads ``STREAMMESH_REGISTRY_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMMESH_REGISTRY_", frozen=True, extra="ignore", populate_by_name=True
    )

    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8081, ge=0, le=65535, description="HTTP port (Confluent's 8081).")
    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "STREAMMESH_REGISTRY_BOOTSTRAP_SERVERS",
            "STREAMMESH_BOOTSTRAP_SERVERS",
            "bootstrap_servers",
        ),
        description="Kafka of the registry's log (else STREAMMESH_BOOTSTRAP_SERVERS).",
    )
    kafka_security: KafkaSecurity = Field(
        default_factory=KafkaSecurity,
        description="How the registry signs in to Kafka: STREAMMESH_SECURITY_PROTOCOL, "
        "STREAMMESH_SASL_* (the registry's user is streammesh.registry).",
    )
    topic: str = Field(
        default="_streammesh.schemas", description="Compacted topic that is the source of truth."
    )
    primary_url: str | None = Field(
        default=None,
        description="An override of the election: forward every write to this URL and never "
        "write (unset: the instances elect their leader through Kafka).",
    )
    advertised_url: str | None = Field(
        default=None,
        description="The URL other instances forward writes to when this one leads "
        "(unset: http://<host>:<port>, with this machine's name when host is 0.0.0.0).",
    )
    leader_eligible: bool = Field(
        default=True, description="Whether this instance takes part in the leader election."
    )
    election_session_timeout_ms: int = Field(
        default=6000,
        ge=1000,
        description="How long the leader group waits for a silent leader before electing "
        "another (Kafka's session.timeout.ms; the broker allows 6000 and up by default).",
    )
    auth_enabled: bool = Field(
        default=True,
        description="Domain authentication, on by default; switch it off explicitly with "
        "STREAMMESH_REGISTRY_AUTH_ENABLED=false (local development only).",
    )
    auth_file: Path | None = Field(
        default=None,
        description="YAML of users with hashed passwords (`streammesh registry add-user`).",
    )
    monitor_url: str | None = Field(
        default=None,
        description="Quality monitor whose GET /products the catalog page reads for live SLO "
        "status; unset: the page shows 'SLO status: unknown'.",
    )
    workers: int = Field(
        default=1, ge=1, description="Worker processes (one per core in production)."
    )
    init_timeout_seconds: float = Field(
        default=60.0, gt=0, description="How long start-up may take to catch up with the log."
    )
    write_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a write waits to be read back (then 50002)."
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="The largest request body, in bytes (4 MiB); a larger one is answered 413 "
        "before it is read (STREAMMESH_REGISTRY_MAX_BODY_BYTES).",
    )
    render_cache_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="The most the rendered answers of hot reads may hold, in bytes (64 MiB); "
        "past it the least recently read is dropped "
        "(STREAMMESH_REGISTRY_RENDER_CACHE_MAX_BYTES).",
    )
    log_level: str = Field(default="info", description="uvicorn log level.")

    def own_url(self) -> str:
        """Where other instances reach this one."""
        if self.advertised_url:
            return self.advertised_url.rstrip("/")
        wildcard = self.host in ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound
        host = socket.gethostname() if wildcard else self.host
        return f"http://{host}:{self.port}"


@lru_cache
def get_settings() -> RegistrySettings:
    return RegistrySettings()
