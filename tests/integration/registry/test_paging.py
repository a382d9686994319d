"""Listings page as Confluent's do: ``offset`` and ``limit`` (-1: all) after every filter, and
the ``subject`` filter of the by-id listings; Confluent's own client sends all of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from tests.integration.registry.conftest import record, register

pytestmark = pytest.mark.integration

ORDER = record("Order", ("id", "string"))


def evolved(n: int) -> dict[str, object]:
    """ORDER with `n` more optional fields: a new, backward-compatible version each."""
    extra = [{"name": f"f{i}", "type": "string", "default": ""} for i in range(n)]
    return {**ORDER, "fields": [{"name": "id", "type": "string"}, *extra]}


@pytest.fixture
def client(shared_registry: str) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": shared_registry}) as confluent_client:
        yield confluent_client


@pytest.fixture
def prefix(http: httpx.Client) -> str:
    """Subjects p-a (three versions), p-b and p-c (the first schema), p-d (soft-deleted)."""
    name = f"paging-{uuid.uuid4().hex[:8]}"
    for n in range(3):
        register(http, f"{name}-a", evolved(n))
    for subject in (f"{name}-b", f"{name}-c", f"{name}-d"):
        register(http, subject, ORDER)
    assert http.delete(f"/subjects/{name}-d").status_code == 200
    return name


def get(http: httpx.Client, path: str) -> object:
    answer = http.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_subjects_page(http: httpx.Client, client: SchemaRegistryClient, prefix: str) -> None:
    everything = [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    base = f"/subjects?subjectPrefix={prefix}"
    assert get(http, base) == everything
    assert get(http, f"{base}&limit=-1") == everything
    assert get(http, f"{base}&offset=1&limit=1") == [f"{prefix}-b"]
    assert get(http, f"{base}&offset=2") == [f"{prefix}-c"]
    assert get(http, f"{base}&offset=3") == []
    # Paging applies after the deleted filters.
    assert get(http, f"{base}&deleted=true&offset=3") == [f"{prefix}-d"]
    assert client.get_subjects(prefix, offset=1, limit=2) == everything[1:]
    assert client.get_subjects(prefix, deleted=True, offset=0, limit=-1) == [
        *everything,
        f"{prefix}-d",
    ]


def test_versions_page(http: httpx.Client, client: SchemaRegistryClient, prefix: str) -> None:
    path = f"/subjects/{prefix}-a/versions"
    assert get(http, path) == [1, 2, 3]
    assert get(http, f"{path}?offset=1&limit=1") == [2]
    assert get(http, f"{path}?offset=1&limit=0") == [2, 3]
    assert client.get_versions(f"{prefix}-a", offset=2, limit=5) == [3]
    # A missing subject is still 40401, whatever the page.
    missing = http.get(f"/subjects/{prefix}-missing/versions?offset=5")
    assert (missing.status_code, missing.json()["error_code"]) == (404, 40401)


def test_schemas_page(http: httpx.Client, prefix: str) -> None:
    def listed(query: str) -> list[tuple[str, int]]:
        answer = get(http, f"/schemas?subjectPrefix={prefix}{query}")
        assert isinstance(answer, list)
        return [(s["subject"], s["version"]) for s in answer]

    everything = [(f"{prefix}-a", v) for v in (1, 2, 3)] + [(f"{prefix}-b", 1), (f"{prefix}-c", 1)]
    assert listed("") == everything
    assert listed("&limit=-1") == everything
    assert listed("&offset=2&limit=2") == everything[2:4]
    assert listed("&latestOnly=true&offset=1") == [(f"{prefix}-b", 1), (f"{prefix}-c", 1)]


def test_by_id_listings_page_and_filter_by_subject(
    http: httpx.Client, client: SchemaRegistryClient, prefix: str
) -> None:
    schema_id = client.get_latest_version(f"{prefix}-b").schema_id
    assert schema_id is not None
    ids = f"/schemas/ids/{schema_id}"
    # The first version of p-a is the same schema, so it shares the id.
    holders = [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    every = get(http, f"{ids}/subjects")
    assert isinstance(every, list)
    assert [s for s in every if s.startswith(prefix)] == holders

    assert get(http, f"{ids}/subjects?subject={prefix}-b") == [f"{prefix}-b"]
    assert get(http, f"{ids}/versions?subject={prefix}-a") == [
        {"subject": f"{prefix}-a", "version": 1}
    ]
    assert client.get_subjects_by_schema_id(schema_id, subject_name=f"{prefix}-c") == [
        f"{prefix}-c"
    ]
    versions = client.get_schema_versions(schema_id, subject_name=f"{prefix}-c")
    assert [(v.subject, v.version) for v in versions] == [(f"{prefix}-c", 1)]
    # The soft-deleted p-d is listed only with deleted=true, filtered or not.
    assert get(http, f"{ids}/subjects?subject={prefix}-d") == []
    assert get(http, f"{ids}/subjects?subject={prefix}-d&deleted=true") == [f"{prefix}-d"]
    # A subject that never held the id: 40403, as GET /schemas/ids/{id}?subject= answers.
    latest_a = client.get_latest_version(f"{prefix}-a").schema_id
    other = http.get(f"/schemas/ids/{latest_a}/versions?subject={prefix}-b")
    assert (other.status_code, other.json()["error_code"]) == (404, 40403)

    assert get(http, f"{ids}/subjects?offset=1&limit=2") == every[1:3]
    every_version = get(http, f"{ids}/versions?deleted=true")
    assert isinstance(every_version, list)
    assert get(http, f"{ids}/versions?deleted=true&offset=1&limit=-1") == every_version[1:]
    assert client.get_subjects_by_schema_id(schema_id, offset=1, limit=1) == every[1:2]


def test_referenced_by_and_contexts_page(http: httpx.Client, prefix: str) -> None:
    line = {
        "type": "record",
        "name": "Line",
        "namespace": prefix.replace("-", "_"),
        "fields": [{"name": "order", "type": "test.Order"}],
    }
    reference = {"name": "test.Order", "subject": f"{prefix}-b", "version": 1}
    for n in range(3):
        schema = {**line, "doc": f"variant {n}"}
        register(http, f"{prefix}-line-{n}", schema, references=[reference])
    referrers = get(http, f"/subjects/{prefix}-b/versions/1/referencedby")
    assert isinstance(referrers, list)
    assert len(referrers) == 3
    assert get(http, f"/subjects/{prefix}-b/versions/1/referencedby?offset=1&limit=1") == [
        referrers[1]
    ]
    assert get(http, "/contexts?offset=0&limit=-1") == ["."]
    assert get(http, "/contexts?offset=1") == []


def test_paging_parameters_must_be_numbers(http: httpx.Client) -> None:
    answer = http.get("/subjects?limit=ten")
    assert (answer.status_code, answer.json()["error_code"]) == (422, 422)
