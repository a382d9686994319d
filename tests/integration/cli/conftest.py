"""Fixtures of the CLI tests: the environment the commands read (the registry and the product
copies are `tests/integration/conftest.py`'s)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def mesh_env(monkeypatch: pytest.MonkeyPatch, bootstrap_servers: str, registry_url: str) -> None:
    """The commands find the broker and registry as a script would: by environment."""
    monkeypatch.setenv("STREAMMESH_BOOTSTRAP_SERVERS", bootstrap_servers)
    monkeypatch.setenv("STREAMMESH_REGISTRY_URL", registry_url)
    monkeypatch.delenv("STREAMMESH_REGISTRY_USER_INFO", raising=False)
