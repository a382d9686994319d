"""Registry fixtures: a registry shared by a module's tests, and raw-HTTP helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from urllib.parse import quote

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from services.registry.app import create_app
from services.registry.settings import RegistrySettings
from streammesh.testing.servers import serve_in_thread
from tests.conftest import ensure_registry_topic, unique_name

V1 = "application/vnd.schemaregistry.v1+json"


@pytest.fixture(scope="module")
def shared_registry(
    bootstrap_servers: str, admin: AdminClient, request: pytest.FixtureRequest
) -> Iterator[str]:
    """One registry for a whole module, on a log topic of its own; tests use distinct subjects."""
    topic = unique_name(request, "_streammesh.schemas")
    settings = RegistrySettings.model_validate(
        {"bootstrap_servers": bootstrap_servers, "topic": topic, "auth_enabled": False}
    )
    ensure_registry_topic(admin, topic)
    with serve_in_thread(create_app(settings)) as url:
        yield url
    admin.delete_topics([topic])[topic].result(timeout=30)


@pytest.fixture
def http(shared_registry: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_registry, headers={"Accept": V1}) as client:
        yield client


def subject_url(subject: str) -> str:
    """The path segment of `subject`, with `/` and everything else percent-encoded."""
    return quote(subject, safe="")


def register(
    http: httpx.Client, subject: str, schema: Mapping[str, object] | str, **extra: object
) -> int:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    answer = http.post(f"/subjects/{subject_url(subject)}/versions", json={"schema": text, **extra})
    assert answer.status_code == 200, answer.text
    schema_id = answer.json()["id"]
    assert isinstance(schema_id, int)
    return schema_id


def record(name: str, *fields: tuple[str, object], namespace: str = "test") -> dict[str, object]:
    """An Avro record schema with the given (name, type) fields."""
    return {
        "type": "record",
        "name": name,
        "namespace": namespace,
        "fields": [{"name": field, "type": kind} for field, kind in fields],
    }
