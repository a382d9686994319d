"""Bounds every request meets before anything reads it: the size of its body.

A body is buffered whole by the routes (and by the early answers), so one request with a huge
body would grow a worker by its size before anything refused it. Here a request that declares
a body over the cap is answered 413 at once, unread; one that streams its body without a length
is read up to the cap and answered 413 as soon as it passes it.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.registry.api.handlers import render_error
from services.registry.errors import PayloadTooLargeError

_UNREAD: Final = frozenset({"GET", "HEAD"})


class BodyLimit:
    """Refuse a request body over `limit` bytes with 413, ahead of everything else."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        # Nothing reads the body of a GET or a HEAD: the hot reads pass without a look.
        if scope["type"] != "http" or scope["method"] in _UNREAD:
            await app(scope, receive, send)
            return
        length, streamed = _framing(scope)
        if length is not None and length > self.limit:
            await self._refuse(scope, receive, send)
            return
        if not streamed:  # no body, or one the server frames by its declared length
            await app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:  # a streamed body (no length): read it up to the cap, then hand it on
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        replay = iter(messages)

        async def replayed() -> Message:
            return next(replay, None) or await receive()

        await app(scope, replayed, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = render_error(PayloadTooLargeError(self.limit))
        response.headers["Connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared body length (None: not declared or not a number) and whether the body
    comes chunked, without a length."""
    length: int | None = None
    streamed = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            streamed = True
    return length, streamed and length is None
