"""A request body over the cap is answered 413 before anything buffers it; any other request
reaches the app with its body whole."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from services.registry.api.limits import BodyLimit

LIMIT = 1024


def scope(method: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": method, "path": "/subjects/s/versions", "headers": headers}


class Exchange:
    """One request through `BodyLimit`: what the app received and what the client got."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.pending = [
            {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
            for n, chunk in enumerate(chunks)
        ]
        self.read = 0
        self.sent: list[Message] = []
        self.app_body: bytes | None = None

    async def receive(self) -> Message:
        self.read += 1
        return self.pending.pop(0)

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def app(self, _scope: Scope, receive: Receive, _send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.app_body = body

    def run(self, request: Scope) -> None:
        asyncio.run(BodyLimit(LIMIT)(request, self.receive, self.send, self.app))

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"]) if self.sent else 0


def test_a_declared_body_over_the_cap_is_refused_unread() -> None:
    exchange = Exchange([b"x" * 10])
    exchange.run(scope("POST", [(b"content-length", str(LIMIT + 1).encode())]))
    assert exchange.status == 413
    assert exchange.read == 0
    assert exchange.app_body is None
    body = json.loads(exchange.sent[1]["body"])
    assert body["error_code"] == 413
    assert str(LIMIT) in body["message"]


def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_cap() -> None:
    exchange = Exchange([b"x" * 600, b"x" * 600, b"x" * 600])
    exchange.run(scope("POST", [(b"transfer-encoding", b"chunked")]))
    assert exchange.status == 413
    assert exchange.read == 2  # the third chunk is never read
    assert exchange.app_body is None


def test_bodies_within_the_cap_reach_the_app_whole() -> None:
    streamed = Exchange([b"a" * 500, b"b" * 500])
    streamed.run(scope("POST", [(b"transfer-encoding", b"chunked")]))
    assert streamed.app_body == b"a" * 500 + b"b" * 500
    declared = Exchange([b"c" * LIMIT])
    declared.run(scope("POST", [(b"content-length", str(LIMIT).encode())]))
    assert declared.app_body == b"c" * LIMIT
    bodiless = Exchange([b""])
    bodiless.run(scope("GET", []))
    assert (bodiless.app_body, bodiless.sent) == (b"", [])
