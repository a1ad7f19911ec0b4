"""The request-body size limit (API_MAX_BODY_BYTES, or a route's own allowance, e.g. 1 MiB for
`POST /api/evidence`): a larger body is answered 413 in the error envelope before any of it is
parsed, whether it declares its length or streams chunks."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hybridmarket.api.errors import envelope


class BodyLimit:
    """Reads the whole body (at most `max_bytes`) before the app sees the request, then replays
    it; beyond that it stops reading and answers 413. Every route's body is small JSON, so
    buffering costs nothing and no route has to count bytes itself."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, allowances: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.allowances = dict(allowances or {})  # path -> its own limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.allowances.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: Message | None = {
            "type": "http.request",
            "body": b"".join(chunks),
            "more_body": False,
        }

        async def replay() -> Message:
            nonlocal body
            if body is None:
                return await receive()
            message, body = body, None
            return message

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        # Not `Connection: close`: closing with the body unread resets the connection, and the
        # client would never read the 413. uvicorn discards the rest of the body itself.
        response = envelope(
            413,
            "payload_too_large",
            f"request body larger than {limit} bytes",
            {"max_bytes": limit},
        )
        await response(scope, receive, send)
