"""Fixtures of the SDK tests: a `Mesh` on the module's registry, products registered (the
registry and the product copies are `tests/integration/conftest.py`'s)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from streammesh.sdk import Mesh
from streammesh.settings import MeshSettings
from tests.integration.sdk.workspace import CHAIN, Workspace


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
