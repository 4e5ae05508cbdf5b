"""A scripted OpenAI-compatible chat server (FastAPI under uvicorn) on 127.0.0.1, for tests that run
the data build pipeline over real HTTP. A script function turns each request body into the reply
text, so stage decisions are deterministic whatever order concurrent requests arrive in.

(Follow-up: once `videofocus serve` exists, the same tests can run against it with a scripted
backend.)"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class ScriptedLLM:
    """`script(body) -> reply text`; `requests` holds every request body received. Requests after the
    first `hold_after` are held unanswered until `release` is set (a run killed then has requests in
    flight)."""

    script: Callable[[dict], str]
    requests: list[dict] = field(default_factory=list)
    hold_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(body)
            if self.hold_after is not None and len(self.requests) > self.hold_after:
                while not self.release.is_set():
                    await asyncio.sleep(0.02)
            content = self.script(body)
            prompt_tokens = sum(len(text) for text in message_texts(body)) // 4
            return JSONResponse({"id": "scripted", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": content}}],
                                 "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content) // 4,
                                           "total_tokens": prompt_tokens + len(content) // 4}})

        return app


def message_texts(body: dict) -> list[str]:
    """The text of every message (the text parts of multimodal ones)."""
    texts = []
    for message in body["messages"]:
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
        else:
            texts += [part["text"] for part in content if part.get("type") == "text"]
    return texts


def image_parts(body: dict) -> list[str]:
    """The image URLs of a request's messages."""
    return [part["image_url"]["url"] for message in body["messages"] if isinstance(message["content"], list)
            for part in message["content"] if part.get("type") == "image_url"]


@contextmanager
def scripted_llm_server(script: Callable[[dict], str], *, hold_after: int | None = None) -> Iterator[ScriptedLLM]:
    """Serve `script` on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    state = ScriptedLLM(script, hold_after=hold_after)
    server = uvicorn.Server(uvicorn.Config(state.app(), host="127.0.0.1", port=0, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the scripted LLM server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        state.release.set()
        server.should_exit = True
        thread.join(timeout=10)
