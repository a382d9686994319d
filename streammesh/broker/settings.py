"""Typed settings of the local broker (env prefix ``STREAMMESH_BROKER_``)."""

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streammesh.access.principals import ADMIN_USER
from streammesh.broker.security import BrokerSecurity


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "streammesh"


class BrokerSettings(BaseSettings):
    """Each field reads ``STREAMMESH_BROKER_<FIELD>``; a port of 0 takes a free one from the OS."""

    model_config = SettingsConfigDict(env_prefix="STREAMMESH_BROKER_", frozen=True, extra="ignore")

    kafka_version: str = Field(default="4.1.1", description="Apache Kafka release to run.")
    log4j_version: str = Field(default="2.24.3", description="log4j2 backend matching Kafka's.")
    host: str = Field(default="127.0.0.1", description="Address the listeners bind to.")
    port: int = Field(default=9092, ge=0, le=65535, description="Client port.")
    controller_port: int = Field(default=9093, ge=0, le=65535, description="KRaft controller port.")
    state_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_STATE_HOME", ".local/state") / "broker",
        description="Data, logs, pid file; default ~/.local/state/streammesh/broker.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache") / "kafka",
        description="Resolved jars, one folder per version; default ~/.cache/streammesh/kafka.",
    )
    heap: str = Field(default="512m", pattern=r"^\d+[kmgKMG]$", description="JVM -Xmx.")
    java: str = Field(default="java", description="Java 17+ executable.")
    maven: str = Field(default="mvn", description="Maven executable used to resolve the jars.")
    start_timeout_seconds: float = Field(default=90.0, gt=0)
    stop_timeout_seconds: float = Field(default=30.0, gt=0)
    security: BrokerSecurity = Field(
        default=BrokerSecurity.PLAINTEXT,
        description="The client listener: plaintext (no authentication, no ACLs; the default "
        "for now), sasl_plaintext or sasl_ssl (SCRAM-SHA-512, StandardAuthorizer, nothing "
        "allowed without an ACL). Chosen when the state folder is first formatted.",
    )
    admin_user: str = Field(
        default=ADMIN_USER,
        description="The super user of a SASL broker, made at format time (streammesh.admin).",
    )
    auto_create_topics: bool = Field(
        default=False, description="Products are created explicitly; auto-creation hides typos."
    )
