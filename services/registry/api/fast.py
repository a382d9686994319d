"""The hottest reads answered ahead of the whole FastAPI stack, from ``RenderCache``'s bodies.

``GET /schemas/ids/{id}`` (every consumer's deserializer, once per id) and
``GET /subjects/{s}/versions/{v}`` (serializers using the latest version) then cost a dict
lookup instead of a pass through every middleware, routing, dependency solving and a
``Request``. Only the plain success is answered here, byte for byte the route's: the same
wire helpers pick the path and the media type, the same authenticator and authorizer let the
request in, the same cache key and render function give the body. Anything else (a 406, a
401, an error of the registry, a path it does not serve) goes on to the app, which answers it
as ever through the one error handler.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Final
from urllib.parse import parse_qsl

from pydantic import BaseModel
from starlette.types import Scope, Send

from services.registry.api.cache import RenderCache
from services.registry.api.deps import flag
from services.registry.api.subjects import version_param
from services.registry.api.wire import decode_subject, requested_media, route_path
from services.registry.auth import Authenticator, Authorizer, authorize
from services.registry.core.registry import Registry
from services.registry.errors import RegistryError

_IDS: Final = "/schemas/ids/"
_SUBJECTS: Final = "/subjects/"
_QUERY_MEMO_LIMIT: Final = 1024


class CachedReads:
    """Answers the cached reads of a request it can answer in full; says False otherwise."""

    def __init__(
        self,
        registry: Registry,
        cache: RenderCache,
        auth: tuple[Authenticator, Authorizer] | None = None,
    ) -> None:
        self.registry = registry
        self.cache = cache
        self.auth = auth
        # Query strings repeat (clients send the same few), so each is parsed once.
        self._queries: dict[bytes, dict[str, str]] = {}

    async def answer(self, scope: Scope, send: Send) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        path = route_path(scope)
        if not path.startswith((_IDS, _SUBJECTS)):
            return False
        media = requested_media(scope)
        if media is None:
            return False
        if self.auth is not None:
            try:
                authorize(*self.auth, scope, path)
            except RegistryError:
                return False
        body = self._answer(path, scope.get("query_string", b""))
        if body is None:
            return False
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", media.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
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
                ("version", subject, version, deleted),
                lambda: registry.get_version(subject, version_param(version), deleted),
            )
        return None

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
