"""The hottest requests answered ahead of the whole FastAPI stack.

``GET /schemas/ids/{id}`` (every consumer's deserializer, once per id) and
``GET /subjects/{s}/versions/{v}`` (serializers using the latest version) come from
``RenderCache``'s bodies; ``POST /subjects/{s}`` (lookup) and registering a schema a subject
already holds (every producer's serializer at start) are answered from the state. Each then
costs a dict lookup or two instead of a pass through every middleware, routing, dependency
solving and a ``Request``.

Only the plain success is answered here, byte for byte the app's: the same wire helpers pick
the path and the media type, the same authenticator and authorizer let the request in, the
same request model, registry calls and cache keys give the body, and a register answered on
the primary carries its log position as the app's would. Anything else (a 406, a 401, an
error of the registry, a registration that writes, a path it does not serve) goes on to the
app, with the request body replayed, which answers it as ever through the one error handler.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Final
from urllib.parse import parse_qsl

import orjson
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.registry.api.auth import Authenticator, Authorizer, authorize
from services.registry.api.cache import RenderCache
from services.registry.api.deps import flag
from services.registry.api.forward import POSITION_HEADER
from services.registry.api.subjects import SchemaBody, SchemaRequest, version_key, version_param
from services.registry.api.wire import decode_subject, requested_media, route_path
from services.registry.core.registry import Registry
from services.registry.errors import RegistryError
from services.registry.models import SchemaId

_IDS: Final = "/schemas/ids/"
_SUBJECTS: Final = "/subjects/"
_QUERY_MEMO_LIMIT: Final = 1024
_BODY_LIMIT: Final = 1 << 20  # a larger schema is left to the app
_JSON_TYPES: Final = frozenset(
    {
        "application/json",
        "application/vnd.schemaregistry.v1+json",
        "application/vnd.schemaregistry+json",
    }
)


class _NotAnsweredError(Exception):
    """A request this layer does not answer."""


class EarlyAnswers:
    """Answers a request it can answer in full, hands every other one to the app."""

    def __init__(
        self,
        registry: Registry,
        cache: RenderCache,
        auth: tuple[Authenticator, Authorizer] | None = None,
        position: Callable[[], int] | None = None,
    ) -> None:
        self.registry = registry
        self.cache = cache
        self.auth = auth
        self.position = position  # the primary's log position; None on a replica
        # Query strings repeat (clients send the same few), so each is parsed once.
        self._queries: dict[bytes, dict[str, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        method = scope["method"] if scope["type"] == "http" else ""
        path = route_path(scope) if method in ("GET", "POST") else ""
        if not path.startswith(_SUBJECTS if method == "POST" else (_IDS, _SUBJECTS)):
            await app(scope, receive, send)
            return
        media = requested_media(scope)
        if media is None or not await self._allowed(scope, path):
            await app(scope, receive, send)
            return
        query_string: bytes = scope.get("query_string", b"")
        extra: list[tuple[bytes, bytes]] = []
        if method == "GET":
            body = self._answer(path, query_string)
        else:
            request, receive = await _read_body(receive)
            body = self._answer_post(path, query_string, scope, request)
            if body is not None and self.position is not None and path.endswith("/versions"):
                extra.append((POSITION_HEADER.encode(), str(self.position()).encode()))
        if body is None:
            await app(scope, receive, send)
            return
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", media.encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _allowed(self, scope: Scope, path: str) -> bool:
        if self.auth is None:
            return True
        try:
            await authorize(*self.auth, scope, path)
        except RegistryError:
            return False  # the app refuses it, in its own words
        return True

    def _answer(self, path: str, query_string: bytes) -> bytes | None:
        """The cached body of a read this layer serves, or None to let the routes answer."""
        registry = self.registry
        if path.startswith(_IDS):
            raw_id = path[len(_IDS) :]
            if not (raw_id.isascii() and raw_id.isdigit()):
                return None  # /subjects, /versions, /schema under an id, or not an id at all
            schema_id = int(raw_id)
            query = self._query(query_string)
            subject = query.get("subject")
            max_id = flag(query.get("fetchMaxId"))
            return self._body(
                ("id", schema_id, subject, max_id),
                lambda: registry.get_schema_by_id(schema_id, subject, max_id),
            )
        if path.startswith(_SUBJECTS):
            parts = path[len(_SUBJECTS) :].split("/")
            if len(parts) != 3 or parts[1] != "versions" or not parts[0] or not parts[2]:
                return None
            subject, version = decode_subject(parts[0]), parts[2]
            deleted = flag(self._query(query_string).get("deleted"))
            return self._body(
                ("version", subject, version_key(version), deleted),
                lambda: registry.get_version(subject, version_param(version), deleted),
            )
        return None

    def _answer_post(
        self, path: str, query_string: bytes, scope: Scope, request: bytes | None
    ) -> bytes | None:
        """A lookup's answer, or the id a registration that writes nothing answers with."""
        parts = path[len(_SUBJECTS) :].split("/")
        register = len(parts) == 2 and parts[1] == "versions"
        if request is None or not parts[0] or not (len(parts) == 1 or register):
            return None
        content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        if content_type.decode("latin-1").split(";")[0].strip().lower() not in _JSON_TYPES:
            return None  # FastAPI reads other bodies differently: let it
        subject = decode_subject(parts[0])
        query = self._query(query_string)
        normalize = flag(query.get("normalize"))
        deleted = flag(query.get("deleted")) and not register
        registry = self.registry

        def render() -> BaseModel:
            if not register:
                looked_up = SchemaBody.model_validate(orjson.loads(request))
                return registry.lookup(
                    subject, looked_up.schema_, looked_up.references, normalize, deleted
                )
            body = SchemaRequest.model_validate(orjson.loads(request))
            if body.id is not None or body.version is not None:
                raise _NotAnsweredError  # explicit ids and versions are the IMPORT mode's, and rare
            existing = registry.registered_id(
                subject,
                body.schema_,
                schema_type=body.schema_type,
                references=body.references,
                metadata=body.metadata,
                rule_set=body.rule_set,
                normalize=normalize,
            )
            if existing is None:
                raise _NotAnsweredError  # it writes: the route does that
            return SchemaId(id=existing)

        # Producers send the same few request bodies again and again: the answer to each is
        # cached (under the body's digest, so keys stay small) until the log next changes the
        # state, like every other cached body.
        digest = hashlib.sha256(request).digest()
        return self._body(("post", register, subject, normalize, deleted, digest), render)

    def _body(self, key: Hashable, render: Callable[[], BaseModel]) -> bytes | None:
        try:
            return self.cache.body(key, render)
        except Exception:  # noqa: BLE001 - the route raises it again and the handlers render it
            return None

    def _query(self, query_string: bytes) -> dict[str, str]:
        if not query_string:
            return {}
        query = self._queries.get(query_string)
        if query is None:
            # As Starlette's QueryParams: blank values kept, the last of a repeated name wins.
            query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
            if len(self._queries) >= _QUERY_MEMO_LIMIT:
                self._queries.clear()
            self._queries[query_string] = query
        return query


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The request body (None past the limit), and a receive that gives the app all of it."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body") or size > _BODY_LIMIT:
            break
    complete = messages[-1]["type"] == "http.request" and not messages[-1].get("more_body")
    body = b"".join(m.get("body", b"") for m in messages) if complete else None
    replay = iter(messages)

    async def replayed() -> Message:
        return next(replay, None) or await receive()

    return body, replayed
