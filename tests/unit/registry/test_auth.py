"""Authentication accepts exactly the configured credentials; domains write only what they own."""

from __future__ import annotations

import asyncio
import base64
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.registry.api import auth as auth_module
from services.registry.api.auth import (
    Authenticator,
    AuthMiddleware,
    DomainAuthorizer,
    Principal,
    Role,
    User,
    add_user,
    hash_password,
    load_users,
    subject_domain,
    verify_password,
)
from services.registry.app import create_app
from services.registry.errors import ConfigurationError, ForbiddenError, UnauthorizedError
from services.registry.settings import RegistrySettings

from .samples import run


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


@pytest.fixture(scope="module")
def authenticator() -> Authenticator:
    cheap = {"iterations": 1000}
    return Authenticator(
        {
            "sales": User(password=hash_password("s3cret", **cheap), domains=("sales",)),
            "ops": User(password=hash_password("root", **cheap), role=Role.ADMIN),
        }
    )


def test_password_hashes_verify_only_the_password() -> None:
    stored = hash_password("pa:ss", iterations=1000)
    assert verify_password("pa:ss", stored)
    assert not verify_password("pa:sS", stored)
    assert not verify_password("pa:ss", "plain-text")
    assert hash_password("x", iterations=1000) != hash_password("x", iterations=1000)  # salted


def test_good_credentials_give_the_principal(authenticator: Authenticator) -> None:
    principal = run(authenticator.authenticate(basic("sales", "s3cret")))
    assert principal == Principal("sales", Role.OWNER, frozenset({"sales"}))
    assert run(authenticator.authenticate(basic("sales", "s3cret"))) is principal  # remembered


@pytest.mark.parametrize(
    "header",
    [
        None,
        b"Bearer abc",
        basic("sales", "wrong"),
        basic("nobody", "s3cret"),
        b"Basic !!!not-base64",
        b"Basic " + base64.b64encode(b"\xff\xfe"),
    ],
)
def test_bad_credentials_are_40101(authenticator: Authenticator, header: bytes | None) -> None:
    with pytest.raises(UnauthorizedError) as refused:
        run(authenticator.authenticate(header))
    assert (refused.value.http_status, refused.value.error_code) == (401, 40101)


SALES = Principal("sales", Role.OWNER, frozenset({"sales"}))
ADMIN = Principal("ops", Role.ADMIN, frozenset())
READER = Principal("bi", Role.READER, frozenset())

MATRIX = [
    # principal, method, path, allowed
    (SALES, "GET", "/subjects/customers.profiles.v1-value/versions/latest", True),
    (SALES, "POST", "/subjects/customers.profiles.v1-value", True),  # lookup is a read
    (SALES, "POST", "/subjects/sales.orders.v1-value/versions", True),
    (SALES, "POST", "/subjects/customers.profiles.v1-value/versions", False),
    (SALES, "DELETE", "/subjects/sales.orders.v1-value", True),
    (SALES, "DELETE", "/subjects/customers.profiles.v1-value/versions/1", False),
    (SALES, "PUT", "/config/sales.orders.v1-value", True),
    (SALES, "PUT", "/config", False),
    (SALES, "PUT", "/mode", False),
    (SALES, "PUT", "/mode/customers.profiles.v1-value", False),
    (SALES, "POST", "/compatibility/subjects/customers.profiles.v1-value/versions", True),
    (SALES, "POST", "/products/sales/orders", True),
    (SALES, "POST", "/products/marketing/cltv/deprecate", False),
    (SALES, "POST", "/products/marketing/cltv/impact", True),
    (SALES, "POST", "/subjects/sales%2Forders-value/versions", False),  # no domain prefix
    (READER, "GET", "/schemas/ids/1", True),
    (READER, "POST", "/subjects/sales.orders.v1-value/versions", False),
    (ADMIN, "PUT", "/config", True),
    (ADMIN, "DELETE", "/subjects/customers.profiles.v1-value", True),
]


@pytest.mark.parametrize(("principal", "method", "path", "allowed"), MATRIX)
def test_authorization_matrix(principal: Principal, method: str, path: str, allowed: bool) -> None:
    authorizer = DomainAuthorizer()
    if allowed:
        authorizer.authorize(principal, method, path)
    else:
        with pytest.raises(ForbiddenError) as refused:
            authorizer.authorize(principal, method, path)
        assert (refused.value.http_status, refused.value.error_code) == (403, 40301)
        assert principal.name in refused.value.message


def test_subject_domain_is_the_topic_prefix() -> None:
    assert subject_domain("sales.orders.v1-value") == "sales"
    assert subject_domain("orders-value") == ""


def test_user_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("users:\n  sales:\n    role: owner\n")  # no password
    with pytest.raises(ValueError, match=r"users\.yaml"):
        load_users(path)
    path.write_text(f"users:\n  sales:\n    password: '{hash_password('x', iterations=1000)}'\n")
    assert load_users(path)["sales"].role is Role.OWNER


def test_only_probes_and_the_page_files_are_open(authenticator: Authenticator) -> None:
    app = FastAPI()

    @app.get("/{path:path}")
    async def anything(path: str) -> dict[str, str]:
        return {"path": path}

    app.state.auth = (authenticator, DomainAuthorizer())  # as the registry's lifespan sets it
    app.add_middleware(AuthMiddleware)
    with TestClient(app) as client:
        for open_path in ("/health", "/ui", "/ui/", "/ui/static/catalog.js"):
            assert client.get(open_path).status_code == 200, open_path
        for closed in ("/ui/config", "/products", "/subjects", "/uix"):
            answer = client.get(closed)
            assert (answer.status_code, answer.json()["error_code"]) == (401, 40101), closed
            assert answer.headers["www-authenticate"] == 'Basic realm="StreamMesh"'
        auth = {"Authorization": basic("sales", "s3cret").decode()}
        assert client.get("/products", headers=auth).status_code == 200


def test_authentication_is_on_unless_switched_off_explicitly(tmp_path: Path) -> None:
    assert RegistrySettings().auth_enabled
    with pytest.raises(ConfigurationError, match="STREAMMESH_REGISTRY_AUTH_ENABLED=false"):
        create_app(RegistrySettings())
    create_app(RegistrySettings(auth_enabled=False))  # explicit: starts without users


def test_add_user_keeps_only_a_hash(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    add_user(path, "sales", "pa55word", Role.OWNER, ("sales",))
    add_user(path, "ops", "r00t", Role.ADMIN, ())
    assert "pa55word" not in path.read_text()
    users = load_users(path)
    assert verify_password("pa55word", users["sales"].password)
    assert (users["ops"].role, users["sales"].domains) == (Role.ADMIN, ("sales",))


class Ticking:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stored hashes PBKDF2 ran against, in order."""
    seen: list[str] = []

    def verify(password: str, stored: str) -> bool:
        seen.append(stored)
        return verify_password(password, stored)

    monkeypatch.setattr(auth_module, "verify_password", verify)
    return seen


def test_an_unknown_user_costs_the_hash_a_wrong_password_costs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Refusing an unknown name at once would tell names apart by the time a refusal takes.
    stored = hash_password("s3cret", iterations=1000)
    authenticator = Authenticator({"sales": User(password=stored)})
    hashed = counting_hashes(monkeypatch)
    for header in (basic("nobody", "s3cret"), basic("sales", "wrong")):
        with pytest.raises(UnauthorizedError):
            run(authenticator.authenticate(header))
    unknown, wrong = hashed
    assert unknown != stored
    assert unknown.split("$")[:2] == wrong.split("$")[:2] == ["pbkdf2_sha256", "1000"]


def test_a_refusal_is_remembered_for_a_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Ticking()
    authenticator = Authenticator(
        {"sales": User(password=hash_password("s3cret", iterations=1000))}, clock=clock
    )
    hashed = counting_hashes(monkeypatch)
    for _ in range(50):
        with pytest.raises(UnauthorizedError):
            run(authenticator.authenticate(basic("sales", "guess")))
    assert len(hashed) == 1
    clock.now += 60
    with pytest.raises(UnauthorizedError):
        run(authenticator.authenticate(basic("sales", "guess")))
    assert len(hashed) == 2
    assert run(authenticator.authenticate(basic("sales", "s3cret"))).name == "sales"


def test_concurrent_checks_of_one_credential_hash_once(monkeypatch: pytest.MonkeyPatch) -> None:
    authenticator = Authenticator({"sales": User(password=hash_password("x", iterations=1000))})
    hashed = counting_hashes(monkeypatch)

    async def fifty() -> list[BaseException | Principal]:
        return await asyncio.gather(
            *(authenticator.authenticate(basic("sales", "guess")) for _ in range(50)),
            return_exceptions=True,
        )

    answers = run(fifty())
    assert all(isinstance(answer, UnauthorizedError) for answer in answers)
    assert len(hashed) == 1


def test_remembered_credentials_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth_module, "_REMEMBERED", 10)
    monkeypatch.setattr(auth_module, "verify_password", lambda password, stored: False)
    authenticator = Authenticator({})
    for attempt in range(100):
        with pytest.raises(UnauthorizedError):
            run(authenticator.authenticate(basic("nobody", str(attempt))))
    assert authenticator.remembered == 10


def test_hashing_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []

    def verify(password: str, stored: str) -> bool:
        threads.append(threading.get_ident())
        return False

    monkeypatch.setattr(auth_module, "verify_password", verify)

    async def refused() -> int:
        with pytest.raises(UnauthorizedError):
            await Authenticator({}).authenticate(basic("nobody", "x"))
        return threading.get_ident()

    loop_thread = run(refused())
    assert threads
    assert loop_thread not in threads
