"""Typed settings of the quality monitor (env prefix ``STREAMMESH_MONITOR_``)."""

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from streammesh.security import ClientConfig, KafkaSecurity, kafka_client_config
from streammesh.settings import registry_client_config


class MonitorSettings(BaseSettings):
    """Each field reads ``STREAMMESH_MONITOR_<FIELD>``; the description names its default."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMMESH_MONITOR_", frozen=True, extra="ignore", populate_by_name=True
    )

    host: str = Field(default="127.0.0.1", description="Address to listen on (127.0.0.1).")
    port: int = Field(default=8090, ge=0, le=65535, description="HTTP port (8090).")
    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "STREAMMESH_MONITOR_BOOTSTRAP_SERVERS",
            "STREAMMESH_BOOTSTRAP_SERVERS",
            "bootstrap_servers",
        ),
        description="Kafka of the product topics (127.0.0.1:9092, else "
        "STREAMMESH_BOOTSTRAP_SERVERS).",
    )
    kafka_security: KafkaSecurity = Field(
        default_factory=KafkaSecurity,
        description="How the monitor signs in to Kafka: STREAMMESH_SECURITY_PROTOCOL, "
        "STREAMMESH_SASL_* (PLAINTEXT; its user on an authenticated mesh is streammesh.monitor).",
    )
    registry_url: str = Field(
        default="http://127.0.0.1:8081", description="Registry and catalog (http://127.0.0.1:8081)."
    )
    registry_username: str | None = Field(
        default=None, description="HTTP Basic user for the registry (unset: no authentication)."
    )
    registry_password: SecretStr | None = Field(
        default=None, description="HTTP Basic password for the registry."
    )
    group_id: str = Field(
        default="_streammesh.quality-monitor",
        description="Consumer group; instances sharing it split the partitions "
        "(_streammesh.quality-monitor).",
    )
    catalog_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often the catalog is read for new products (5)."
    )
    workers: int = Field(
        default=1,
        ge=1,
        description="Checking processes in this service, in the same consumer group (they split "
        "the partitions); /metrics, /products and /health show them as one (1).",
    )
    batch_size: int = Field(
        default=500, ge=1, description="Records taken per poll; offsets commit per batch (500)."
    )
    batches_in_flight: int = Field(
        default=8,
        ge=1,
        description="Checked batches whose dead letters may await acknowledgement at once; "
        "checking waits beyond that, and a batch commits only once its letters are in (8).",
    )
    poll_timeout_seconds: float = Field(
        default=0.5, gt=0, description="Longest wait for a batch (0.5)."
    )
    session_timeout_seconds: float = Field(
        default=45.0,
        gt=0,
        description="Consumer-group session timeout: how long a crashed instance keeps its "
        "partitions (45).",
    )
    event_time_fields: tuple[str, ...] = Field(
        default=("event_time", "updated_at"),
        description="Top-level timestamp-millis/-micros fields taken as a record's event time, "
        "first match wins (event_time, updated_at).",
    )
    max_future_seconds: float | None = Field(
        default=300.0,
        description="An event time this far past the record's Kafka timestamp is a failure "
        "(300; unset: no check).",
    )
    max_past_seconds: float | None = Field(
        default=30 * 24 * 3600.0,
        description="An event time this far before the record's Kafka timestamp is a failure "
        "(30 days; unset: no check).",
    )
    ready_max_lag: int = Field(
        default=0, ge=0, description="Readiness: at most this many records behind (0)."
    )
    dlq_replication_factor: int = Field(
        default=-1,
        description="Replication of a dead-letter topic it creates (-1: the broker's default); "
        "its partitions and configs are the SDK's (`streammesh.sdk.topics.dlq_spec`).",
    )
    cors_origins: tuple[str, ...] = Field(
        default=(),
        description="Web origins allowed to read the GET endpoints, e.g. the registry's catalog "
        "page (none).",
    )
    log_level: str = Field(default="info", description="Log level (info).")

    def kafka_config(self) -> ClientConfig:
        """confluent-kafka's settings to reach the product topics' Kafka, credentials included
        (the password file is read again each time, so a rotated password counts)."""
        return kafka_client_config(self.bootstrap_servers, self.kafka_security)

    def registry_client_config(self) -> dict[str, str]:
        """The configuration of confluent's `SchemaRegistryClient` for this registry."""
        secret = None
        if self.registry_username is not None:
            password = self.registry_password.get_secret_value() if self.registry_password else ""
            secret = SecretStr(f"{self.registry_username}:{password}")
        return registry_client_config(self.registry_url, secret)


@lru_cache
def get_settings() -> MonitorSettings:
    return MonitorSettings()
