"""Primary and replicas: replicas serve reads from their own copy of the log and forward writes.

The primary tags each write's response with its log position; the forwarding replica waits
until its own copy has reached that position before answering, so a client that wrote through
any instance reads its write back from that instance (read-your-writes across instances).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Final

import httpx
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.registry.api.handlers import render_error
from services.registry.errors import ForwardingError

POSITION_HEADER: Final = "x-streammesh-log-position"
# POST /subjects/{s} (lookup), POST /compatibility/... and a product's /impact are reads.
_WRITE_POST: Final = re.compile(r"^(/subjects/.+/versions|/products(/(?!.*/impact/?$).*)?)/?$")
_HOP_BY_HOP: Final = {b"host", b"content-length", b"connection", b"transfer-encoding"}


def is_write(method: str, path: str) -> bool:
    return method in ("PUT", "DELETE") or (method == "POST" and bool(_WRITE_POST.match(path)))


class PrimaryReplicaMiddleware:
    """On the primary, tags write responses with the log position; on a replica, forwards them."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        position: Callable[[], int],
        wait_for_position: Callable[[int], Awaitable[None]],
        primary_url: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.app = app
        self.position = position
        self.wait_for_position = wait_for_position
        self.primary_url = primary_url.rstrip("/") if primary_url else None
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_write(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
        elif self.primary_url is None:
            await self.app(scope, receive, self._tagging(send))
        else:
            await self._forward(scope, receive, send)

    def _tagging(self, send: Send) -> Send:
        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(POSITION_HEADER, str(self.position()))
            await send(message)

        return send_tagged

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.primary_url is not None
        assert self.client is not None
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        url = self.primary_url + raw_path.decode("latin-1").split("?", 1)[0]
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        try:
            answer = await self.client.request(
                scope["method"], url, content=bytes(body), headers=headers
            )
        except httpx.HTTPError as error:
            # Middleware sits outside FastAPI's handlers, so the error is rendered here.
            failure = ForwardingError(
                f"Error while forwarding the request to the primary {self.primary_url}: {error}"
            )
            await render_error(failure)(scope, receive, send)
            return
        position = answer.headers.get(POSITION_HEADER)
        if position is not None and position.isdigit():
            await self.wait_for_position(int(position))
        response = Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type"),
        )
        await response(scope, receive, send)
