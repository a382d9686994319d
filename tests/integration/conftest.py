"""Fixtures shared by the integration tests of the SDK and the CLI: a registry per module on the
session's Kafka, and a copy of the shipped products per test."""

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
