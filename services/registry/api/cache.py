"""Rendered bodies of the hottest reads, so a repeated read costs a dict lookup.

Every entry is dropped whenever the log applies anything, so a cached body is never staler
than the state it was rendered from; writes are rare, reads by id are the mesh's hot path.

The cache holds at most ``STREAMMESH_REGISTRY_RENDER_CACHE_MAX_BYTES``, dropping the least
recently read body first, and its callers key it canonically (a version as its number, see
``subjects.version_key``), so no stream of distinct requests for the same answers grows it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Final

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from services.registry.api.wire import V1

# What an entry costs beside its body: its key (a subject, a digest) and the dict's slot.
ENTRY_OVERHEAD: Final = 256


class RenderCache:
    def __init__(self, max_bytes: int) -> None:
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._max_bytes = max_bytes
        self._bytes = 0

    @property
    def entries(self) -> int:
        return len(self._bodies)

    @property
    def size_bytes(self) -> int:
        """The bodies held, each with `ENTRY_OVERHEAD`; never more than the bound."""
        return self._bytes

    def body(self, key: Hashable, render: Callable[[], BaseModel]) -> bytes:
        """The cached body for ``key``, rendering it first if needed (errors are not cached)."""
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
            return body
        body = render().model_dump_json(by_alias=True, exclude_none=True).encode()
        cost = len(body) + ENTRY_OVERHEAD
        if cost > self._max_bytes:
            return body  # larger than the whole cache: answered, not kept
        while self._bytes + cost > self._max_bytes:
            _, dropped = self._bodies.popitem(last=False)
            self._bytes -= len(dropped) + ENTRY_OVERHEAD
        self._bodies[key] = body
        self._bytes += cost
        return body

    def response(self, key: Hashable, render: Callable[[], BaseModel]) -> Response:
        return Response(self.body(key, render), media_type=V1)

    def clear(self) -> None:
        self._bodies.clear()
        self._bytes = 0


async def get_render_cache(request: Request) -> RenderCache:
    cache: RenderCache = request.app.state.render_cache
    return cache
