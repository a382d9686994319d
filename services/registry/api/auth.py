"""Domain authentication (HTTP Basic, as ``basic.auth.user.info`` sends it) and authorization.

Who may do what, in one place:
- every authenticated principal reads everything: contracts are meant to be shared;
- a domain's principal writes only its own subjects (those of topics ``<domain>.…``) and its
  own products (``/products/<domain>/…``);
- global config and mode, and other domains' resources, need the ``admin`` role;
- ``reader`` principals only read. ``/health`` stays open for probes.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
import secrets
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
    """Checks Basic credentials; a verified (user, password) pair is remembered, because
    PBKDF2 is slow on purpose and reads by id are the mesh's hot path."""

    def __init__(self, users: dict[str, User]) -> None:
        self._users = users
        self._verified: dict[bytes, Principal] = {}

    def authenticate(self, authorization: bytes | None) -> Principal:
        if authorization is None or not authorization[:6].lower() == b"basic ":
            raise UnauthorizedError()
        token = authorization[6:].strip()
        known = self._verified.get(token)
        if known is not None:
            return known
        try:
            name, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise UnauthorizedError() from error
        user = self._users.get(name)
        if user is None or not verify_password(password, user.password):
            raise UnauthorizedError()
        principal = Principal(name, user.role, frozenset(user.domains))
        self._verified[token] = principal
        return principal


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


def authorize(
    authenticator: Authenticator, authorizer: Authorizer, scope: Scope, path: str
) -> Principal:
    """The principal of a request that may go on; raises the 40101 or 40301 to answer."""
    header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
    principal = authenticator.authenticate(header)
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
            principal = authorize(*auth, scope, path)
        except RegistryError as error:
            response = render_error(error)
            if isinstance(error, UnauthorizedError):
                response.headers["WWW-Authenticate"] = 'Basic realm="StreamMesh"'
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
