"""``GET /``, contexts, schema types and the health/readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.registry.api.deps import ForwarderDep, KafkaLogDep, Page, RegistryDep

router = APIRouter()


@router.get("/")
async def root() -> dict[str, object]:
    return {}


@router.get("/contexts")
async def contexts(registry: RegistryDep, paging: Page) -> list[str]:
    return paging(registry.contexts())


@router.get("/schemas/types")
async def schema_types(registry: RegistryDep) -> list[str]:
    return registry.schema_types()


@router.get("/health")
async def health(
    kafka_log: KafkaLogDep, forwarder: ForwarderDep, response: Response
) -> dict[str, object]:
    """Ready means the state has caught up with the log (503 until then); says who leads."""
    ready = kafka_log.caught_up
    if not ready:
        response.status_code = 503
    leadership = forwarder.leadership
    return {
        "status": "UP" if ready else "STARTING",
        "log_position": kafka_log.position,
        "leader": leadership.is_leader,
        "leader_url": leadership.own_url if leadership.is_leader else leadership.leader_url,
    }
