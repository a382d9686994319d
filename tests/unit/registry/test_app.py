"""``create_app`` opens nothing: the users file, the log and every client are the lifespan's."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.registry.app import RegistryApp, create_app
from services.registry.settings import RegistrySettings


def test_building_the_app_reads_and_connects_to_nothing(tmp_path: Path) -> None:
    users = tmp_path / "users.yaml"  # not there yet: only the lifespan reads it
    settings = RegistrySettings(
        bootstrap_servers="127.0.0.1:1", auth_file=users, primary_url="http://127.0.0.1:1"
    )
    app = create_app(settings)
    assert isinstance(app, RegistryApp)
    assert app.early is None
    for opened in ("kafka_log", "registry", "forwarder", "auth", "catalog"):
        assert not hasattr(app.state, opened), opened
    with pytest.raises(ValueError, match=r"users\.yaml"), TestClient(app):
        pass  # the lifespan reads the users first, before any Kafka client exists
    assert app.early is None
