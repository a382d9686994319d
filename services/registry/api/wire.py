"""Wire details Confluent clients depend on, handled once for every route.

- Subjects may contain an encoded ``/``: routing runs on the raw path with ``%2F`` kept, and
  the ``Subject`` dependency decodes it.
- Content negotiation: answer in the first media type the client accepts among Confluent's
  three, 406 when it accepts none of them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import unquote

import orjson
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

V1: Final = "application/vnd.schemaregistry.v1+json"
SUPPORTED: Final = (V1, "application/vnd.schemaregistry+json", "application/json")
# Kept encoded while routing, so a subject's own "/" or "%" never splits or re-decodes a path.
_KEPT: Final = re.compile(r"%(2[fF]|25)")
_KEPT_DECODED: Final = {"2f": "/", "25": "%"}


class RegistryJSONResponse(JSONResponse):
    """JSON rendered with orjson in Confluent's media type (rewritten per request by the wire).

    A ``JSONResponse``, so FastAPI documents the routes' models as their bodies."""

    media_type = V1

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


@functools.lru_cache(maxsize=256)  # clients send the same few Accept headers on every request
def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when the client accepts none we serve."""
    if not accept:
        return V1
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, index, media.strip().lower()))
    for negative_quality, _, media in sorted(ranked):
        if negative_quality == 0:
            break
        if media in SUPPORTED:
            return media
        if media in ("*/*", "application/*"):
            return V1
    return None


def decode_subject(raw: str) -> str:
    """A path segment as the client meant it: ``%2F`` is "/", ``%25`` is "%" (one pass)."""
    return _KEPT.sub(lambda m: _KEPT_DECODED[m.group(1).lower()], raw)


def _route_path(raw_path: bytes) -> str:
    """The path decoded for routing, except the escapes ``decode_subject`` undoes later."""
    text = raw_path.decode("latin-1").split("?", 1)[0]
    parts = _KEPT.split(text)
    # split() alternates text and captured escapes: unquote the text, keep the escapes.
    return "".join(unquote(p) if i % 2 == 0 else f"%{p.upper()}" for i, p in enumerate(parts))


def route_path(scope: Scope) -> str:
    """The path routes match: decoded, except the escapes ``decode_subject`` undoes later."""
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path and b"%2" in raw_path:
        return _route_path(raw_path)
    path: str = scope["path"]
    return path


def requested_media(scope: Scope) -> str | None:
    """The media type to answer the request in (its first Accept header), None for a 406."""
    for name, value in scope["headers"]:
        if name == b"accept":
            return negotiate(value.decode("latin-1"))
    return negotiate(None)


class WireMiddleware:
    """Pure ASGI (no per-request task): raw-path routing and content negotiation."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        if path is not scope["path"]:
            scope = {**scope, "path": path}
        media = requested_media(scope)
        if media is None:
            body = orjson.dumps({"error_code": 406, "message": "HTTP 406 Not Acceptable"})
            refusal = Response(body, status_code=406, media_type="application/json")
            await refusal(scope, receive, send)
            return
        if media == V1:
            await self.app(scope, receive, send)
            return
        wanted = media.encode()

        async def send_as(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, wanted if k == b"content-type" and v == V1.encode() else v)
                    for k, v in message["headers"]
                ]
            await send(message)

        await self.app(scope, receive, send_as)


class RegistryRoute(APIRoute):
    """Every route omits null fields, as Confluent's JSON does."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["response_model_exclude_none"] = True
        super().__init__(path, endpoint, **kwargs)
