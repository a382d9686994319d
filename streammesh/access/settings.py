"""Typed settings of access management (env prefix ``STREAMMESH_ACCESS_``)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streammesh.access.acls import MONITOR_GROUP, REGISTRY_TOPIC, Platform


class AccessSettings(BaseSettings):
    """Each field reads ``STREAMMESH_ACCESS_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="STREAMMESH_ACCESS_", frozen=True, extra="ignore")

    secrets_dir: Path = Field(
        default=Path(".streammesh/secrets"),
        description="Where `access apply` and `rotate` keep each SCRAM user's password, "
        "`<user>.password`, mode 0600 (.streammesh/secrets).",
    )
    registry_topic: str = Field(
        default=REGISTRY_TOPIC,
        description="The registry's log, as STREAMMESH_REGISTRY_TOPIC (_streammesh.schemas).",
    )
    monitor_group: str = Field(
        default=MONITOR_GROUP,
        description="The monitor's group, as STREAMMESH_MONITOR_GROUP_ID "
        "(_streammesh.quality-monitor).",
    )

    def platform(self) -> Platform:
        return Platform(registry_topic=self.registry_topic, monitor_group=self.monitor_group)
