"""Domain authentication (HTTP Basic, as ``basic.auth.user.info`` sends it) and authorization.

Who may do what, in one place:
- every authenticated principal reads everything: contracts are meant to be shared;
- a domain's principal writes only its own subjects (those of topics ``<domain>.…``) and its
  own products (``/products/<domain>/…``);
- global config and mode, and other domains' resources, need the ``admin`` role;
- ``reader`` principals only read. ``/health`` stays open for probes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import hashlib
import hmac
import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from services.registry.api.forward import is_write
from services.registry.api.handlers import render_error
from services.registry.api.wire import decode_subject
from services.registry.errors import ForbiddenError, RegistryError, UnauthorizedError

_ITERATIONS: Final = 200_000
# Bounds of the credential caches, so no stream of distinct headers grows them without end.
_REMEMBERED: Final = 10_000
# A refused credential is refused again from memory this long: a client retrying a wrong
# password costs one PBKDF2 per few seconds, not one per request.
_REFUSAL_SECONDS: Final = 5.0
# PBKDF2 runs off the event loop on at most half the cores, so logins never starve reads.
_HASHING_AT_ONCE: Final = max(1, (os.cpu_count() or 2) // 2)
# Probes and the catalog page's own files; the data the page fetches stays authenticated.
_OPEN_PATHS: Final = frozenset({"/health", "/ui", "/ui/"})
_OPEN_PREFIX: Final = "/ui/static/"
_SUBJECT_PATH: Final = re.compile(r"^/(?:subjects|config|mode|compatibility/subjects)/([^/]+)")
_PRODUCT_PATH: Final = re.compile(r"^/products/([^/]+)")


class Role(enum.StrEnum):
    OWNER = "owner"  # writes its domains' subjects and products
    ADMIN = "admin"  # writes everything
    READER = "reader"  # reads everything, writes nothing


class User(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    password: str  # "pbkdf2_sha256$<iterations>$<salt>$<hash>", made by hash_password()
    role: Role = Role.OWNER
    domains: tuple[str, ...] = ()


class UserFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    users: dict[str, User]


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    domains: frozenset[str]


def hash_password(password: str, *, iterations: int = _ITERATIONS) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, expected = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    return hmac.compare_digest(digest.hex(), expected)


def load_users(path: Path) -> dict[str, User]:
    try:
        raw = yaml.safe_load(path.read_text())
        return UserFile.model_validate(raw).users
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise ValueError(f"Cannot read the registry's users from {path}: {error}") from error


def add_user(path: Path, name: str, password: str, role: Role, domains: tuple[str, ...]) -> None:
    """Add or replace ``name`` in the users file (created if missing), password hashed."""
    users = load_users(path) if path.exists() else {}
    users[name] = User(password=hash_password(password), role=role, domains=domains)
    document = UserFile(users=users).model_dump(mode="json")
    path.write_text(yaml.safe_dump(document, sort_keys=True))
    path.chmod(0o600)


class Authenticator:
    """Checks Basic credentials with PBKDF2 off the event loop, the same work for a known and an
    unknown user; an answer is remembered under the digest of the credentials, bounded: a
    verified pair until it is the least recently used of `_REMEMBERED`, a refused one for
    `_REFUSAL_SECONDS`. Requests with the same credentials while one is being checked wait
    for that check instead of starting their own."""

    def __init__(
        self, users: dict[str, User], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._users = users
        self._clock = clock
        self._verified: OrderedDict[bytes, Principal] = OrderedDict()
        self._refused: OrderedDict[bytes, float] = OrderedDict()  # digest -> refused until
        self._checking: dict[bytes, asyncio.Task[Principal | None]] = {}
        self._hashing = asyncio.Semaphore(_HASHING_AT_ONCE)
        # An unknown name is checked against this, so it costs what a wrong password costs.
        iterations = max((_iterations(u.password) for u in users.values()), default=_ITERATIONS)
        self._unknown = f"pbkdf2_sha256${iterations}${'0' * 32}${'0' * 64}"

    @property
    def remembered(self) -> int:
        """How many credentials are remembered, verified or refused."""
        return len(self._verified) + len(self._refused)

    async def authenticate(self, authorization: bytes | None) -> Principal:
        if authorization is None or not authorization[:6].lower() == b"basic ":
            raise UnauthorizedError()
        token = authorization[6:].strip()
        key = hashlib.sha256(token).digest()
        known = self._verified.get(key)
        if known is not None:
            self._verified.move_to_end(key)
            return known
        if self._refused.get(key, 0.0) > self._clock():
            raise UnauthorizedError()
        checking = self._checking.get(key)
        if checking is None:
            checking = asyncio.create_task(self._check(key, token))
            self._checking[key] = checking
        # Shielded: a client that goes away does not cancel the check others wait for.
        principal = await asyncio.shield(checking)
        if principal is None:
            raise UnauthorizedError()
        return principal

    async def _check(self, key: bytes, token: bytes) -> Principal | None:
        try:
            principal = await self._verify(token)
            self._remember(key, principal)
            return principal
        finally:
            del self._checking[key]

    async def _verify(self, token: bytes) -> Principal | None:
        try:
            name, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user = self._users.get(name)
        stored = self._unknown if user is None else user.password
        async with self._hashing:
            matches = await asyncio.to_thread(verify_password, password, stored)
        if user is None or not matches:
            return None
        return Principal(name, user.role, frozenset(user.domains))

    def _remember(self, key: bytes, principal: Principal | None) -> None:
        if principal is not None:
            self._verified[key] = principal
            if len(self._verified) > _REMEMBERED:
                self._verified.popitem(last=False)
            return
        now = self._clock()
        # Every refusal lasts as long, so the oldest is first: drop the expired from the front.
        while self._refused and next(iter(self._refused.values())) <= now:
            self._refused.popitem(last=False)
        self._refused[key] = now + _REFUSAL_SECONDS
        self._refused.move_to_end(key)  # a refusal made again is the newest
        if len(self._refused) > _REMEMBERED:
            self._refused.popitem(last=False)


def _iterations(stored: str) -> int:
    parts = stored.split("$")
    return int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else _ITERATIONS


class Authorizer(Protocol):
    def authorize(self, principal: Principal, method: str, path: str) -> None:
        """Return if allowed; raise ``ForbiddenError`` otherwise."""


def subject_domain(subject: str) -> str:
    """The domain owning a subject: the first part of its topic ``<domain>.<product>.v<n>``."""
    return subject.split(".", 1)[0] if "." in subject else ""


class DomainAuthorizer:
    def authorize(self, principal: Principal, method: str, path: str) -> None:
        if not is_write(method, path) or principal.role is Role.ADMIN:
            return
        if principal.role is Role.OWNER:
            if match := _SUBJECT_PATH.match(path):
                subject = decode_subject(match.group(1))
                if subject_domain(subject) in principal.domains:
                    return
                raise ForbiddenError(
                    f"User {principal.name} may not change subject '{subject}': it belongs to "
                    f"domain '{subject_domain(subject)}', not to {sorted(principal.domains)}"
                )
            if (match := _PRODUCT_PATH.match(path)) and match.group(1) in principal.domains:
                return
        raise ForbiddenError(f"User {principal.name} may not {method} {path}")


async def authorize(
    authenticator: Authenticator, authorizer: Authorizer, scope: Scope, path: str
) -> Principal:
    """The principal of a request that may go on; raises the 40101 or 40301 to answer."""
    header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    principal = await authenticator.authenticate(header)
    authorizer.authorize(principal, scope["method"], path)
    return principal


class AuthMiddleware:
    """Pure ASGI: authenticate every request, authorize writes, before any route runs.

    The authenticator and authorizer are ``app.state.auth``: the lifespan loads the users.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or (
            # open to read only: a write to an open path is a request like any other
            scope["method"] in ("GET", "HEAD")
            and (path in _OPEN_PATHS or path.startswith(_OPEN_PREFIX))
        ):
            await self.app(scope, receive, send)
            return
        auth: tuple[Authenticator, Authorizer] = scope["app"].state.auth
        try:
            principal = await authorize(*auth, scope, path)
        except RegistryError as error:
            response = render_error(error)
            if isinstance(error, UnauthorizedError):
                response.headers["WWW-Authenticate"] = 'Basic realm="StreamMesh"'
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
