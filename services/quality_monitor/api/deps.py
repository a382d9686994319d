"""Dependencies of the routes, as ``Annotated`` aliases; tests swap them with overrides."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry

from services.quality_monitor.monitor import MonitorView


async def get_monitor(request: Request) -> MonitorView:
    monitor: MonitorView = request.app.state.monitor
    return monitor


async def get_collector_registry(request: Request) -> CollectorRegistry:
    registry: CollectorRegistry = request.app.state.collector_registry
    return registry


MonitorDep = Annotated[MonitorView, Depends(get_monitor)]
CollectorRegistryDep = Annotated[CollectorRegistry, Depends(get_collector_registry)]
