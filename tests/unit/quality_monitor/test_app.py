"""The app is built without side effects; CORS is off unless origins are configured."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from services.quality_monitor.app import create_app
from services.quality_monitor.settings import MonitorSettings


def preflight(client: TestClient) -> dict[str, str]:
    response = client.options(
        "/products",
        headers={"Origin": "http://catalog.example", "Access-Control-Request-Method": "GET"},
    )
    return dict(response.headers)


def test_no_cors_by_default_and_nothing_registered_before_the_lifespan() -> None:
    registry = CollectorRegistry()
    app = create_app(MonitorSettings(), registry=registry)
    assert list(registry.collect()) == []  # metrics exist only while the service runs
    assert "access-control-allow-origin" not in preflight(TestClient(app))


def test_configured_origins_may_read() -> None:
    app = create_app(MonitorSettings(cors_origins=("http://catalog.example",)))
    headers = preflight(TestClient(app))
    assert headers["access-control-allow-origin"] == "http://catalog.example"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMMESH_MONITOR_REGISTRY_USERNAME", "sales")
    monkeypatch.setenv("STREAMMESH_MONITOR_REGISTRY_PASSWORD", "s3cret")
    monkeypatch.setenv("STREAMMESH_BOOTSTRAP_SERVERS", "kafka:9092")
    settings = MonitorSettings()
    assert settings.bootstrap_servers == "kafka:9092"
    assert "s3cret" not in repr(settings)
    assert settings.registry_client_config()["basic.auth.user.info"] == "sales:s3cret"
