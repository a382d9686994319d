"""The catalog page and its static files are served from package data with the right types,
nothing outside the shipped set is served, and /ui/config tells the page where the monitor is.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.registry.api import ui
from services.registry.api.handlers import install_error_handlers
from services.registry.api.wire import WireMiddleware
from services.registry.settings import RegistrySettings


def build_app(monitor_url: str | None = None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(ui.router)
    app.add_middleware(WireMiddleware)  # as in the registry: browsers' Accept must pass it
    app.state.settings = RegistrySettings(monitor_url=monitor_url)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_app()) as test_client:
        yield test_client


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("path", ["/ui", "/ui/"])
def test_the_page_is_html_linking_only_its_own_files(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    page = response.text
    assert '<script type="module" src="/ui/static/catalog.js">' in page
    assert '<link rel="stylesheet" href="/ui/static/catalog.css">' in page
    assert "http://" not in page
    assert "https://" not in page  # no CDN: the page works offline


@pytest.mark.parametrize(
    ("name", "media_type", "accept"),
    [
        ("catalog.js", "text/javascript; charset=utf-8", "*/*"),
        ("catalog.css", "text/css; charset=utf-8", "text/css,*/*;q=0.1"),
        ("index.html", "text/html; charset=utf-8", BROWSER_ACCEPT),
    ],
)
def test_static_files_have_their_content_types(
    client: TestClient, name: str, media_type: str, accept: str
) -> None:
    response = client.get(f"/ui/static/{name}", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(response.content) > 100


def test_the_script_fetches_only_with_credentials_and_renders_text(client: TestClient) -> None:
    script = client.get("/ui/static/catalog.js").text
    assert 'credentials: "include"' in script
    assert "innerHTML" not in script  # catalog data is never parsed as markup
    assert "import " not in script  # one self-contained module, nothing fetched from elsewhere


@pytest.mark.parametrize(
    "path", ["/ui/static/missing.js", "/ui/static/..%2F..%2Fapi%2Fui.py", "/ui/static/__init__.py"]
)
def test_nothing_outside_the_shipped_files_is_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"error_code": 404, "message": "HTTP 404 Not Found"}


def test_config_has_no_monitor_by_default(client: TestClient) -> None:
    response = client.get("/ui/config", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"monitorUrl": None}


def test_config_names_the_monitor_the_registry_is_configured_with() -> None:
    with TestClient(build_app(monitor_url="http://127.0.0.1:8090")) as client:
        assert client.get("/ui/config").json() == {"monitorUrl": "http://127.0.0.1:8090"}
