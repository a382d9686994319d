"""The cached reads are answered exactly as the app answers them, and nothing else is."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from services.registry.api import schemas as schemas_api
from services.registry.api import subjects as subjects_api
from services.registry.api.cache import RenderCache
from services.registry.api.fast import CachedReads
from services.registry.api.handlers import install_error_handlers
from services.registry.api.wire import RegistryJSONResponse, WireMiddleware
from services.registry.app import RegistryApp
from services.registry.auth import (
    Authenticator,
    AuthMiddleware,
    DomainAuthorizer,
    Role,
    User,
    hash_password,
)
from services.registry.core.registry import Registry

from .samples import USER_V1, USER_V2, run


class RouteCounter:
    """Innermost: counts the requests that reached the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


def build(registry: Registry, *, cached: bool, auth: Authenticator | None = None) -> RegistryApp:
    """The registry's read routes and middleware, as ``create_app`` assembles them."""
    cache = RenderCache()
    app = RegistryApp(default_response_class=RegistryJSONResponse)
    install_error_handlers(app)
    app.include_router(schemas_api.router)
    app.include_router(subjects_api.router)
    app.state.registry = registry
    app.state.render_cache = cache
    app.add_middleware(RouteCounter)
    authorizer = DomainAuthorizer()
    if auth is not None:
        app.add_middleware(AuthMiddleware, authenticator=auth, authorizer=authorizer)
    app.add_middleware(WireMiddleware)
    if cached:
        app.cached_reads = CachedReads(
            registry, cache, None if auth is None else (auth, authorizer)
        )
    return app


@pytest.fixture
def clients(registry: Registry) -> Iterator[tuple[TestClient, TestClient]]:
    run(registry.register("users", USER_V1))
    run(registry.register("users", USER_V2))
    run(registry.register("team/users", USER_V1))
    with (
        TestClient(build(registry, cached=False)) as plain,
        TestClient(build(registry, cached=True)) as cached,
    ):
        yield plain, cached


def routed(client: TestClient) -> list[str]:
    app = client.app
    assert isinstance(app, FastAPI)
    layer = app.middleware_stack
    if layer is None:
        return []  # built on the first request that reached the app
    while not isinstance(layer, RouteCounter):  # every layer here keeps its inner app
        layer = layer.app  # type: ignore[attr-defined,union-attr]
    return layer.paths


ANSWERED = [
    "/schemas/ids/1",
    "/schemas/ids/2",
    "/schemas/ids/01",
    "/schemas/ids/1?fetchMaxId=true",
    "/schemas/ids/1?fetchMaxId",
    "/schemas/ids/1?fetchMaxId=false&format=",
    "/schemas/ids/1?subject=users",
    "/schemas/ids/1?subject=team%2Fusers&fetchMaxId=True",
    "/subjects/users/versions/1",
    "/subjects/users/versions/latest",
    "/subjects/users/versions/-1",
    "/subjects/users/versions/2?deleted=true",
    "/subjects/team%2Fusers/versions/1",
]
PASSED_ON = [
    "/schemas/ids/99",  # errors are rendered by the one handler
    "/schemas/ids/2?subject=team%2Fusers",
    "/schemas/ids/abc",
    "/schemas/ids/-1",
    "/schemas/ids/1/subjects",
    "/schemas/ids/1/versions",
    "/schemas/ids/1/schema",
    "/schemas/ids/",
    "/subjects/users/versions/9",
    "/subjects/users/versions/nope",
    "/subjects/missing/versions/1",
    "/subjects/users/versions",
    "/subjects/users/versions/1/schema",
    "/subjects/users/versions/1/referencedby",
]


@pytest.mark.parametrize("path", ANSWERED + PASSED_ON)
@pytest.mark.parametrize("accept", [None, "application/json", "text/html"])
def test_every_answer_is_the_routes_answer(
    clients: tuple[TestClient, TestClient], path: str, accept: str | None
) -> None:
    plain, cached = clients
    headers = {"Accept": accept} if accept else {}
    for _ in range(2):  # the first read renders, the second comes from the cache
        expected = plain.get(path, headers=headers)
        answer = cached.get(path, headers=headers)
        assert (answer.status_code, answer.content) == (expected.status_code, expected.content)
        assert answer.headers["content-type"] == expected.headers["content-type"]
        assert answer.headers["content-length"] == expected.headers["content-length"]


def test_cached_reads_skip_the_routes_and_the_rest_reach_them(
    clients: tuple[TestClient, TestClient],
) -> None:
    _, cached = clients
    for path in ANSWERED:
        assert cached.get(path).status_code == 200
    assert routed(cached) == []
    for path in PASSED_ON:
        cached.get(path)
    assert len(routed(cached)) == len(PASSED_ON)
    cached.head("/schemas/ids/1")  # only GET is answered early
    assert len(routed(cached)) == len(PASSED_ON) + 1


def test_a_write_is_read_back_once_the_cache_is_cleared(
    registry: Registry, clients: tuple[TestClient, TestClient]
) -> None:
    _, cached = clients
    app = cached.app
    assert isinstance(app, FastAPI)
    assert cached.get("/subjects/users/versions/latest").json()["version"] == 2
    assert cached.get("/schemas/ids/1?fetchMaxId=true").json()["maxId"] == 2
    third = json.loads(USER_V2)
    third["fields"].append({"name": "extra", "type": "string", "default": ""})
    run(registry.register("users", json.dumps(third)))
    app.state.render_cache.clear()  # what applying the log does
    assert cached.get("/subjects/users/versions/latest").json()["version"] == 3
    assert cached.get("/schemas/ids/1?fetchMaxId=true").json()["maxId"] == 3


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("sales", "secret"),
        basic("sales", "wrong"),
        basic("nobody", "secret"),
        {"Authorization": "Bearer x"},
        {**basic("sales", "secret"), "Accept": "application/vnd.schemaregistry+json"},
        {**basic("sales", "secret"), "Accept": "text/html"},
    ],
)
def test_authentication_is_the_apps(registry: Registry, headers: dict[str, str]) -> None:
    run(registry.register("users", USER_V1))
    user = User(password=hash_password("secret", iterations=1000), role=Role.READER)
    authenticator = Authenticator({"sales": user})
    with (
        TestClient(build(registry, cached=False, auth=authenticator)) as plain,
        TestClient(build(registry, cached=True, auth=authenticator)) as cached,
    ):
        for path in ("/schemas/ids/1", "/subjects/users/versions/latest", "/schemas/ids/7"):
            expected = plain.get(path, headers=headers)
            answer = cached.get(path, headers=headers)
            assert (answer.status_code, answer.content) == (expected.status_code, expected.content)
            assert answer.headers.get("www-authenticate") == expected.headers.get(
                "www-authenticate"
            )
            assert answer.headers["content-type"] == expected.headers["content-type"]
        # Refusals come from the app's own middleware, before the routes; the two cached
        # reads are answered early only when the app would have answered them with 200.
        allowed = headers.get("Authorization") == basic("sales", "secret")["Authorization"]
        allowed &= headers.get("Accept") != "text/html"
        assert routed(cached) == (["/schemas/ids/7"] if allowed else [])
