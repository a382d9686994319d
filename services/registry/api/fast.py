"""The hottest reads answered before FastAPI routes them, from the bodies ``RenderCache`` holds.

``GET /schemas/ids/{id}`` (every consumer's deserializer, once per id) and
``GET /subjects/{s}/versions/{v}`` (serializers using the latest version) cost a dict lookup
here instead of routing, dependency solving and a ``Request``. The answer is byte for byte the
route's: the same cache key, the same render function, the same headers. It sits inside the
wire and auth middlewares, so negotiation, raw-path routing and authentication are unchanged;
anything it does not recognise or cannot answer (an error, an unusual path) goes on to the
routes, which render it as ever.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Final
from urllib.parse import parse_qsl

from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from services.registry.api.cache import RenderCache
from services.registry.api.deps import flag
from services.registry.api.subjects import version_param
from services.registry.api.wire import V1, decode_subject
from services.registry.core.registry import Registry
from services.registry.errors import RegistryError

_IDS: Final = "/schemas/ids/"
_SUBJECTS: Final = "/subjects/"
_CONTENT_TYPE: Final = (b"content-type", V1.encode())
_QUERY_MEMO_LIMIT: Final = 1024


class CachedReadMiddleware:
    """Pure ASGI: answers the cached reads itself, passes everything else on."""

    def __init__(self, app: ASGIApp, *, registry: Registry, cache: RenderCache) -> None:
        self.app = app
        self.registry = registry
        self.cache = cache
        # Query strings repeat (clients send the same few), so each is parsed once.
        self._queries: dict[bytes, dict[str, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = self._answer(scope["path"], scope.get("query_string", b""))
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-length", str(len(body)).encode()), _CONTENT_TYPE],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

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
        except RegistryError:
            return None  # the route raises it again and the one error handler renders it

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
