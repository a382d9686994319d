"""Settings every StreamMesh client shares: where the mesh's Kafka and registry are."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MeshSettings(BaseSettings):
    """Where a client finds the mesh. Each field reads ``STREAMMESH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="STREAMMESH_", frozen=True, extra="ignore")

    bootstrap_servers: str | None = Field(
        default=None,
        description="Kafka bootstrap servers of an existing cluster "
        "(STREAMMESH_BOOTSTRAP_SERVERS). Unset: use the local broker.",
    )


@lru_cache
def get_mesh_settings() -> MeshSettings:
    return MeshSettings()
