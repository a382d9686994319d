"""Every Confluent error code the registry returns is triggered by a real request, in its words."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from services.registry.errors import ErrorCode
from streammesh.broker.launcher import free_port
from tests.conftest import RegistryFactory
from tests.integration.registry.conftest import V1, record, register, subject_url

pytestmark = pytest.mark.integration

ORDER = record("Order", ("id", "string"))
ORDER_V2: dict[str, object] = {
    "type": "record",
    "name": "Order",
    "namespace": "test",
    "fields": [{"name": "id", "type": "string"}, {"name": "note", "type": "string", "default": ""}],
}
ORDER_BREAKING = record("Order", ("id", "string"), ("qty", "int"))
MONEY = record("Money", ("cents", "long"))
PAYMENT = record("Payment", ("amount", "test.Money"))

Act = Callable[[httpx.Client, str], httpx.Response]
Setup = Callable[[httpx.Client, str], None]


@dataclass(frozen=True)
class Case:
    """A request that fails, the state it needs, and Confluent's answer (`{s}` is the subject)."""

    act: Act
    status: int
    error_code: int
    message: str | re.Pattern[str]
    setup: Setup | None = None


def _register_schema(schema: dict[str, object]) -> Setup:
    def setup(http: httpx.Client, subject: str) -> None:
        register(http, subject, schema)

    return setup


def _steps(*steps: Setup) -> Setup:
    def setup(http: httpx.Client, subject: str) -> None:
        for step in steps:
            step(http, subject)

    return setup


def _call(method: str, path: str, body: object = None, **headers: str) -> Act:
    """`path` may hold `{s}`, the url-encoded subject."""

    def act(http: httpx.Client, subject: str) -> httpx.Response:
        url = path.format(s=subject_url(subject))
        content = None if body is None else body if isinstance(body, str) else json.dumps(body)
        request_headers = {"Content-Type": V1, **headers} if content is not None else headers
        return http.request(method, url, content=content, headers=request_headers)

    return act


def _ok(method: str, path: str, body: object = None) -> Setup:
    def setup(http: httpx.Client, subject: str) -> None:
        answer = _call(method, path, body)(http, subject)
        assert answer.status_code == 200, answer.text

    return setup


def _register_payment(http: httpx.Client, subject: str) -> None:
    register(http, f"{subject}-money", MONEY)
    refs = [{"name": "test.Money", "subject": f"{subject}-money", "version": 1}]
    register(http, subject, PAYMENT, references=refs)


def _schema(schema: object) -> dict[str, object]:
    return {"schema": schema if isinstance(schema, str) else json.dumps(schema)}


CASES: dict[str, Case] = {
    "40401 subject not found": Case(
        _call("GET", "/subjects/{s}/versions"), 404, 40401, "Subject '{s}' not found."
    ),
    "40402 version not found": Case(
        _call("GET", "/subjects/{s}/versions/7"),
        404,
        40402,
        "Version 7 not found.",
        setup=_register_schema(ORDER),
    ),
    "40403 schema id not found": Case(
        _call("GET", "/schemas/ids/987654"), 404, 40403, "Schema 987654 not found"
    ),
    "40403 lookup of a schema the subject lacks": Case(
        _call("POST", "/subjects/{s}", _schema(ORDER_V2)),
        404,
        40403,
        "Schema not found",
        setup=_register_schema(ORDER),
    ),
    "40404 subject soft-deleted twice": Case(
        _call("DELETE", "/subjects/{s}"),
        404,
        40404,
        "Subject '{s}' was soft deleted.Set permanent=true to delete permanently",
        setup=_steps(_register_schema(ORDER), _ok("DELETE", "/subjects/{s}")),
    ),
    "40405 subject hard-deleted before a soft delete": Case(
        _call("DELETE", "/subjects/{s}?permanent=true"),
        404,
        40405,
        "Subject '{s}' was not deleted first before being permanently deleted",
        setup=_register_schema(ORDER),
    ),
    "40406 version soft-deleted twice": Case(
        _call("DELETE", "/subjects/{s}/versions/1"),
        404,
        40406,
        "Subject '{s}' Version 1 was soft deleted.Set permanent=true to delete permanently",
        setup=_steps(
            _register_schema(ORDER),
            _register_schema(ORDER_V2),
            _ok("DELETE", "/subjects/{s}/versions/1"),
        ),
    ),
    "40407 version hard-deleted before a soft delete": Case(
        _call("DELETE", "/subjects/{s}/versions/1?permanent=true"),
        404,
        40407,
        "Subject '{s}' Version 1 was not deleted first before being permanently deleted",
        setup=_register_schema(ORDER),
    ),
    "40408 no subject compatibility": Case(
        _call("GET", "/config/{s}"),
        404,
        40408,
        "Subject '{s}' does not have subject-level compatibility configured",
        setup=_register_schema(ORDER),
    ),
    "40409 no subject mode": Case(
        _call("GET", "/mode/{s}"),
        404,
        40409,
        "Subject '{s}' does not have subject-level mode configured",
        setup=_register_schema(ORDER),
    ),
    "409 incompatible schema": Case(
        _call("POST", "/subjects/{s}/versions", _schema(ORDER_BREAKING)),
        409,
        409,
        'Schema being registered is incompatible with an earlier schema for subject "{s}", '
        "details: [{{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field "
        "'qty' at path '/fields/1' in the new schema has no default value and is missing in "
        "the old schema', additionalInfo:'qty'}}, {{oldSchemaVersion: 1}}, "
        '{{oldSchema: \'{{"type":"record","name":"Order","namespace":"test","fields":'
        '[{{"name":"id","type":"string"}}]}}\'}}, {{validateFields: \'false\', '
        "compatibility: 'BACKWARD'}}]",
        setup=_register_schema(ORDER),
    ),
    "42201 schema is not JSON": Case(
        _call("POST", "/subjects/{s}/versions", _schema("{not json")),
        422,
        42201,
        re.compile(r"^Invalid schema \{not json of type AVRO, details: .+"),
    ),
    "42201 invalid Avro": Case(
        _call(
            "POST",
            "/subjects/{s}/versions",
            _schema(record("Bad", ("a", "no.such.Type"))),
        ),
        422,
        42201,
        re.compile(r"^Invalid schema .* of type AVRO, details: .*no\.such\.Type"),
    ),
    "42201 reference to a missing subject": Case(
        _call(
            "POST",
            "/subjects/{s}/versions",
            {
                **_schema(PAYMENT),
                "references": [{"name": "test.Money", "subject": "nowhere", "version": 1}],
            },
        ),
        422,
        42201,
        re.compile(r"^Invalid schema reference test\.Money to subject nowhere version 1"),
    ),
    "42202 invalid version": Case(
        _call("GET", "/subjects/{s}/versions/0"),
        422,
        42202,
        "The specified version '0' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"',
        setup=_register_schema(ORDER),
    ),
    "42202 version that is not a number": Case(
        _call("GET", "/subjects/{s}/versions/newest"),
        422,
        42202,
        "The specified version 'newest' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"',
        setup=_register_schema(ORDER),
    ),
    "42203 invalid compatibility level": Case(
        _call("PUT", "/config/{s}", {"compatibility": "SIDEWAYS"}),
        422,
        42203,
        "Invalid compatibility level. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive",
    ),
    "42204 invalid mode": Case(
        _call("PUT", "/mode/{s}", {"mode": "SIDEWAYS"}),
        422,
        42204,
        "Invalid mode. Valid values are READWRITE, READONLY, and IMPORT.",
    ),
    "42205 register in READONLY": Case(
        _call("POST", "/subjects/{s}/versions", _schema(ORDER_V2)),
        422,
        42205,
        "Subject {s} is in read-only mode",
        setup=_steps(_register_schema(ORDER), _ok("PUT", "/mode/{s}", {"mode": "READONLY"})),
    ),
    "42205 explicit id outside IMPORT": Case(
        _call("POST", "/subjects/{s}/versions", {**_schema(ORDER), "id": 4242}),
        422,
        42205,
        "Subject {s} is not in import mode",
    ),
    "42206 delete a referenced version": Case(
        _call("DELETE", "/subjects/{s}-money/versions/1"),
        422,
        42206,
        "One or more references exist to the schema "
        "{{magic=1,keytype=SCHEMA,subject={s}-money,version=1}}.",
        setup=_register_payment,
    ),
    "404 unknown route": Case(_call("GET", "/no/such/route"), 404, 404, "HTTP 404 Not Found"),
    "405 wrong method": Case(
        _call("DELETE", "/schemas/types"), 405, 405, "HTTP 405 Method Not Allowed"
    ),
    "406 unacceptable Accept": Case(
        _call("GET", "/subjects", Accept="text/html"), 406, 406, "HTTP 406 Not Acceptable"
    ),
    "400 body is not JSON": Case(
        _call("POST", "/subjects/{s}/versions", '{"schema": nope'),
        400,
        400,
        re.compile(r"^Unexpected character"),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_error_code(http: httpx.Client, case: Case, request: pytest.FixtureRequest) -> None:
    subject = "errors." + request.node.callspec.id.split(" ", 1)[0] + "." + str(id(case))
    if case.setup is not None:
        case.setup(http, subject)

    answer = case.act(http, subject)

    assert answer.status_code == case.status, answer.text
    body = answer.json()
    assert set(body) == {"error_code", "message"}
    assert body["error_code"] == case.error_code
    if isinstance(case.message, str):
        assert body["message"] == case.message.format(s=subject)
    else:
        assert case.message.search(body["message"]), body["message"]


# Confluent's codes, and where those not in the table above are triggered.
CONFLUENT_CODES = {
    400, 404, 405, 406, 409,
    40401, 40402, 40403, 40404, 40405, 40406, 40407, 40408, 40409,
    42201, 42202, 42203, 42204, 42205, 42206,
    40101, 40301, 50001, 50002, 50003, 50004,
}  # fmt: skip
TESTED_ELSEWHERE = {
    ErrorCode.UNAUTHORIZED: "test_auth.py",
    ErrorCode.FORBIDDEN: "test_auth.py",
    ErrorCode.STORE_ERROR: "test_50001_write_refused_by_kafka",
    ErrorCode.OPERATION_TIMEOUT: "test_50002_write_not_acknowledged_in_time",
    ErrorCode.FORWARDING_ERROR: "test_50003_follower_whose_primary_is_down",
    ErrorCode.UNKNOWN_LEADER: "test_50004_follower_with_no_leader",
}


def test_every_confluent_error_code_has_a_case() -> None:
    covered = {case.error_code for case in CASES.values()} | set(TESTED_ELSEWHERE)
    assert covered >= CONFLUENT_CODES, sorted(CONFLUENT_CODES - covered)
    assert {code for code in ErrorCode if code in CONFLUENT_CODES} >= set(TESTED_ELSEWHERE)


def test_50003_follower_whose_primary_is_down(registry_factory: RegistryFactory) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    replica = registry_factory(primary_url=closed)
    answer = httpx.post(
        f"{replica}/subjects/orders/versions", json=_schema(ORDER), headers={"Accept": V1}
    )
    assert answer.status_code == 500
    body = answer.json()
    assert body["error_code"] == 50003
    assert body["message"].startswith(
        f"Error while forwarding the request to the leader {closed}: "
    )
    # Reads are still served by the replica itself.
    assert httpx.get(f"{replica}/subjects").json() == []


def test_50002_write_not_acknowledged_in_time(registry_factory: RegistryFactory) -> None:
    url = registry_factory(write_timeout_seconds=0.001)
    answer = httpx.post(f"{url}/subjects/orders/versions", json=_schema(ORDER))
    assert answer.status_code == 500
    body = answer.json()
    assert body["error_code"] == 50002
    # the write itself or its read-back, whichever the 1 ms runs out in first
    timed_out = r"^(Write to \S+ was not acknowledged within|The registry log did not reach offset)"
    assert re.match(timed_out, body["message"]), body


def test_50001_write_refused_by_kafka(registry_factory: RegistryFactory) -> None:
    """A record larger than the producer's `message.max.bytes` (1 MB) is refused by Kafka."""
    url = registry_factory()
    huge = {**ORDER, "doc": "x" * 1_100_000}
    answer = httpx.post(f"{url}/subjects/orders/versions", json=_schema(huge))
    assert answer.status_code == 500
    body = answer.json()
    assert body["error_code"] == 50001
    assert body["message"].startswith("Error while registering the schema in the backend"), body
    # The registry is still usable afterwards.
    assert httpx.post(f"{url}/subjects/orders/versions", json=_schema(ORDER)).status_code == 200


def test_50004_follower_with_no_leader(registry_factory: RegistryFactory) -> None:
    """An instance that does not stand for election, on a log no leader ever wrote to."""
    follower = registry_factory(
        leader_eligible=False, election_session_timeout_ms=1000, write_timeout_seconds=1
    )
    answer = httpx.post(
        f"{follower}/subjects/orders/versions", json=_schema(ORDER), headers={"Accept": V1}
    )
    assert answer.status_code == 500
    assert answer.json()["error_code"] == 50004
    assert "No registry leader is known" in answer.json()["message"]
