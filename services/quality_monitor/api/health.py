"""``GET /health``: 200 once caught up with every assigned partition, else 503.

``GET /health/live``: 200 while the consuming loop runs (for a liveness probe).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.quality_monitor.api.deps import MonitorDep

router = APIRouter(prefix="/health", tags=["health"])


class Health(BaseModel):
    status: str
    ready: bool
    alive: bool
    products: int


@router.get("", response_model=Health)
async def ready(monitor: MonitorDep) -> JSONResponse:
    is_ready = monitor.ready
    body = Health(
        status="ready" if is_ready else "catching up",
        ready=is_ready,
        alive=monitor.alive,
        products=len(monitor.statuses()),
    )
    return JSONResponse(body.model_dump(), status_code=200 if is_ready else 503)


@router.get("/live", response_model=Health)
async def live(monitor: MonitorDep) -> JSONResponse:
    alive = monitor.alive
    body = Health(
        status="alive" if alive else "stopped",
        ready=monitor.ready,
        alive=alive,
        products=len(monitor.statuses()),
    )
    return JSONResponse(body.model_dump(), status_code=200 if alive else 503)
