"""Primary and replicas: replicas serve reads from their own copy of the log and forward writes.

The primary tags each write's response with its log position; the forwarding replica waits
until its own copy has reached that position before answering, so a client that wrote through
any instance reads its write back from that instance (read-your-writes across instances).
Registering a schema that is already registered writes nothing, so a replica answers that
itself (see the register route); every other write is forwarded here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, Protocol

import httpx
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.registry.api.handlers import render_error
from services.registry.errors import ForwardingError

POSITION_HEADER: Final = "x-streammesh-log-position"
_REGISTER: Final = re.compile(r"^/subjects/.+/versions/?$")
# POST /subjects/{s} (lookup), POST /compatibility/... and a product's /impact are reads.
_PRODUCT_WRITE: Final = re.compile(r"^/products(/(?!.*/impact/?$).*)?/?$")
_HOP_BY_HOP: Final = {b"host", b"content-length", b"connection", b"transfer-encoding"}


def is_register(method: str, path: str) -> bool:
    return method == "POST" and bool(_REGISTER.match(path))


def is_write(method: str, path: str) -> bool:
    return (
        method in ("PUT", "DELETE")
        or is_register(method, path)
        or (method == "POST" and bool(_PRODUCT_WRITE.match(path)))
    )


class Forwarder:
    """Sends a write to the primary verbatim (credentials too) and waits to have applied it."""

    def __init__(
        self,
        primary_url: str,
        client: httpx.AsyncClient,
        wait_for_position: Callable[[int], Awaitable[None]],
    ) -> None:
        self.primary_url = primary_url.rstrip("/")
        self.client = client
        self.wait_for_position = wait_for_position

    async def forward(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
    ) -> Response:
        url = self.primary_url + raw_path.decode("latin-1").split("?", 1)[0]
        if query:
            url += "?" + query.decode("latin-1")
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        try:
            answer = await self.client.request(method, url, content=body, headers=kept)
        except httpx.HTTPError as error:
            return render_error(
                ForwardingError(
                    f"Error while forwarding the request to the primary {self.primary_url}: {error}"
                )
            )
        position = answer.headers.get(POSITION_HEADER)
        if position is not None and position.isdigit():
            await self.wait_for_position(int(position))
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type"),
        )


def scope_target(scope: Scope) -> tuple[bytes, bytes]:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    return raw_path, scope.get("query_string", b"")


class LogPosition(Protocol):
    """What the middleware reads of the registry's log."""

    @property
    def position(self) -> int:
        """The next offset the state will apply."""


class PrimaryReplicaMiddleware:
    """On the primary, tags write responses with the log position; on a replica, forwards them.

    The log (``app.state.kafka_log``) and the forwarder (``app.state.forwarder``, None on the
    primary) are read per write: the lifespan opens them after the middleware stack is built.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_write(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        forwarder: Forwarder | None = state.forwarder
        if forwarder is None:
            kafka_log: LogPosition = state.kafka_log
            await self.app(scope, receive, _tagging(send, kafka_log))
        elif is_register(scope["method"], scope["path"]):
            await self.app(scope, receive, send)  # the route answers or forwards
        else:
            body = bytearray()
            while True:
                message = await receive()
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    break
            raw_path, query = scope_target(scope)
            response = await forwarder.forward(
                scope["method"], raw_path, query, scope["headers"], bytes(body)
            )
            await response(scope, receive, send)


def _tagging(send: Send, kafka_log: LogPosition) -> Send:
    async def send_tagged(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).append(POSITION_HEADER, str(kafka_log.position))
        await send(message)

    return send_tagged
