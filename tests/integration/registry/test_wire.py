"""The registry speaks Confluent's wire: encoded subjects, flag spellings, media types, routes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from tests.integration.registry.conftest import V1, record, register, subject_url

pytestmark = pytest.mark.integration

ORDER = record("Order", ("id", "string"))
ORDER_V2: dict[str, object] = {
    "type": "record",
    "name": "Order",
    "namespace": "test",
    "fields": [{"name": "id", "type": "string"}, {"name": "note", "type": "string", "default": ""}],
}
CANONICAL = (
    '{"type":"record","name":"Order","namespace":"test","fields":[{"name":"id","type":"string"}]}'
)
MEDIA_TYPES = (V1, "application/vnd.schemaregistry+json", "application/json")


@pytest.fixture
def client(shared_registry: str) -> Iterator[SchemaRegistryClient]:
    with SchemaRegistryClient({"url": shared_registry}) as confluent_client:
        yield confluent_client


@pytest.fixture
def prefix() -> str:
    """A subject prefix no other test of the module uses."""
    return f"wire-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    "name",
    [
        "team/orders-value",
        "with space/and/slashes",
        "ünïcødé-主题-value",
        "plus+and?query#hash",
        "literal%2Fpercent",
    ],
)
def test_subjects_with_slashes_spaces_and_unicode(
    client: SchemaRegistryClient, http: httpx.Client, prefix: str, name: str
) -> None:
    subject = f"{prefix}.{name}"
    schema_id = client.register_schema(subject, Schema(json.dumps(ORDER), "AVRO"))

    assert client.get_subjects(subject_prefix=prefix) == [subject]
    assert client.get_versions(subject) == [1]
    latest = client.get_latest_version(subject)
    assert (latest.subject, latest.version, latest.schema_id) == (subject, 1, schema_id)
    assert client.lookup_schema(subject, Schema(json.dumps(ORDER), "AVRO")).version == 1
    assert client.test_compatibility(subject, Schema(json.dumps(ORDER_V2), "AVRO"))

    path = f"/subjects/{subject_url(subject)}/versions/1"
    answer = http.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.json()["subject"] == subject
    assert http.get(f"{path}/schema").text == CANONICAL
    client.set_compatibility(subject, "FULL")
    assert http.get(f"/config/{subject_url(subject)}").json()["compatibilityLevel"] == "FULL"
    assert client.delete_subject(subject) == [1]
    assert client.delete_subject(subject, permanent=True) == [1]
    assert client.get_subjects(subject_prefix=prefix) == []


@pytest.mark.parametrize("spelling", ["deletedOnly", "deleted_only"])
@pytest.mark.parametrize("true", ["true", "True"])
def test_deleted_flags_in_every_spelling(
    http: httpx.Client, prefix: str, spelling: str, true: str
) -> None:
    live, gone = f"{prefix}-live", f"{prefix}-gone"
    register(http, live, ORDER)
    register(http, live, ORDER_V2)
    register(http, gone, ORDER)
    assert http.delete(f"/subjects/{gone}").status_code == 200
    assert http.delete(f"/subjects/{live}/versions/1").status_code == 200

    def subjects(query: str) -> list[str]:
        answer = http.get(f"/subjects?subjectPrefix={prefix}&{query}")
        assert answer.status_code == 200, answer.text
        names: list[str] = answer.json()
        return names

    assert subjects("") == [live]
    assert subjects(f"deleted={true}") == [gone, live]
    assert subjects(f"{spelling}={true}") == [gone, live]  # live has a soft-deleted version
    assert http.get(f"/subjects/{live}/versions?{spelling}={true}").json() == [1]
    assert http.get(f"/subjects/{live}/versions?deleted={true}").json() == [1, 2]
    assert http.get(f"/subjects/{live}/versions").json() == [2]
    assert http.get(f"/subjects/{live}/versions/1?deleted={true}").json()["deleted"] is True
    assert http.get(f"/subjects/{live}/versions/1").json()["error_code"] == 40402


def test_unknown_request_fields_are_ignored(http: httpx.Client, prefix: str) -> None:
    future = {"someFutureField": {"nested": [1, 2]}, "schemaTypeVersion": 3}
    body = {"schema": json.dumps(ORDER), "schemaType": "AVRO", **future}
    registered = http.post(f"/subjects/{prefix}/versions", json=body)
    assert registered.status_code == 200, registered.text
    assert set(registered.json()) == {"id"}
    found = http.post(f"/subjects/{prefix}", json=body)
    assert found.status_code == 200, found.text
    assert found.json()["version"] == 1
    compatible = http.post(f"/compatibility/subjects/{prefix}/versions/latest", json=body)
    assert compatible.json() == {"is_compatible": True}
    config = http.put(f"/config/{prefix}", json={"compatibility": "NONE", **future})
    assert config.status_code == 200, config.text
    mode = http.put(f"/mode/{prefix}", json={"mode": "READWRITE", **future})
    assert mode.json() == {"mode": "READWRITE"}


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_response_media_type_follows_accept(
    http: httpx.Client, prefix: str, media_type: str
) -> None:
    headers = {"Accept": media_type, "Content-Type": media_type}
    body = json.dumps({"schema": json.dumps(ORDER)})
    registered = http.post(f"/subjects/{prefix}/versions", content=body, headers=headers)
    assert registered.status_code == 200, registered.text
    assert registered.headers["content-type"] == media_type
    for path in ("/subjects", f"/subjects/{prefix}/versions/latest", "/config", "/no/such/route"):
        answer = http.get(path, headers={"Accept": media_type})
        assert answer.headers["content-type"] == media_type, path
    missing = http.get(f"/subjects/{prefix}-missing/versions", headers={"Accept": media_type})
    assert (missing.status_code, missing.headers["content-type"]) == (404, media_type)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("*/*", V1),
        ("application/*", V1),
        ("application/json; q=0.5, application/vnd.schemaregistry+json", MEDIA_TYPES[1]),
        ("text/html, application/json;q=0.9", "application/json"),
        (f"{V1}, application/vnd.schemaregistry+json; q=0.9, application/json; q=0.5", V1),
    ],
)
def test_accept_header_quality_is_honoured(http: httpx.Client, accept: str, expected: str) -> None:
    answer = http.get("/schemas/types", headers={"Accept": accept})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == expected


def test_schema_by_id_endpoints(
    client: SchemaRegistryClient, http: httpx.Client, prefix: str
) -> None:
    # Schemas of their own: an id is shared by every subject of the registry holding its schema.
    namespace = prefix.replace("-", "_")
    order, order_v2 = ({**schema, "namespace": namespace} for schema in (ORDER, ORDER_V2))
    canonical = CANONICAL.replace('"test"', f'"{namespace}"')
    first = register(http, f"{prefix}-a", order)
    assert register(http, f"{prefix}-b", order) == first
    second = register(http, f"{prefix}-a", order_v2)

    raw = http.get(f"/schemas/ids/{first}/schema")
    assert raw.status_code == 200
    assert raw.text == canonical  # the schema itself, not a JSON string holding it
    assert http.get(f"/schemas/ids/{first}").json() == {
        "schema": canonical,
        "guid": _guid(http, first),
    }
    with_max = http.get(f"/schemas/ids/{first}?fetchMaxId=true").json()
    assert with_max["maxId"] >= second
    assert "maxId" not in http.get(f"/schemas/ids/{first}?fetchMaxId=false").json()

    assert http.get(f"/schemas/ids/{first}/subjects").json() == [f"{prefix}-a", f"{prefix}-b"]
    assert http.get(f"/schemas/ids/{first}/versions").json() == [
        {"subject": f"{prefix}-a", "version": 1},
        {"subject": f"{prefix}-b", "version": 1},
    ]
    assert client.get_subjects_by_schema_id(first) == [f"{prefix}-a", f"{prefix}-b"]
    versions = client.get_schema_versions(first)
    assert [(v.subject, v.version) for v in versions] == [(f"{prefix}-a", 1), (f"{prefix}-b", 1)]
    schema_str = client.get_schema(second).schema_str
    assert schema_str is not None
    assert json.loads(schema_str) == order_v2

    # A soft-deleted version is listed for the id only with deleted=true.
    assert http.delete(f"/subjects/{prefix}-b/versions/1").status_code == 200
    assert http.get(f"/schemas/ids/{first}/subjects").json() == [f"{prefix}-a"]
    assert http.get(f"/schemas/ids/{first}/subjects?deleted=true").json() == [
        f"{prefix}-a",
        f"{prefix}-b",
    ]


def _guid(http: httpx.Client, schema_id: int) -> str:
    guid = http.get(f"/schemas/ids/{schema_id}").json()["guid"]
    assert isinstance(guid, str)
    return guid


def test_list_schemas_by_prefix_and_latest_only(http: httpx.Client, prefix: str) -> None:
    first = register(http, f"{prefix}-a", ORDER)
    second = register(http, f"{prefix}-a", ORDER_V2)
    register(http, f"{prefix}-b", ORDER)
    register(http, f"other-{prefix}", ORDER)

    def listed(query: str) -> list[tuple[str, int, int]]:
        answer = http.get(f"/schemas?subjectPrefix={prefix}{query}")
        assert answer.status_code == 200, answer.text
        return [(s["subject"], s["version"], s["id"]) for s in answer.json()]

    assert listed("") == [
        (f"{prefix}-a", 1, first),
        (f"{prefix}-a", 2, second),
        (f"{prefix}-b", 1, first),
    ]
    assert listed("&latestOnly=true") == [(f"{prefix}-a", 2, second), (f"{prefix}-b", 1, first)]
    assert listed("&latestOnly=True") == listed("&latestOnly=true")
    one = http.get(f"/schemas?subjectPrefix={prefix}-b").json()[0]
    assert one["schema"] == CANONICAL
    assert "schemaType" not in one  # AVRO is left implicit, as Confluent does


def test_contexts_and_schema_types(client: SchemaRegistryClient, http: httpx.Client) -> None:
    assert http.get("/contexts").json() == ["."]
    assert client.get_contexts() == ["."]
    assert http.get("/schemas/types").json() == ["AVRO"]
    assert client.get_schema_types() == ["AVRO"]


def test_guid_and_timestamp(client: SchemaRegistryClient, http: httpx.Client, prefix: str) -> None:
    schema_id = register(http, prefix, ORDER)
    version = http.get(f"/subjects/{prefix}/versions/1").json()
    guid, ts = version["guid"], version["ts"]
    assert str(uuid.UUID(guid)) == guid
    assert isinstance(ts, int)
    assert ts > 1_700_000_000_000  # milliseconds since the epoch

    by_guid = http.get(f"/schemas/guids/{guid}")
    assert by_guid.status_code == 200, by_guid.text
    assert by_guid.json()["schema"] == CANONICAL
    schema = client.get_schema_by_guid(guid)
    assert schema.schema_str == CANONICAL
    # The same schema registered elsewhere keeps its id, guid and timestamp.
    register(http, f"{prefix}-copy", ORDER)
    copy = http.get(f"/subjects/{prefix}-copy/versions/1").json()
    assert (copy["id"], copy["guid"], copy["ts"]) == (schema_id, guid, ts)
    missing = http.get(f"/schemas/guids/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["error_code"]) == (404, 40403)
