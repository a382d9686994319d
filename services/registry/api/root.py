"""``GET /``, contexts, schema types and the health/readiness probes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel

from services.registry.api.deps import ForwarderDep, KafkaLogDep, Page, RegistryDep

router = APIRouter()


class Health(BaseModel):
    status: Literal["UP", "STARTING"]
    log_position: int
    leader: bool
    leader_url: str | None  # this instance's when it leads; None while none is known


@router.get("/")
async def root() -> dict[str, object]:
    return {}


@router.get("/contexts")
async def contexts(registry: RegistryDep, paging: Page) -> list[str]:
    return paging(registry.contexts())


@router.get("/schemas/types")
async def schema_types(registry: RegistryDep) -> list[str]:
    return registry.schema_types()


@router.get("/health", responses={503: {"model": Health, "description": "Still replaying the log"}})
async def health(kafka_log: KafkaLogDep, forwarder: ForwarderDep, response: Response) -> Health:
    """Ready means the state has caught up with the log (503 until then); says who leads."""
    ready = kafka_log.caught_up
    if not ready:
        response.status_code = 503
    leadership = forwarder.leadership
    return Health(
        status="UP" if ready else "STARTING",
        log_position=kafka_log.position,
        leader=leadership.is_leader,
        leader_url=leadership.own_url if leadership.is_leader else leadership.leader_url,
    )
