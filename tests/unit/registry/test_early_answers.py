"""The requests answered ahead of FastAPI are answered exactly as the app answers them, and
every other request still reaches the app, body and all."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from services.registry.api import schemas as schemas_api
from services.registry.api import subjects as subjects_api
from services.registry.api.auth import (
    Authenticator,
    AuthMiddleware,
    DomainAuthorizer,
    Role,
    User,
    hash_password,
)
from services.registry.api.cache import RenderCache
from services.registry.api.early import EarlyAnswers
from services.registry.api.forward import POSITION_HEADER, LeaderMiddleware
from services.registry.api.handlers import install_error_handlers
from services.registry.api.wire import RegistryJSONResponse, WireMiddleware
from services.registry.app import RegistryApp
from services.registry.core.registry import Registry

from .samples import USER_V1, USER_V2, in_memory_catalog, run

LOG_POSITION = 42


class RouteCounter:
    """Innermost: counts the requests that reached the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class LogAt:
    """The registry's log as the leader's middleware reads it: its position."""

    position: int


@dataclass(frozen=True)
class Leading:
    """The forwarder of an instance that leads: it forwards nothing."""

    forwarding: bool = False

    async def settle(self) -> None:
        """The leader is known: this instance."""


def build(registry: Registry, *, cached: bool, auth: Authenticator | None = None) -> RegistryApp:
    """The registry's schema and subject routes and middleware, as ``create_app`` assembles them."""
    cache = RenderCache(1 << 20)
    app = RegistryApp(default_response_class=RegistryJSONResponse)
    install_error_handlers(app)
    app.include_router(schemas_api.router)
    app.include_router(subjects_api.router)
    app.state.registry = registry
    app.state.catalog = in_memory_catalog(registry)  # its governance takes the writes
    app.state.render_cache = cache
    app.state.forwarder = Leading()
    app.state.kafka_log = LogAt(LOG_POSITION)
    gate = None if auth is None else (auth, DomainAuthorizer())
    app.state.auth = gate
    app.add_middleware(RouteCounter)
    app.add_middleware(LeaderMiddleware)
    if gate is not None:
        app.add_middleware(AuthMiddleware)
    app.add_middleware(WireMiddleware)
    if cached:
        app.early = EarlyAnswers(registry, cache, gate, lambda: LOG_POSITION)
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


def test_early_answers_skip_the_routes_and_the_rest_reach_them(
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


USER_V3 = json.dumps(
    {
        **json.loads(USER_V2),
        "fields": [{"name": "name", "type": "string"}, {"name": "x", "type": "int"}],
    }
)
POSTS: list[tuple[str, object, dict[str, str]]] = [
    # (path, body, extra headers); answered early when the app would answer 200
    ("/subjects/users", {"schema": USER_V1}, {}),
    ("/subjects/users", {"schema": USER_V2, "unknown": 1}, {}),
    ("/subjects/users?normalize=true", {"schema": USER_V1}, {}),
    ("/subjects/team%2Fusers", {"schema": USER_V1}, {}),
    ("/subjects/users/versions", {"schema": USER_V1}, {}),
    ("/subjects/users/versions", {"schema": USER_V2, "schemaType": "AVRO"}, {}),
    ("/subjects/team%2Fusers/versions?normalize=true", {"schema": USER_V1}, {}),
    ("/subjects/users", {"schema": USER_V1}, {"Content-Type": "application/json"}),
    # and these reach the app
    ("/subjects/users", {"schema": USER_V3}, {}),  # 40403
    ("/subjects/missing", {"schema": USER_V1}, {}),  # 40401
    ("/subjects/users", {"schema": "{not avro"}, {}),  # 42201
    ("/subjects/users", {"nothing": 1}, {}),  # 422
    ("/subjects/users", "not json at all", {}),  # 400
    ("/subjects/users", {"schema": USER_V1}, {"Content-Type": "text/plain"}),
    ("/subjects/users/versions", {"schema": USER_V3}, {}),  # 409: incompatible
    ("/subjects/users/versions", {"schema": USER_V1, "id": 1}, {}),  # 42205: not IMPORT
    ("/subjects/users/versions", {"schema": USER_V1, "schemaType": "JSON"}, {}),  # 42201
    ("/subjects/users/versions/", {"schema": USER_V1}, {}),
]


def post(
    client: TestClient, path: str, body: object, headers: dict[str, str]
) -> tuple[int, bytes, dict[str, str]]:
    content = body if isinstance(body, str) else json.dumps(body)
    sent = {"Content-Type": "application/vnd.schemaregistry.v1+json", **headers}
    answer = client.post(path, content=content, headers=sent)
    return answer.status_code, answer.content, dict(answer.headers)


@pytest.mark.parametrize(("path", "body", "headers"), POSTS)
def test_every_post_answer_is_the_apps(
    clients: tuple[TestClient, TestClient], path: str, body: object, headers: dict[str, str]
) -> None:
    plain, cached = clients
    status, content, sent_headers = post(plain, path, body, headers)
    assert post(cached, path, body, headers)[:2] == (status, content)
    answer_headers = post(cached, path, body, headers)[2]  # the second time, answered early too
    for header in ("content-type", "content-length", POSITION_HEADER):
        assert answer_headers.get(header) == sent_headers.get(header), header
    early = status == 200 and not path.endswith("/")
    assert routed(cached) == ([] if early else [path.split("?", 1)[0]] * 2)


def test_a_large_body_reaches_the_app_whole(clients: tuple[TestClient, TestClient]) -> None:
    plain, cached = clients
    padding = {"doc": "x" * (2 << 20)}
    big = json.dumps({**json.loads(USER_V1), **padding})
    expected = post(plain, "/subjects/users", {"schema": big}, {})
    assert expected[0] == 404  # the padded schema is another schema: 40403
    assert post(cached, "/subjects/users", {"schema": big}, {})[:2] == expected[:2]
    assert routed(cached) == ["/subjects/users"]


def test_cached_post_answers_follow_the_log(
    registry: Registry, clients: tuple[TestClient, TestClient]
) -> None:
    plain, cached = clients
    app = cached.app
    assert isinstance(app, FastAPI)
    no_headers: dict[str, str] = {}
    lookup = ("/subjects/users", {"schema": USER_V2}, no_headers)
    again = ("/subjects/users/versions", {"schema": USER_V2}, no_headers)
    assert post(cached, *lookup)[0] == post(cached, *again)[0] == 200
    run(registry.delete_version("users", 2))  # soft: the lookup no longer finds it
    app.state.render_cache.clear()  # what applying the log does
    assert post(cached, *lookup)[:2] == post(plain, *lookup)[:2]
    assert post(cached, *lookup)[0] == 404
    # Registering it again now writes a new version: the app does it, not this layer.
    before = len(routed(cached))
    assert post(cached, *again)[:2] == (200, b'{"id":2}')
    assert len(routed(cached)) == before + 1
    assert registry.list_versions("users") == [1, 3]
