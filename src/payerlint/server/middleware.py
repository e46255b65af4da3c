"""ASGI middleware for the service: an access log that cannot leak a claim, the bearer
token, and the body size limit. Plain ASGI (not Starlette's BaseHTTPMiddleware) so a
streamed request or response passes through without being buffered.

Order, outermost first (app.py): access log -> token -> body limit -> the routes. The
log sees every response, including a 401 or a 413; the token is checked before a byte
of the body is read.
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Iterable

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS = logging.getLogger("payerlint.server.access")


async def send_json(send: Send, status: int, body: object, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    payload = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": payload})


class AccessLog:
    """One line per request: method, path, status, duration. Never the query string, a
    header or a body: claims hold patient data and logs outlive requests."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        except ClientDisconnect:
            # The client went away while sending its body or reading the answer: nobody is
            # left to answer and nothing failed here, so no 500 and no traceback in the log.
            status = 499
        finally:
            ACCESS.info("%s %s %d %.1fms", scope["method"], scope["path"], status,
                        (time.perf_counter() - started) * 1000)


class BearerToken:
    """`Authorization: Bearer <token>` on every request but the health check and the
    workbench's own files (which hold no data: the page asks for the token and sends it
    with each API call). Compared in constant time."""

    def __init__(self, app: ASGIApp, token: str | None, open_paths: tuple[str, ...], open_prefixes: tuple[str, ...]):
        self.app = app
        self.expected = token.encode() if token else None
        self.open_paths = open_paths
        self.open_prefixes = open_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.expected is None or scope["type"] != "http" or self._open(scope["path"]):
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
                break
        # The scheme is case-insensitive (RFC 7235 sec. 2.1); the token is compared in
        # constant time.
        scheme, _, credentials = given.strip().partition(b" ")
        if not (scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self.expected)):
            await send_json(send, 401, {"error": "a bearer token is required: send 'Authorization: Bearer <token>' "
                                                 "with the token the service was started with"},
                            [(b"www-authenticate", b'Bearer realm="payerlint"')])
            return
        await self.app(scope, receive, send)

    def _open(self, path: str) -> bool:
        return path in self.open_paths or path.startswith(self.open_prefixes)


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""

    def __init__(self, limit: int):
        super().__init__(f"the request body is larger than the service's limit of {limit:,} bytes")
        self.limit = limit


class BodyLimit:
    """413 for a body above `limit` bytes: at once when Content-Length says so, else as
    soon as the bytes read pass it (a chunked upload). A streaming route that has already
    answered catches `BodyTooLarge` itself and says so in its stream."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await send_json(send, 413, {"error": str(BodyTooLarge(self.limit))})
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            if started:
                raise
            await send_json(send, 413, {"error": str(exc)})


class SecurityHeaders:
    """The workbench loads only its own files: no CDN, no inline script, no framing; and
    no response (results hold what the user submitted) is kept in a cache."""

    POLICY = (b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
              b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", self.POLICY),
                                      (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                                      (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, with_headers)
