"""With auth on, confluent-kafka's client (basic.auth.user.info) gets its domain's rights only."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from services.registry.api.auth import hash_password
from tests.conftest import RegistryFactory

pytestmark = pytest.mark.integration

USERS = {
    "sales": ("sales-pw", "owner", ["sales"]),
    "customers": ("customers-pw", "owner", ["customers"]),
    "ops": ("ops-pw", "admin", []),
    "bi": ("bi-pw", "reader", []),
}
SCHEMA = Schema(
    json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]}),
    "AVRO",
)


@pytest.fixture
def registry_url(registry_factory: RegistryFactory, tmp_path: Path) -> str:
    users = {
        name: {"password": hash_password(pw, iterations=1000), "role": role, "domains": domains}
        for name, (pw, role, domains) in USERS.items()
    }
    auth_file = tmp_path / "users.yaml"
    auth_file.write_text(yaml.safe_dump({"users": users}))
    return registry_factory(auth_file=auth_file)


@pytest.fixture
def clients(registry_url: str) -> Iterator[dict[str, SchemaRegistryClient]]:
    made = {
        name: SchemaRegistryClient({"url": registry_url, "basic.auth.user.info": f"{name}:{pw}"})
        for name, (pw, _, _) in USERS.items()
    }
    made["anonymous"] = SchemaRegistryClient({"url": registry_url})
    made["impostor"] = SchemaRegistryClient(
        {"url": registry_url, "basic.auth.user.info": "sales:guess"}
    )
    yield made
    for client in made.values():
        client.close()


def refused(call: object) -> tuple[int, int]:
    assert callable(call)
    with pytest.raises(SchemaRegistryError) as error:
        call()
    return error.value.http_status_code, error.value.error_code


# who, subject, may register
MATRIX = [
    ("sales", "sales.orders.v1-value", True),
    ("sales", "customers.profiles.v1-value", False),
    ("customers", "customers.profiles.v1-value", True),
    ("customers", "sales.orders.v1-value", False),
    ("ops", "marketing.cltv.v1-value", True),
    ("bi", "sales.orders.v1-value", False),
]


def test_domain_by_subject_by_verb(clients: dict[str, SchemaRegistryClient]) -> None:
    for who, subject, allowed in MATRIX:
        client = clients[who]
        if allowed:
            assert client.register_schema(subject, SCHEMA) >= 1, (who, subject)
            assert client.set_compatibility(subject, "FULL") is not None
            assert client.delete_version(subject, 1) == 1
        else:
            assert refused(lambda c=client, s=subject: c.register_schema(s, SCHEMA)) == (
                403,
                40301,
            ), (who, subject)
            assert refused(lambda c=client, s=subject: c.set_compatibility(s, "NONE")) == (
                403,
                40301,
            )
    # every authenticated principal reads everything
    clients["ops"].register_schema("sales.orders.v1-value", SCHEMA)
    for who in USERS:
        assert clients[who].get_latest_version("sales.orders.v1-value").version == 2
    # global settings are the admins'
    assert refused(lambda: clients["sales"].set_compatibility(level="NONE")) == (403, 40301)
    assert clients["ops"].set_compatibility(level="FULL") is not None


def test_missing_or_wrong_credentials_are_40101(clients: dict[str, SchemaRegistryClient]) -> None:
    for who in ("anonymous", "impostor"):
        assert refused(lambda c=clients[who]: c.get_subjects()) == (401, 40101)
        assert refused(lambda c=clients[who]: c.register_schema("sales.x.v1-value", SCHEMA)) == (
            401,
            40101,
        )


def test_import_mode_and_explicit_ids_are_an_admins_and_bounded(registry_url: str) -> None:
    subject = "sales.imported.v1-value"
    body = {"schema": SCHEMA.schema_str}

    def as_user(name: str) -> httpx.Client:
        password = USERS[name][0]
        return httpx.Client(base_url=registry_url, auth=(name, password), timeout=30)

    with as_user("sales") as sales, as_user("ops") as ops:
        # an owner sets its own subject's mode, but not IMPORT: that lets a writer choose ids
        assert sales.put(f"/mode/{subject}", json={"mode": "READONLY"}).status_code == 200
        refused = sales.put(f"/mode/{subject}", json={"mode": "import"})
        assert (refused.status_code, refused.json()["error_code"]) == (403, 40301)
        assert sales.delete(f"/mode/{subject}").status_code == 200
        assert ops.put(f"/mode/{subject}", json={"mode": "IMPORT"}).json() == {"mode": "IMPORT"}
        # an id no Confluent client can carry in its 4-byte header is refused, leaving no mark
        for too_far in (2**31, 4294967295):
            answer = sales.post(
                f"/subjects/{subject}/versions", json={**body, "id": too_far, "version": 1}
            )
            assert (answer.status_code, answer.json()["error_code"]) == (422, 42201)
        answer = sales.post(f"/subjects/{subject}/versions", json={**body, "id": 7, "version": 1})
        assert answer.json() == {"id": 7}
        assert ops.put(f"/mode/{subject}", json={"mode": "READWRITE"}).status_code == 200
        # the next ordinary registration continues after the largest id handed out
        other = {"schema": json.dumps({"type": "record", "name": "S", "fields": []})}
        assert sales.post("/subjects/sales.other.v1-value/versions", json=other).json() == {"id": 8}


def test_open_paths_are_open_to_read_only(registry_url: str) -> None:
    assert httpx.get(f"{registry_url}/health", timeout=30).status_code == 200
    assert httpx.get(f"{registry_url}/ui", timeout=30).status_code == 200
    for method in ("PUT", "POST", "DELETE"):
        for path in ("/health", "/ui", "/ui/static/catalog.js"):
            answer = httpx.request(method, f"{registry_url}{path}", content=b"{}", timeout=30)
            assert (answer.status_code, answer.json()["error_code"]) == (401, 40101), path


def test_a_body_over_the_cap_is_answered_413_before_it_is_sent(registry_url: str) -> None:
    # Only the headers go out, announcing 50 MB: the answer comes without the body being read.
    host, port = registry_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(
            b"POST /subjects/sales.big.v1-value/versions HTTP/1.1\r\n"
            b"Host: registry\r\nAuthorization: Basic c2FsZXM6c2FsZXMtcHc=\r\n"
            b"Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
        )
        answer = connection.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413 ")
    assert '"error_code":413' in answer.replace(" ", "")
    # and the registry answers others as ever
    with httpx.Client(base_url=registry_url, auth=("bi", "bi-pw"), timeout=30) as http:
        assert http.get("/subjects").status_code == 200
