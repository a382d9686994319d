"""The abuse table: one tenant's oversized, repeated or costly input is refused as it should be,
and meanwhile another tenant's reads are answered as fast as ever.

Each row runs its abuse against a real registry on real Kafka while a good client reads a
schema by id in a loop beside it; the good client's p99 must stay under `GOOD_P99_SECONDS`.
That bound is a guard against the registry stalling (a blocked event loop shows up as seconds),
not a benchmark.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from confluent_kafka.admin import AdminClient

from services.registry.api.auth import hash_password
from services.registry.api.cache import RenderCache
from services.registry.app import create_app
from services.registry.errors import ErrorCode
from services.registry.settings import RegistrySettings
from streammesh.products.loader import load_descriptor
from streammesh.testing.servers import serve_in_thread
from tests.conftest import ensure_registry_topic, unique_name
from tests.integration.registry.conftest import V1, record, register

pytestmark = pytest.mark.integration

GOOD_P99_SECONDS = 0.5
ABUSE_SECONDS = 2.0  # a short abuse is repeated this long, so the good client reads enough
ROOT = Path(__file__).resolve().parents[3]
ORDERS = ROOT / "domains/sales/products/orders.yaml"
# Under 3,000 characters, under the runtime's iteration budget, and ~5e6 steps on every record.
GREEDY_LIST = "[" + ",".join(map(str, range(250))) + "]"
GREEDY_EXPR = f"{GREEDY_LIST}.all(a, {GREEDY_LIST}.all(b, a + b in {GREEDY_LIST}))"


@dataclass
class Registry:
    url: str
    cache: RenderCache


@dataclass
class GoodClient:
    """Reads `path` in a loop on its own connection, timing every answer."""

    url: str
    path: str
    auth: tuple[str, str] | None = None
    latencies: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)

    @contextmanager
    def reading(self) -> Iterator[GoodClient]:
        stop = threading.Event()

        def loop() -> None:
            with httpx.Client(base_url=self.url, auth=self.auth, timeout=30) as http:
                while not stop.is_set():
                    started = time.perf_counter()
                    answer = http.get(self.path, headers={"Accept": V1})
                    self.latencies.append(time.perf_counter() - started)
                    self.statuses.add(answer.status_code)
                    time.sleep(0.005)

        thread = threading.Thread(target=loop, name="good-client", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(30)

    def check(self) -> None:
        assert self.statuses == {200}
        assert len(self.latencies) >= 10, "the good client hardly ran"
        ordered = sorted(self.latencies)
        p99 = ordered[int(0.99 * (len(ordered) - 1))]
        assert p99 < GOOD_P99_SECONDS, f"good client p99 {p99:.3f}s over {len(ordered)} reads"


@contextmanager
def serve(
    bootstrap_servers: str, admin: AdminClient, topic: str, **overrides: object
) -> Iterator[Registry]:
    settings = RegistrySettings.model_validate(
        {"bootstrap_servers": bootstrap_servers, "topic": topic, **overrides}
    )
    ensure_registry_topic(admin, topic)
    app = create_app(settings)
    try:
        with serve_in_thread(app) as url:
            yield Registry(url, app.state.render_cache)
    finally:
        admin.delete_topics([topic])[topic].result(timeout=30)


@pytest.fixture(scope="module")
def open_registry(
    bootstrap_servers: str, admin: AdminClient, request: pytest.FixtureRequest
) -> Iterator[Registry]:
    """One registry without authentication for the rows that need none."""
    topic = unique_name(request, "_streammesh.schemas")
    with serve(bootstrap_servers, admin, topic, auth_enabled=False) as registry:
        yield registry


def good_reader(registry: Registry, subject: str) -> GoodClient:
    with httpx.Client(base_url=registry.url, headers={"Accept": V1}) as http:
        schema_id = register(http, subject, record("Good", ("id", "string")))
    return GoodClient(registry.url, f"/schemas/ids/{schema_id}")


def repeatedly() -> Iterator[int]:
    """0, 1, 2, ... for `ABUSE_SECONDS`."""
    deadline = time.monotonic() + ABUSE_SECONDS
    count = 0
    while time.monotonic() < deadline:
        yield count
        count += 1


def orders_body(**descriptor_changes: object) -> dict[str, object]:
    descriptor = load_descriptor(ORDERS)
    dumped = descriptor.model_dump(mode="json", by_alias=True)
    body: dict[str, object] = {
        "descriptor": {**dumped, **descriptor_changes},
        "valueSchema": (ROOT / descriptor.topic.value_schema).read_text(),
    }
    if descriptor.topic.key_schema is not None:
        body["keySchema"] = (ROOT / descriptor.topic.key_schema).read_text()
    return body


def test_a_megabyte_contact_is_refused_quickly(open_registry: Registry) -> None:
    body = orders_body(team={"name": "sales", "contact": "a" * (1 << 20) + "@example.com"})
    with (
        good_reader(open_registry, "abuse.contact.v1-value").reading() as good,
        httpx.Client(base_url=open_registry.url, timeout=30) as http,
    ):
        for _ in repeatedly():
            started = time.perf_counter()
            answer = http.put("/products/sales/orders", json=body)
            elapsed = time.perf_counter() - started
            assert (answer.status_code, answer.json()["error_code"]) == (422, 422)
            assert "descriptor.team.contact" in answer.json()["message"]
            assert len(answer.content) < 1024  # the refusal does not echo the megabyte
            assert elapsed < 1.0
    good.check()


def test_many_spellings_of_one_version_are_one_cache_entry(open_registry: Registry) -> None:
    subject = "abuse.spellings.v1-value"
    good = good_reader(open_registry, "abuse.spellings_good.v1-value")
    with httpx.Client(base_url=open_registry.url, headers={"Accept": V1}) as http:
        register(http, subject, record("Spelled", ("id", "string")))
        http.get(good.path).raise_for_status()  # the good client's entry, before counting
    before = open_registry.cache.entries
    # Leading zeros, ASCII and one Arabic-Indic among them: 10,012 spellings, none over 142
    # characters, all of them version 1.
    spellings = [f"{'0' * a}\u0660{'0' * b}1" for a in range(140) for b in range(140 - a)]
    spellings += [f"{'0' * zeros}1" for zeros in range(142)]

    def read(chunk: list[str]) -> set[bytes]:
        with httpx.Client(base_url=open_registry.url, headers={"Accept": V1}) as http:
            answers = [http.get(f"/subjects/{subject}/versions/{v}") for v in chunk]
        assert {a.status_code for a in answers} == {200}
        return {a.content for a in answers}

    with good.reading(), ThreadPoolExecutor(4) as pool:
        bodies = set().union(*pool.map(read, [spellings[i::4] for i in range(4)]))
    good.check()
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["version"] == 1
    assert open_registry.cache.entries == before + 1


def test_a_rule_over_the_cost_limit_is_refused(open_registry: Registry) -> None:
    subject = "abuse.greedy.v1-value"
    greedy = {"name": "greedy", "kind": "CONDITION", "type": "CEL", "expr": GREEDY_EXPR}
    rules = {"domainRules": [greedy]}
    schema = json.dumps(record("Greedy", ("id", "string")))
    quality = [
        *load_descriptor(ORDERS).model_dump(mode="json", by_alias=True)["quality"],
        {"name": "greedy", "expr": GREEDY_EXPR},
    ]
    attempts: list[Callable[[httpx.Client], httpx.Response]] = [
        lambda http: http.post(
            f"/subjects/{subject}/versions", json={"schema": schema, "ruleSet": rules}
        ),
        lambda http: http.put(f"/config/{subject}", json={"defaultRuleSet": rules}),
        lambda http: http.put("/products/sales/orders", json=orders_body(quality=quality)),
    ]
    with (
        good_reader(open_registry, "abuse.greedy_good.v1-value").reading() as good,
        httpx.Client(base_url=open_registry.url, headers={"Accept": V1}, timeout=30) as http,
    ):
        answers = [attempt(http) for _ in repeatedly() for attempt in attempts]
        assert http.get(f"/subjects/{subject}/versions").status_code == 404  # nothing written
    good.check()
    codes = [(a.status_code, a.json()["error_code"]) for a in answers]
    assert set(codes[0::3]) == set(codes[1::3]) == {(422, ErrorCode.INVALID_SCHEMA)}
    assert set(codes[2::3]) == {(422, ErrorCode.POLICY_VIOLATION)}
    for answer in answers:
        assert "rule 'greedy' is too expensive" in answer.json()["message"]


def test_fifty_failed_logins_a_second_do_not_slow_a_good_client(
    bootstrap_servers: str, admin: AdminClient, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Real password hashes (200,000 PBKDF2 rounds): a failed login is as dear as in production.
    users = {
        "sales": {"password": hash_password("sales-pw"), "role": "owner", "domains": ["sales"]}
    }
    auth_file = tmp_path / "users.yaml"
    auth_file.write_text(yaml.safe_dump({"users": users}))
    topic = unique_name(request, "_streammesh.schemas")
    bad = [("sales", f"guess-{n}") for n in range(3)] + [(f"nobody-{n}", "x") for n in range(2)]
    with serve(bootstrap_servers, admin, topic, auth_file=auth_file) as registry:
        with httpx.Client(base_url=registry.url, auth=("sales", "sales-pw")) as http:
            schema_id = register(http, "sales.good.v1-value", record("Good", ("id", "string")))
        good = GoodClient(registry.url, f"/schemas/ids/{schema_id}", auth=("sales", "sales-pw"))

        def attempt(user: str, password: str) -> int:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            answer = attacker.get(
                "/subjects", headers={"Authorization": f"Basic {token}", "Accept": V1}
            )
            return answer.status_code

        with (
            good.reading(),
            httpx.Client(base_url=registry.url, timeout=30) as attacker,
            ThreadPoolExecutor(8) as pool,
        ):
            started = time.monotonic()
            refusals = []
            for n in range(500):  # 50 a second for 10 seconds
                time.sleep(max(0.0, started + n / 50 - time.monotonic()))
                refusals.append(pool.submit(attempt, *bad[n % len(bad)]))
            assert {refusal.result() for refusal in refusals} == {401}
        good.check()


# --- the rows that need principals: an owner, an admin, and nobody


OWNER = ("sales", "sales-pw")
ADMIN = ("ops", "ops-pw")


@pytest.fixture(scope="module")
def secured_registry(
    bootstrap_servers: str,
    admin: AdminClient,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Registry]:
    """A registry with authentication: sales owns its domain, ops is the admin."""
    users: dict[str, dict[str, object]] = {
        "sales": {
            "password": hash_password("sales-pw", iterations=1000),
            "role": "owner",
            "domains": ["sales"],
        },
        "ops": {"password": hash_password("ops-pw", iterations=1000), "role": "admin"},
    }
    auth_file = tmp_path_factory.mktemp("abuse") / "users.yaml"
    auth_file.write_text(yaml.safe_dump({"users": users}))
    topic = unique_name(request, "_streammesh.schemas")
    with serve(bootstrap_servers, admin, topic, auth_file=auth_file) as registry:
        yield registry


def owners_reader(registry: Registry, subject: str) -> GoodClient:
    with httpx.Client(base_url=registry.url, auth=OWNER, headers={"Accept": V1}) as http:
        schema_id = register(http, subject, record("Good", ("id", "string")))
    return GoodClient(registry.url, f"/schemas/ids/{schema_id}", auth=OWNER)


def error_of(answer: httpx.Response) -> tuple[int, int]:
    return answer.status_code, answer.json()["error_code"]


def test_an_id_past_the_id_space_is_refused_even_in_import(secured_registry: Registry) -> None:
    subject = "sales.imported_far.v1-value"
    schema = json.dumps(record("Far", ("id", "string")))
    with (
        owners_reader(secured_registry, "sales.far_good.v1-value").reading() as good,
        httpx.Client(base_url=secured_registry.url, auth=ADMIN, timeout=30) as ops,
        httpx.Client(base_url=secured_registry.url, auth=OWNER, timeout=30) as sales,
    ):
        assert ops.put(f"/mode/{subject}", json={"mode": "IMPORT"}).status_code == 200
        for n in repeatedly():
            far = (2**31, 2**32 - 1, 2**63)[n % 3]
            answer = sales.post(
                f"/subjects/{subject}/versions", json={"schema": schema, "id": far, "version": 1}
            )
            assert error_of(answer) == (422, ErrorCode.INVALID_SCHEMA), answer.text
        # the watermark kept nothing: the next ordinary id is still a small one
        assert ops.put(f"/mode/{subject}", json={"mode": "READWRITE"}).status_code == 200
        fresh = sales.post(f"/subjects/{subject}/versions", json={"schema": schema})
        assert fresh.json()["id"] < 100
    good.check()


def test_import_mode_by_an_owner_is_refused(secured_registry: Registry) -> None:
    subject = "sales.own_import.v1-value"
    with (
        owners_reader(secured_registry, "sales.import_good.v1-value").reading() as good,
        httpx.Client(base_url=secured_registry.url, auth=OWNER, timeout=30) as sales,
    ):
        for _ in repeatedly():
            answer = sales.put(f"/mode/{subject}", json={"mode": "IMPORT"})
            assert error_of(answer) == (403, ErrorCode.FORBIDDEN), answer.text
        assert sales.get(f"/mode/{subject}?defaultToGlobal=true").json()["mode"] == "READWRITE"
    good.check()


def rss_bytes() -> int:
    """This process's resident memory now (the registry under test runs in it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_a_streamed_body_over_the_cap_is_cut_off(secured_registry: Registry) -> None:
    """A chunked body announces no length: the cap stops reading it once it passes 4 MiB."""
    host, port = secured_registry.url.removeprefix("http://").split(":")
    chunk = b"x" * (1 << 20)
    token = base64.b64encode(b"sales:sales-pw")
    answers: list[str] = []
    sent = 0
    with owners_reader(secured_registry, "sales.streamed_good.v1-value").reading() as good:
        before = rss_bytes()
        for _ in repeatedly():
            with socket.create_connection((host, int(port)), timeout=30) as connection:
                connection.sendall(
                    b"POST /subjects/sales.streamed.v1-value/versions HTTP/1.1\r\n"
                    b"Host: registry\r\nAuthorization: Basic " + token + b"\r\n"
                    b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                with contextlib.suppress(OSError):  # the server may close while we still send
                    for _ in range(50):  # 50 MiB offered
                        connection.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                        sent += len(chunk)
                answers.append(connection.recv(65536).decode())
        grown = rss_bytes() - before
    good.check()
    assert answers
    assert all(answer.startswith("HTTP/1.1 413 ") for answer in answers), answers[0][:200]
    assert grown < 16 << 20, f"the process grew by {grown >> 20} MiB for {sent >> 20} MiB sent"


def test_a_write_to_an_open_path_is_refused(secured_registry: Registry) -> None:
    with (
        owners_reader(secured_registry, "sales.open_good.v1-value").reading() as good,
        httpx.Client(base_url=secured_registry.url, timeout=30) as nobody,
    ):
        for n in repeatedly():
            path = ("/health", "/ui", "/ui/static/catalog.js")[n % 3]
            answer = nobody.put(path, content=b"x" * 65536)
            assert error_of(answer) == (401, ErrorCode.UNAUTHORIZED), answer.text
    good.check()


def test_an_owner_cannot_lower_its_products_compatibility(secured_registry: Registry) -> None:
    subject = "sales.orders.v1-value"
    with httpx.Client(base_url=secured_registry.url, auth=OWNER, timeout=30) as sales:
        applied = sales.put("/products/sales/orders", json=orders_body())
        assert applied.status_code == 200, applied.text
        with owners_reader(secured_registry, "sales.none_good.v1-value").reading() as good:
            for _ in repeatedly():
                answer = sales.put(f"/config/{subject}", json={"compatibility": "NONE"})
                assert error_of(answer) == (422, ErrorCode.INVALID_COMPATIBILITY_LEVEL)
                assert "sales.orders.v1" in answer.json()["message"]
        good.check()
        assert sales.get(f"/config/{subject}?defaultToGlobal=true").json()[
            "compatibilityLevel"
        ] in ("BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")
