"""The log is the truth: a restarted registry and a replica answer every read as the primary did."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from services.registry.app import create_app
from services.registry.settings import RegistrySettings
from streammesh.broker.launcher import free_port
from streammesh.testing.servers import serve_in_thread
from tests.conftest import RegistryFactory, TopicFactory
from tests.integration.registry.conftest import V1, record, subject_url

pytestmark = pytest.mark.integration

Snapshot = dict[str, tuple[int, object]]

MONEY = record("Money", ("cents", "long"))
ORDER_V1 = record("Order", ("id", "string"), ("total", "test.Money"))
ORDER_V2: dict[str, object] = {
    **ORDER_V1,
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "total", "type": "test.Money"},
        {"name": "note", "type": "string", "default": ""},
    ],
}
CLICK = record("Click", ("url", "string"))
VIEW = record("View", ("page", "string"))
SCRATCH = record("Scratch", ("x", "int"))


def _schema(schema: dict[str, object], *refs: SchemaReference) -> Schema:
    return Schema(json.dumps(schema), "AVRO", list(refs))


@pytest.fixture
def log_topic(topic_factory: TopicFactory) -> str:
    """A compacted topic of the test's own, deleted after every registry on it has stopped."""
    return topic_factory(config={"cleanup.policy": "compact"})


@pytest.fixture
def settings(bootstrap_servers: str, log_topic: str) -> RegistrySettings:
    return RegistrySettings.model_validate(
        {"bootstrap_servers": bootstrap_servers, "topic": log_topic, "auth_enabled": False}
    )


def populate(url: str) -> dict[str, int]:
    """Subjects, versions, references, deletes, configs and modes; returns the ids given."""
    ids: dict[str, int] = {}
    with SchemaRegistryClient({"url": url}) as client:
        ids["money"] = client.register_schema("money", _schema(MONEY))
        ref = SchemaReference("test.Money", "money", 1)
        ids["order_v1"] = client.register_schema("team/orders-value", _schema(ORDER_V1, ref))
        ids["order_v2"] = client.register_schema("team/orders-value", _schema(ORDER_V2, ref))
        ids["click"] = client.register_schema("clicks-value", _schema(CLICK))
        client.set_compatibility("clicks-value", "NONE")
        ids["view"] = client.register_schema("clicks-value", _schema(VIEW), normalize_schemas=True)
        ids["scratch"] = client.register_schema("scratch", _schema(SCRATCH))
        # A soft-deleted version, a hard-deleted version, a hard-deleted subject.
        client.delete_version("clicks-value", 1)
        # Not normalized here, so a text (and an id) other than the normalized one above.
        ids["views"] = client.register_schema("views-value", _schema(VIEW))
        client.delete_version("views-value", 1)
        client.delete_version("views-value", 1, permanent=True)
        client.delete_subject("scratch")
        client.delete_subject("scratch", permanent=True)
        client.set_compatibility(level="FULL_TRANSITIVE")
        client.update_mode("team/orders-value", "READONLY")
        client.update_mode("money", "READWRITE")
    return ids


def snapshot(url: str) -> Snapshot:
    """The answer to every read the registry serves, keyed by path."""
    answers: Snapshot = {}
    with httpx.Client(base_url=url, headers={"Accept": V1}) as http:

        def get(path: str) -> object:
            answer = http.get(path)
            body = answer.json() if answer.content else None
            answers[path] = (answer.status_code, body)
            return body

        for path in ("/config", "/mode", "/contexts", "/schemas/types", "/subjects"):
            get(path)
        subjects = get("/subjects?deleted=true")
        assert isinstance(subjects, list)
        for subject in subjects:
            s = subject_url(subject)
            for path in (f"/config/{s}", f"/mode/{s}", f"/subjects/{s}/versions"):
                get(path)
            versions = get(f"/subjects/{s}/versions?deleted=true")
            assert isinstance(versions, list)
            for version in versions:
                get(f"/subjects/{s}/versions/{version}?deleted=true")
                get(f"/subjects/{s}/versions/{version}/referencedby")
        listed = get("/schemas?deleted=true")
        assert isinstance(listed, list)
        for schema_id in sorted({entry["id"] for entry in listed}):
            get(f"/schemas/ids/{schema_id}")
            get(f"/schemas/ids/{schema_id}/versions?deleted=true")
            get(f"/schemas/ids/{schema_id}/subjects")
            guid = answers[f"/schemas/ids/{schema_id}"][1]
            assert isinstance(guid, dict)
            get(f"/schemas/guids/{guid['guid']}")
        get("/schemas/ids/1?fetchMaxId=true")
    return answers


def _log_position(url: str) -> int:
    position = httpx.get(f"{url}/health").json()["log_position"]
    assert isinstance(position, int)
    return position


def wait_caught_up(replica: str, primary: str, timeout: float = 10.0) -> None:
    """Until the replica has applied everything the primary has."""
    target = _log_position(primary)
    deadline = time.monotonic() + timeout
    while _log_position(replica) < target:
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.02)


def test_restart_keeps_every_subject_version_id_config_and_mode(
    settings: RegistrySettings,
) -> None:
    with serve_in_thread(create_app(settings)) as first:
        ids = populate(first)
        before = snapshot(first)

    with serve_in_thread(create_app(settings)) as second:
        after = snapshot(second)
        assert after == before
        # Spot checks that the snapshot holds what it should.
        assert after["/config"][1] == {"compatibilityLevel": "FULL_TRANSITIVE", "normalize": False}
        assert after["/mode/team%2Forders-value"][1] == {"mode": "READONLY"}
        assert after["/subjects"][1] == ["clicks-value", "money", "team/orders-value"]
        assert after["/subjects/clicks-value/versions"][1] == [2]
        assert after["/subjects?deleted=true"][1] == after["/subjects"][1]  # hard deletes
        assert after["/subjects/money/versions/1/referencedby"][1] == [
            ids["order_v1"],
            ids["order_v2"],
        ]
        with SchemaRegistryClient({"url": second}) as client:
            # Writes carry on from the log: the read-only subject stays read-only...
            with pytest.raises(SchemaRegistryError) as refused:
                client.register_schema("team/orders-value", _schema(ORDER_V1))
            assert refused.value.error_code == 42205
            # ...and a new schema gets an id no schema ever had, hard-deleted ones included.
            fresh = client.register_schema("fresh", _schema(record("Fresh", ("y", "int"))))
            assert fresh == max(ids.values()) + 1
            # The hard-deleted schema comes back with a new id, not its old one.
            again = client.register_schema("scratch", _schema(SCRATCH))
            assert again == fresh + 1 != ids["scratch"]
        before_third = snapshot(second)

    with serve_in_thread(create_app(settings)) as third:
        assert snapshot(third) == before_third


def test_replica_answers_every_read_as_the_primary(
    log_topic: str, registry_factory: RegistryFactory
) -> None:
    primary = registry_factory(topic=log_topic)
    replica = registry_factory(topic=log_topic, primary_url=primary)
    populate(primary)
    wait_caught_up(replica, primary)
    assert snapshot(replica) == snapshot(primary)


def test_replica_forwards_writes_and_reads_its_own_writes(
    log_topic: str, registry_factory: RegistryFactory
) -> None:
    primary = registry_factory(topic=log_topic)
    replica = registry_factory(topic=log_topic, primary_url=primary)
    with SchemaRegistryClient({"url": replica}) as client:
        schema_id = client.register_schema("team/clicks-value", _schema(CLICK))
        # Read back at once from the replica, with no cache of the client in between.
        latest = httpx.get(f"{replica}/subjects/team%2Fclicks-value/versions/latest").json()
        assert (latest["id"], latest["version"]) == (schema_id, 1)
        assert httpx.get(f"{primary}/schemas/ids/{schema_id}").status_code == 200

        client.set_compatibility("team/clicks-value", "NONE")
        config = httpx.get(f"{replica}/config/team%2Fclicks-value").json()
        assert config["compatibilityLevel"] == "NONE"
        second = client.register_schema("team/clicks-value", _schema(VIEW))
        assert httpx.get(f"{replica}/subjects/team%2Fclicks-value/versions").json() == [1, 2]

        assert client.delete_version("team/clicks-value", 1) == 1
        assert httpx.get(f"{replica}/subjects/team%2Fclicks-value/versions").json() == [2]
        assert client.update_mode("team/clicks-value", "READONLY") == "READONLY"
        assert httpx.get(f"{replica}/mode/team%2Fclicks-value").json() == {"mode": "READONLY"}

        assert second == schema_id + 1

    # Errors of the primary come back through the replica unchanged (raw: the client caches).
    refused = httpx.post(
        f"{replica}/subjects/team%2Fclicks-value/versions",
        json={"schema": json.dumps(SCRATCH)},
        headers={"Accept": V1},
    )
    assert refused.status_code == 422
    assert refused.json() == {
        "error_code": 42205,
        "message": "Subject team/clicks-value is in read-only mode",
    }
    assert refused.headers["content-type"] == V1


def test_replica_answers_a_re_registration_itself(
    log_topic: str, registry_factory: RegistryFactory
) -> None:
    """Registering an existing schema writes nothing, so a replica needs no primary for it."""
    primary = registry_factory(topic=log_topic)
    schema_id = httpx.post(
        f"{primary}/subjects/clicks-value/versions", json={"schema": json.dumps(CLICK)}
    ).json()["id"]
    orphan = registry_factory(topic=log_topic, primary_url=f"http://127.0.0.1:{free_port()}")
    wait_caught_up(orphan, primary)
    again = httpx.post(
        f"{orphan}/subjects/clicks-value/versions", json={"schema": json.dumps(CLICK)}
    )
    assert (again.status_code, again.json()) == (200, {"id": schema_id})
    new = httpx.post(f"{orphan}/subjects/clicks-value/versions", json={"schema": json.dumps(VIEW)})
    assert (new.status_code, new.json()["error_code"]) == (500, 50003)  # that one needs it
