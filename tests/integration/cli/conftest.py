"""Fixtures of the CLI tests: a registry per module, the environment the commands read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from tests.integration.sdk.workspace import Workspace, copy_products, running_registry


@pytest.fixture(scope="module")
def registry_url(bootstrap_servers: str, admin: AdminClient) -> Iterator[str]:
    with running_registry(bootstrap_servers, admin) as url:
        yield url


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return copy_products(tmp_path)


@pytest.fixture(autouse=True)
def mesh_env(monkeypatch: pytest.MonkeyPatch, bootstrap_servers: str, registry_url: str) -> None:
    """The commands find the broker and registry as a script would: by environment."""
    monkeypatch.setenv("STREAMMESH_BOOTSTRAP_SERVERS", bootstrap_servers)
    monkeypatch.setenv("STREAMMESH_REGISTRY_URL", registry_url)
    monkeypatch.delenv("STREAMMESH_REGISTRY_USER_INFO", raising=False)
