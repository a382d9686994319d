"""The catalog page and its static files are served from package data with the right types,
nothing outside the shipped set is served, and /ui/config tells the page where the monitor is.
Every /ui response carries a Content-Security-Policy that lets script and style come only from
the registry itself, and the page has nothing inline that the policy would block.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

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


UI_PATHS = ["/ui", "/ui/", *(f"/ui/static/{name}" for name in ui.STATIC), "/ui/config"]


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        assert name not in parsed, f"{name} is given twice"
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", UI_PATHS)
def test_every_ui_response_carries_the_content_security_policy(
    client: TestClient, path: str
) -> None:
    response = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = directives(response.headers["content-security-policy"])
    assert policy == {
        "default-src": ["'self'"],  # script-src and style-src fall back to it: no inline code
        "connect-src": ["'self'", "http:", "https:"],  # the monitor may live elsewhere
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


def test_the_configured_monitor_answer_carries_the_policy_too() -> None:
    with TestClient(build_app(monitor_url="http://127.0.0.1:8090")) as client:
        response = client.get("/ui/config")
    assert response.headers["content-security-policy"] == ui.CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"


class InlineCode(HTMLParser):
    """Collects what a `default-src 'self'` policy would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in dict(attrs):
            self.found.append("inline <script>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"{name}={value} on <{tag}>")


def test_the_page_has_no_inline_script_or_style(client: TestClient) -> None:
    parser = InlineCode()
    parser.feed(client.get("/ui").text)
    assert parser.found == []
