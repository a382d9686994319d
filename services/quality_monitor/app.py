"""The quality monitor service: ``create_app(settings)`` builds it; the lifespan runs the loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CollectorRegistry

from services.quality_monitor.api import health, metrics, products
from services.quality_monitor.metrics import MonitorMetrics
from services.quality_monitor.monitor import QualityMonitor
from services.quality_monitor.settings import MonitorSettings, get_settings
from services.quality_monitor.workers import WorkerPool


def create_app(
    settings: MonitorSettings | None = None, *, registry: CollectorRegistry | None = None
) -> FastAPI:
    """The app; metrics go to `registry` (a fresh one by default, never the global one)."""
    settings = settings or get_settings()
    collector_registry = registry if registry is not None else CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.collector_registry = collector_registry
        if settings.workers > 1:
            pool = WorkerPool(settings, collector_registry)
            app.state.monitor = pool
            pool.start()
            try:
                yield
            finally:
                pool.stop()
            return
        monitor_metrics = MonitorMetrics(collector_registry)
        monitor = QualityMonitor(settings, monitor_metrics)
        monitor_metrics.watch(monitor.snapshot)
        app.state.monitor = monitor
        monitor.start()
        try:
            yield
        finally:
            monitor.stop()
            monitor_metrics.close()

    app = FastAPI(
        title="StreamMesh quality monitor",
        summary="Contract checks, dead letters and SLO metrics of every active data product",
        lifespan=lifespan,
    )
    for module in (metrics, health, products):
        app.include_router(module.router)
    if settings.cors_origins:
        # The catalog page reads /products from the browser; everything here is read-only.
        app.add_middleware(
            CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET"]
        )
    return app
