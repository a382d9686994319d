"""Fixtures of the SDK tests: a registry per module, product copies per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from streammesh.sdk import Mesh
from streammesh.settings import MeshSettings
from tests.integration.sdk.workspace import CHAIN, Workspace, copy_products, running_registry


@pytest.fixture(scope="module")
def registry_url(bootstrap_servers: str, admin: AdminClient) -> Iterator[str]:
    with running_registry(bootstrap_servers, admin) as url:
        yield url


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return copy_products(tmp_path)


@pytest.fixture
def mesh(bootstrap_servers: str, registry_url: str) -> Iterator[Mesh]:
    with Mesh(MeshSettings(bootstrap_servers=bootstrap_servers, registry_url=registry_url)) as m:
        yield m


@pytest.fixture
def registered(workspace: Workspace, registry_url: str) -> Workspace:
    """The workspace's products in the catalog (not yet with topics)."""
    with httpx.Client(base_url=registry_url, timeout=30) as http:
        for relative in CHAIN:
            response = workspace.put(http, relative)
            assert response.status_code == 200, response.text
    return workspace
