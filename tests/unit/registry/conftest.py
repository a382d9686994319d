"""Fixtures: a registry over an in-memory log that applies each record at once."""

import pytest

from services.registry.core.mutations import InMemoryLogWriter
from services.registry.core.registry import Registry
from services.registry.core.state import RegistryState


@pytest.fixture
def writer() -> InMemoryLogWriter:
    return InMemoryLogWriter(RegistryState())


@pytest.fixture
def registry(writer: InMemoryLogWriter) -> Registry:
    guids = (f"guid-{n}" for n in range(1, 10_000))
    return Registry(
        writer.state, writer, clock=lambda: 1_700_000_000.0, new_guid=lambda: next(guids)
    )
