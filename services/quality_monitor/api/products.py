"""``GET /products``: the products the monitor watches and each one's live status."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.quality_monitor.api.deps import MonitorDep

router = APIRouter(prefix="/products", tags=["products"])


class WatchedProductPublic(BaseModel):
    """One product as this instance sees it (partitions assigned to others are not counted)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    ref: str
    topic: str
    subject: str
    dlq_topic: str = Field(alias="dlqTopic")
    value_version: int = Field(alias="valueVersion")
    subscribed: bool
    available: bool | None
    checked: int
    failed: int
    freshness_seconds: float | None = Field(alias="freshnessSeconds")
    lag_records: int | None = Field(alias="lagRecords")


@router.get("")
async def products(monitor: MonitorDep) -> list[WatchedProductPublic]:
    return [
        WatchedProductPublic(
            ref=s.ref,
            topic=s.topic,
            subject=s.subject,
            dlq_topic=s.dlq_topic,
            value_version=s.value_version,
            subscribed=s.subscribed,
            available=s.available,
            checked=s.checked,
            failed=s.failed,
            freshness_seconds=s.freshness_seconds,
            lag_records=s.lag_records,
        )
        for s in monitor.statuses()
    ]
