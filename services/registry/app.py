"""The registry service: ``create_app(settings)`` builds it; the lifespan owns every resource."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from services.registry.api import compatibility as compatibility_api
from services.registry.api import config as config_api
from services.registry.api import products as products_api
from services.registry.api import root as root_api
from services.registry.api import schemas as schemas_api
from services.registry.api import subjects as subjects_api
from services.registry.api import ui as ui_api
from services.registry.api.auth import (
    Authenticator,
    AuthMiddleware,
    DomainAuthorizer,
    load_users,
)
from services.registry.api.cache import RenderCache
from services.registry.api.early import EarlyAnswers
from services.registry.api.forward import Forwarder, LeaderMiddleware
from services.registry.api.handlers import install_error_handlers
from services.registry.api.limits import BodyLimit
from services.registry.api.openapi import install_openapi
from services.registry.api.wire import RegistryJSONResponse, WireMiddleware
from services.registry.catalog.groups import KafkaConsumerGroups
from services.registry.catalog.records import PRODUCT
from services.registry.catalog.service import Catalog
from services.registry.catalog.state import CatalogState
from services.registry.core.records import Record, UnknownRecord, decode, encode
from services.registry.core.registry import Registry
from services.registry.core.state import RegistryState
from services.registry.election import LEADER, Election, Leadership
from services.registry.errors import ConfigurationError
from services.registry.settings import RegistrySettings, get_settings
from services.registry.storage import Apply, Entry, KafkaLog

log = logging.getLogger(__name__)


class KafkaLogWriter:
    """The core's ``LogWriter`` on the Kafka log, for the leader.

    Writes validate against a state of their own: the log's state plus the writes in flight,
    so writes that arrive together validate in order and share one transaction. It is rebuilt
    from the log's state whenever the log's generation changes (this instance became the
    writer, or a write failed and so what was validated may not be what was written).
    """

    def __init__(self, kafka_log: KafkaLog, state: RegistryState) -> None:
        self.kafka_log = kafka_log
        self.state = state
        self._writable = state
        self._generation: int | None = None

    async def writable_state(self) -> RegistryState:
        if self._generation != self.kafka_log.generation:
            await self.kafka_log.settled()
            self._writable = self.state.copy()
            self._generation = self.kafka_log.generation
        return self._writable

    def submit(self, records: Sequence[Record]) -> Awaitable[None]:
        entries = [encode(record) for record in records]
        done = self.kafka_log.submit(entries, self._generation)
        for key, value in entries:  # as the log's state will apply them
            record = decode(key, value)
            if record is not None:
                self._writable.apply(record)
        return done


class Gate(Protocol):
    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """Answer the request in full, or hand it to ``app``."""


class RegistryApp(FastAPI):
    """FastAPI, with the hottest requests answered ahead of its middleware (``api/early.py``)."""

    early: Gate | None = None
    body_limit: BodyLimit | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.body_limit is None:
            await self._serve(scope, receive, send)
        else:  # before anything reads a body
            await self.body_limit(scope, receive, send, self._serve)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.early is None:
            await super().__call__(scope, receive, send)
        else:
            await self.early(scope, receive, send, super().__call__)


def applier(
    state: RegistryState, catalog: CatalogState, leadership: Leadership, cache: RenderCache
) -> Apply:
    def apply(entries: Sequence[Entry]) -> None:
        for key, value in entries:
            record = decode(key, value)
            if isinstance(record, UnknownRecord) and record.keytype == PRODUCT:
                catalog.apply(key, value)
            elif isinstance(record, UnknownRecord) and record.keytype == LEADER:
                leadership.apply(value)
            elif record is not None:
                state.apply(record)
        cache.clear()

    return apply


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    """The registry's routes and middleware; nothing is opened until the lifespan runs."""
    settings = settings or get_settings()
    if settings.auth_enabled and settings.auth_file is None:
        raise ConfigurationError(
            "Authentication is on by default: set STREAMMESH_REGISTRY_AUTH_FILE to a users "
            "file (`streammesh registry add-user FILE NAME ...`), or switch it off "
            "explicitly with STREAMMESH_REGISTRY_AUTH_ENABLED=false"
        )

    @asynccontextmanager
    async def lifespan(app: RegistryApp) -> AsyncIterator[None]:
        async with open_registry(settings, app):
            yield

    app = RegistryApp(
        title="StreamMesh registry",
        summary="Confluent-compatible schema registry and data-product catalog",
        lifespan=lifespan,
        default_response_class=RegistryJSONResponse,
    )
    app.body_limit = BodyLimit(settings.max_body_bytes)
    install_error_handlers(app)
    install_openapi(app, auth=settings.auth_enabled)
    for module in (
        root_api,
        schemas_api,
        subjects_api,
        compatibility_api,
        config_api,
        products_api,
        ui_api,
    ):
        app.include_router(module.router)
    app.add_middleware(LeaderMiddleware)
    if settings.auth_enabled:
        # Inside the wire (errors are negotiated), outside forwarding (followers check first).
        app.add_middleware(AuthMiddleware)
    else:
        log.warning("registry authentication is OFF (STREAMMESH_REGISTRY_AUTH_ENABLED=false)")
    app.add_middleware(WireMiddleware)  # outermost: routing on the raw path, negotiation
    return app


@asynccontextmanager
async def open_registry(settings: RegistrySettings, app: RegistryApp) -> AsyncIterator[None]:
    """Open every resource of the registry onto ``app.state``, replay the log, close them after.

    Returns (and so lets uvicorn serve) only once the state has caught up with the log.
    """
    auth: tuple[Authenticator, DomainAuthorizer] | None = None
    if settings.auth_enabled:
        assert settings.auth_file is not None  # create_app refused the settings otherwise
        auth = (Authenticator(load_users(settings.auth_file)), DomainAuthorizer())
    state = RegistryState()
    catalog_state = CatalogState()
    render_cache = RenderCache(settings.render_cache_max_bytes)
    own_url = settings.own_url()
    kafka_log: KafkaLog
    leadership = Leadership(own_url, lambda: kafka_log.is_writer, settings.primary_url)
    kafka_log = KafkaLog(
        settings.bootstrap_servers,
        settings.topic,
        applier(state, catalog_state, leadership, render_cache),
        write_timeout=settings.write_timeout_seconds,
        init_timeout=settings.init_timeout_seconds,
        security=settings.kafka_security,
    )
    registry = Registry(state, KafkaLogWriter(kafka_log, state))
    election: Election | None = None
    forwarding = httpx.AsyncClient(timeout=settings.write_timeout_seconds)
    try:
        app.state.settings = settings
        app.state.auth = auth
        app.state.kafka_log = kafka_log
        app.state.render_cache = render_cache
        # A write waits for an election to end (a session timeout, twice over) before 50004.
        leader_wait = max(
            settings.write_timeout_seconds, settings.election_session_timeout_ms / 500
        )
        app.state.forwarder = Forwarder(
            leadership, forwarding, kafka_log.wait_for_position, timeout=leader_wait
        )
        app.state.registry = registry
        groups = KafkaConsumerGroups(settings.bootstrap_servers, security=settings.kafka_security)
        app.state.catalog = Catalog(catalog_state, registry, kafka_log, groups)
        await kafka_log.start()
        log.info("registry caught up with %s at offset %d", settings.topic, kafka_log.position)
        if settings.primary_url is None and settings.leader_eligible:
            election = Election(
                kafka_log,
                leadership,
                session_timeout_ms=settings.election_session_timeout_ms,
                join_timeout=settings.init_timeout_seconds,
            )
            await election.start()
        app.early = EarlyAnswers(registry, render_cache, auth, lambda: kafka_log.position)
        yield
    finally:
        app.early = None
        if election is not None:
            await election.stop()
        await kafka_log.stop()
        await forwarding.aclose()
        # The catalog's admin client has no close(): dropped here, it goes now, not with the app.
        app.state.catalog = None
