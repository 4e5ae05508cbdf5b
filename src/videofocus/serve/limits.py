"""A request body size limit (uvicorn has none): a declared Content-Length over the limit is
refused before the body is read, a chunked body as soon as it passes the limit. The body is read
here and handed on whole: every route that takes one parses it whole anyway."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from videofocus.serve.errors import APIError


def _too_large(max_bytes: int) -> APIError:
    return APIError(413, f"the request body is larger than this server's limit of {max_bytes} bytes",
                    code="request_too_large")


class BodySizeLimit:
    """ASGI middleware answering 413 (OpenAI error JSON) to bodies over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes).response()(scope, receive, send)
            return
        body = await _read_body(receive, self.max_bytes)
        if body is None:
            await _too_large(self.max_bytes).response()(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # later calls wait for the client to disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The whole request body, or None once it passes `max_bytes`."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > max_bytes:
            return None
        more = message.get("more_body", False)
    return b"".join(chunks)
