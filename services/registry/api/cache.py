"""Rendered bodies of the hottest reads, so a repeated read costs a dict lookup.

Every entry is dropped whenever the log applies anything, so a cached body is never staler
than the state it was rendered from; writes are rare, reads by id are the mesh's hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from services.registry.api.wire import V1


class RenderCache:
    def __init__(self, limit: int = 50_000) -> None:
        self._bodies: dict[Hashable, bytes] = {}
        self._limit = limit

    def body(self, key: Hashable, render: Callable[[], BaseModel]) -> bytes:
        """The cached body for ``key``, rendering it first if needed (errors are not cached)."""
        body = self._bodies.get(key)
        if body is None:
            body = render().model_dump_json(by_alias=True, exclude_none=True).encode()
            if len(self._bodies) >= self._limit:
                self._bodies.clear()
            self._bodies[key] = body
        return body

    def response(self, key: Hashable, render: Callable[[], BaseModel]) -> Response:
        return Response(self.body(key, render), media_type=V1)

    def clear(self) -> None:
        self._bodies.clear()


async def get_render_cache(request: Request) -> RenderCache:
    cache: RenderCache = request.app.state.render_cache
    return cache
