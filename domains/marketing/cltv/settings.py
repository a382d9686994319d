"""Typed settings of the CLTV processor (env prefix ``STREAMMESH_CLTV_``), mapped onto Faust."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domains.marketing.cltv.model import DEFAULT_MODEL_PATH
from streammesh.security import KafkaSecurity


class CltvSettings(BaseSettings):
    """Each field reads ``STREAMMESH_CLTV_<FIELD>``; defaults suit a local mesh."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMMESH_CLTV_", frozen=True, extra="ignore", populate_by_name=True
    )

    app_id: str = Field(
        default="marketing-cltv",
        description="Faust app id: the consumer group and the prefix of internal topics "
        "(marketing-cltv: a processor of marketing is named marketing-<processor>, the prefix "
        "the ACLs grant the domain's processors).",
    )
    bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices(
            "STREAMMESH_CLTV_BOOTSTRAP_SERVERS", "STREAMMESH_BOOTSTRAP_SERVERS", "bootstrap_servers"
        ),
        description="Kafka bootstrap servers, comma-separated (else STREAMMESH_BOOTSTRAP_SERVERS).",
    )
    kafka_security: KafkaSecurity = Field(
        default_factory=KafkaSecurity,
        description="How the worker signs in to Kafka, for its Faust clients, its producer and "
        "its topic creation alike: STREAMMESH_SECURITY_PROTOCOL, STREAMMESH_SASL_* (PLAINTEXT; "
        "on an authenticated mesh, marketing's user streammesh.domain.marketing).",
    )
    registry_url: str = Field(
        default="http://127.0.0.1:8081",
        validation_alias=AliasChoices(
            "STREAMMESH_CLTV_REGISTRY_URL", "STREAMMESH_REGISTRY_URL", "registry_url"
        ),
        description="Schema registry URL (else STREAMMESH_REGISTRY_URL).",
    )
    registry_user_info: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "STREAMMESH_CLTV_REGISTRY_USER_INFO",
            "STREAMMESH_REGISTRY_USER_INFO",
            "registry_user_info",
        ),
        description="Registry credentials, `user:password` (else STREAMMESH_REGISTRY_USER_INFO).",
    )
    orders_topic: str = Field(default="sales.orders.v1", description="Input: orders.")
    profiles_topic: str = Field(default="customers.profiles.v1", description="Input: profiles.")
    cltv_topic: str = Field(
        default="marketing.customer_lifetime_value.v1", description="Output: per customer."
    )
    segments_topic: str = Field(
        default="marketing.cltv_by_segment.v1", description="Output: per segment."
    )
    partitions: int = Field(
        default=6,
        ge=1,
        description="Partitions of the inputs, and so of the state table and internal topics.",
    )
    replication_factor: int = Field(
        default=1, ge=1, description="Replication of the internal topics (changelogs, partials)."
    )
    auto_register_schemas: bool = Field(
        default=False,
        description="Register the output schemas under the output topics' subjects; "
        "default: write with the latest schema the product registered.",
    )
    model_path: Path = Field(
        default=DEFAULT_MODEL_PATH, description="CLTV model file written by fit.py."
    )
    web_host: str = Field(default="127.0.0.1", description="Address the query API listens on.")
    web_port: int = Field(default=6066, ge=1, le=65535, description="Port of the query API.")
    canonical_url: str | None = Field(
        default=None,
        description="URL other workers reach this one at; default http://<web_host>:<web_port>.",
    )
    data_dir: Path = Field(default=Path(".state/cltv"), description="Faust's data directory.")
    standby_replicas: int = Field(
        default=1, ge=0, description="Standby copies of each table partition on other workers."
    )
    commit_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often consumed offsets are committed."
    )
    fetch_max_wait_ms: int = Field(
        default=100,
        ge=1,
        description="How long the broker may hold a fetch for new records: also the longest "
        "a fetch of idle partitions delays the busy ones (one fetch per broker at a time).",
    )
    flush_interval_seconds: float = Field(
        default=0.2, gt=0, description="How often changed segment partials are sent on."
    )
    resync_interval_seconds: float = Field(
        default=10.0, gt=0, description="How often every owned partial is sent again (healing)."
    )
    recovery_delay_seconds: float = Field(
        default=0.5, ge=0, description="Pause after table recovery before streams resume."
    )
    session_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long the group waits for a silent worker before moving its partitions.",
    )
    group_instance_id: str | None = Field(
        default=None, description="Static group membership id (fewer rebalances on restart)."
    )
    log_level: str = Field(default="info", description="Worker log level.")

    @property
    def url(self) -> str:
        return self.canonical_url or f"http://{self.web_host}:{self.web_port}"


@lru_cache
def get_settings() -> CltvSettings:
    return CltvSettings()
