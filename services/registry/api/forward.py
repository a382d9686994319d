"""The leader and its followers: followers serve reads from their own copy of the log and
forward writes to the leader the election chose (``election.py``).

The leader tags each write's response with its log position; the forwarding follower waits
until its own copy has reached that position before answering, so a client that wrote through
any instance reads its write back from that instance (read-your-writes across instances).
Registering a schema that is already registered writes nothing, so a follower answers that
itself (see the register route); every other write is forwarded here. A forwarded request is
marked, so it never takes a second hop: an instance that receives one and does not lead
answers 50004, and the follower retries once the new leader is known.
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
from services.registry.election import Leadership
from services.registry.errors import ErrorCode, ForwardingError, NotLeaderError, RegistryError

POSITION_HEADER: Final = "x-streammesh-log-position"
FORWARDED_HEADER: Final = "x-streammesh-forwarded-by"
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


def was_forwarded(scope: Scope) -> bool:
    marker = FORWARDED_HEADER.encode()
    return any(name == marker for name, _ in scope["headers"])


class Forwarder:
    """Sends a write to the leader verbatim (credentials too) and waits to have applied it."""

    def __init__(
        self,
        leadership: Leadership,
        client: httpx.AsyncClient,
        wait_for_position: Callable[[int], Awaitable[None]],
        *,
        timeout: float,
    ) -> None:
        self.leadership = leadership
        self.client = client
        self.wait_for_position = wait_for_position
        self.timeout = timeout

    @property
    def forwarding(self) -> bool:
        """Whether writes go elsewhere: this instance does not lead."""
        return not self.leadership.is_leader

    async def settle(self) -> RegistryError | None:
        """Wait (bounded) until a leader is known, this instance or another, so a write that
        arrives during an election goes where the election ends; the error when none is."""
        try:
            await self.leadership.resolve(self.timeout)
        except NotLeaderError as error:
            return error
        return None

    async def forward(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
    ) -> Response:
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        if any(k.lower() == FORWARDED_HEADER.encode() for k, _ in kept):
            return render_error(NotLeaderError("This registry instance is not the leader"))
        kept.append((FORWARDED_HEADER.encode(), self.leadership.own_url.encode()))
        path = raw_path.decode("latin-1").split("?", 1)[0]
        if query:
            path += "?" + query.decode("latin-1")
        failed: str | None = None
        for attempt in (1, 2):
            try:
                leader = await self.leadership.resolve(self.timeout, not_url=failed)
            except RegistryError as error:
                return render_error(error)
            if leader is None:  # elected meanwhile: the client retries and lands here
                return render_error(NotLeaderError("The leadership moved here; retry"))
            try:
                answer = await self.client.request(
                    method, leader + path, content=body, headers=kept
                )
            except httpx.ConnectError as error:
                # Never reached the leader, so retrying cannot write twice.
                if attempt == 1:
                    failed = leader
                    continue
                return render_error(_forwarding_error(leader, error))
            except httpx.HTTPError as error:
                return render_error(_forwarding_error(leader, error))
            if attempt == 1 and _not_leader(answer):
                failed = leader
                continue
            break
        position = answer.headers.get(POSITION_HEADER)
        if position is not None and position.isdigit():
            await self.wait_for_position(int(position))
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type"),
        )


def _not_leader(answer: httpx.Response) -> bool:
    if answer.status_code != 500:
        return False
    try:
        return bool(answer.json().get("error_code") == ErrorCode.UNKNOWN_LEADER)
    except ValueError:
        return False


def _forwarding_error(leader: str, error: Exception) -> ForwardingError:
    return ForwardingError(f"Error while forwarding the request to the leader {leader}: {error}")


def scope_target(scope: Scope) -> tuple[bytes, bytes]:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    return raw_path, scope.get("query_string", b"")


class LogPosition(Protocol):
    """What the middleware reads of the registry's log."""

    @property
    def position(self) -> int:
        """The next offset the state will apply."""


class LeaderMiddleware:
    """On the leader, tags write responses with the log position; on a follower, forwards them.

    The log (``app.state.kafka_log``) and the forwarder (``app.state.forwarder``) are read per
    write: the lifespan opens them after the middleware stack is built.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_write(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        forwarder: Forwarder = state.forwarder
        unknown = await forwarder.settle()
        if unknown is not None:
            await render_error(unknown)(scope, receive, send)
        elif not forwarder.forwarding:
            kafka_log: LogPosition = state.kafka_log
            await self.app(scope, receive, _tagging(send, kafka_log))
        elif is_register(scope["method"], scope["path"]) and not was_forwarded(scope):
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
