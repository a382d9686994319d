"""Settings every StreamMesh client shares: where the mesh's Kafka and registry are, and how it
signs in to Kafka (`streammesh.security`)."""

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from streammesh.security import ClientConfig, KafkaSecurity, kafka_client_config

#: Where the local broker (`streammesh broker start`) listens by default.
LOCAL_BOOTSTRAP_SERVERS = "127.0.0.1:9092"
#: Where `streammesh registry serve` listens by default.
LOCAL_REGISTRY_URL = "http://127.0.0.1:8081"


class MeshSettings(BaseSettings):
    """Where a client finds the mesh. Each field reads ``STREAMMESH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="STREAMMESH_", frozen=True, extra="ignore")

    bootstrap_servers: str | None = Field(
        default=None,
        description="Kafka bootstrap servers of an existing cluster "
        "(STREAMMESH_BOOTSTRAP_SERVERS). Unset: use the local broker on 127.0.0.1:9092.",
    )
    registry_url: str = Field(
        default=LOCAL_REGISTRY_URL,
        description="Base URL of the schema registry and catalog (STREAMMESH_REGISTRY_URL); "
        "default http://127.0.0.1:8081.",
    )
    registry_user_info: SecretStr | None = Field(
        default=None,
        description="HTTP Basic credentials for the registry, `user:password` "
        "(STREAMMESH_REGISTRY_USER_INFO). Unset: anonymous.",
    )

    kafka_security: KafkaSecurity = Field(
        default_factory=KafkaSecurity,
        description="How clients sign in to Kafka: STREAMMESH_SECURITY_PROTOCOL, "
        "STREAMMESH_SASL_* (see streammesh.security).",
    )

    @property
    def kafka_bootstrap_servers(self) -> str:
        """The bootstrap servers to use: the configured cluster or the local broker."""
        return self.bootstrap_servers or LOCAL_BOOTSTRAP_SERVERS

    def kafka_config(self) -> ClientConfig:
        """confluent-kafka's settings to reach the mesh's Kafka, credentials included."""
        return kafka_client_config(self.kafka_bootstrap_servers, self.kafka_security)

    @property
    def registry_configured(self) -> bool:
        """Whether the registry URL was given (env or argument) rather than defaulted."""
        return "registry_url" in self.model_fields_set


def registry_client_config(url: str, user_info: SecretStr | None = None) -> dict[str, str]:
    """confluent-kafka's ``SchemaRegistryClient`` config for ``url``, with the credentials
    given, else those of ``STREAMMESH_REGISTRY_USER_INFO`` when set."""
    secret = user_info if user_info is not None else MeshSettings().registry_user_info
    config = {"url": url}
    if secret is not None:
        config["basic.auth.user.info"] = secret.get_secret_value()
    return config


def registry_http_auth(user_info: SecretStr | None = None) -> tuple[str, str] | None:
    """The same credentials as an httpx ``auth`` tuple (None: anonymous)."""
    secret = user_info if user_info is not None else MeshSettings().registry_user_info
    if secret is None:
        return None
    user, _, password = secret.get_secret_value().partition(":")
    return user, password


@lru_cache
def get_mesh_settings() -> MeshSettings:
    return MeshSettings()
