"""Thresholds of the governance policies, so a platform team changes them without code."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GovernanceSettings(BaseSettings):
    """Each field reads ``STREAMMESH_GOVERNANCE_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMMESH_GOVERNANCE_", frozen=True, extra="ignore"
    )

    min_sunset_days: int = Field(
        default=30,
        ge=0,
        description="How far ahead a deprecation's sunset must be when it is declared (30).",
    )
