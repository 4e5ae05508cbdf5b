"""One way to call an LLM: any OpenAI-compatible chat endpoint (a vLLM server in practice) through the
official `openai` client. Used by the caption judge (videofocus.judge) and the data build pipeline
(videofocus.data.vtts).

Each question is asked with a total deadline per attempt (not just a per-read timeout: a server that
trickles one byte a second never trips a read timeout), a cap on the response size, a concurrency
limit, and retries with exponential backoff. The reply is read by a caller-given function; a reply it
cannot read (`UnreadableReply`) is retried like a network failure. After the last attempt the caller
gets `LLMUnavailable` (the endpoint is down, refuses, or keeps failing) or `ReplyUnreadable` (it
answers, but never in a form that can be read): never a silent default.

Redirects are not followed: a chat endpoint that redirects a POST is misconfigured, and following it
would hand the API key to whichever host the redirect names."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx2
import openai
from pydantic import BaseModel, ConfigDict, Field

from videofocus.errors import VideoFocusError

T = TypeVar("T")
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
NO_KEY = "EMPTY"  # vLLM's documented placeholder
_DETAIL_CHARS = 300  # how much of a refusal's body an error message quotes


class EndpointSettings(BaseModel):
    """Where and how to ask: an OpenAI-compatible server, its model, and the client's limits.

    `timeout` is the total deadline of one attempt (connect, send, wait, read), in seconds; a failed
    attempt is retried `retries` times, waiting `backoff * 2**k` seconds before retry k. The key is
    `api_key`, or read from the environment variable named by `api_key_env` (keeps it out of config
    files). Prices (per million tokens) only feed the cost estimate."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    api_key: str | None = None
    api_key_env: str | None = None
    timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=3, ge=0)
    backoff: float = Field(default=1.0, ge=0)
    concurrency: int = Field(default=8, ge=1)
    max_tokens: int = Field(default=1024, ge=1)
    temperature: float = Field(default=0.0, ge=0)
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=1024)
    input_price_per_million: float = Field(default=0.0, ge=0)
    output_price_per_million: float = Field(default=0.0, ge=0)

    @property
    def api_root(self) -> str:
        """The base URL ending in /v1, as the openai client wants it (`http://host:8000` works too)."""
        root = self.base_url.rstrip("/")
        return root if root.endswith("/v1") else f"{root}/v1"

    @property
    def url(self) -> str:
        return f"{self.api_root}/chat/completions"

    def key(self) -> str | None:
        if self.api_key:
            return self.api_key
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class LLMError(VideoFocusError):
    """A question to an LLM endpoint that got no usable answer."""


class LLMUnavailable(LLMError):
    """The endpoint is down, refuses the request, redirects, or keeps failing after all retries."""


class ReplyUnreadable(LLMError):
    """The endpoint answered every attempt, but never in a form the caller could read."""


class UnreadableReply(Exception):
    """Raised by a reply reader for a reply it cannot read; the question is asked again."""


class ResponseTooLarge(Exception):
    """The response body passed the configured size cap."""


@dataclass
class Usage:
    """Requests and tokens spent so far (replies that could not be read count too)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.requests += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    def cost(self, settings: EndpointSettings) -> float:
        return (self.prompt_tokens * settings.input_price_per_million
                + self.completion_tokens * settings.output_price_per_million) / 1e6


@dataclass(frozen=True)
class Answer(Generic[T]):
    """A read reply: the reader's value, the raw text, and its token counts."""

    value: T
    text: str
    prompt_tokens: int
    completion_tokens: int


class _Retryable(Exception):
    def __init__(self, problem: str, *, unreadable: bool = False):
        super().__init__(problem)
        self.unreadable = unreadable


@dataclass
class _Connection:
    loop: asyncio.AbstractEventLoop
    client: openai.AsyncOpenAI
    limit: asyncio.Semaphore


async def backoff_sleep(seconds: float) -> None:
    """The pause between attempts (a module function so that tests can skip it)."""
    await asyncio.sleep(seconds)


@dataclass
class LLMClient:
    """Asks one endpoint questions; `name` says which in error messages ("caption judge")."""

    settings: EndpointSettings
    name: str = "LLM"
    usage: Usage = field(default_factory=Usage)
    _connection: _Connection | None = field(default=None, init=False, repr=False)

    async def ask(self, messages: list[dict], read: Callable[[str], T]) -> Answer[T]:
        """Ask, then read the reply with `read`; both retried together (module docstring)."""
        attempts = self.settings.retries + 1
        problem = _Retryable("no attempt made")
        for attempt in range(attempts):
            if attempt:
                await backoff_sleep(self.settings.backoff * 2 ** (attempt - 1))
            try:
                text, prompt_tokens, completion_tokens = await self._complete(messages)
                return Answer(_read(read, text), text, prompt_tokens, completion_tokens)
            except _Retryable as error:
                problem = error
        failure = ReplyUnreadable if problem.unreadable else LLMUnavailable
        raise failure(f"{self.name} at {self.settings.url} failed after {attempts} attempts ({problem})")

    def ask_sync(self, messages: list[dict], read: Callable[[str], T]) -> Answer[T]:
        """`ask` from synchronous code; from a thread that runs an event loop (a server calling the
        reward code), the question runs on a worker thread's own loop."""
        async def ask_and_close() -> Answer[T]:
            try:
                return await self.ask(messages, read)
            finally:
                await self.aclose()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(ask_and_close())
        with ThreadPoolExecutor(max_workers=1) as worker:
            return worker.submit(asyncio.run, ask_and_close()).result()

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._connection.client.close()
            self._connection = None

    async def _complete(self, messages: list[dict]) -> tuple[str, int, int]:
        """The assistant text of one chat completion, within the deadline and the concurrency limit."""
        connection = self._connected()
        settings = self.settings
        async with connection.limit:
            try:
                completion = await asyncio.wait_for(connection.client.chat.completions.create(
                    model=settings.model, messages=messages, temperature=settings.temperature,
                    max_tokens=settings.max_tokens), timeout=settings.timeout)
            except asyncio.TimeoutError:
                raise _Retryable(f"cannot reach the server (no complete reply within {settings.timeout:g} s)") from None
            except openai.APIStatusError as error:
                raise self._status_problem(error) from None
            except ResponseTooLarge:
                raise _too_large(settings.max_response_bytes) from None
            except openai.APIConnectionError as error:
                raise _connection_problem(error, settings.max_response_bytes) from None
            except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError):
                raise _Retryable("the response is not a chat completion", unreadable=True) from None
        usage = getattr(completion, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        self.usage.add(prompt_tokens, completion_tokens)
        try:
            content = completion.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            content = None
        if not isinstance(content, str):
            raise _Retryable("the response has no choices[0].message.content", unreadable=True)
        return content, prompt_tokens, completion_tokens

    def _status_problem(self, error: openai.APIStatusError) -> Exception:
        status = error.status_code
        if status >= 500 or status in (408, 429):
            return _Retryable(f"HTTP {status}")
        where = f"{self.name} at {self.settings.url}"
        if 300 <= status < 400:
            target = error.response.headers.get("location", "?")
            return LLMUnavailable(f"{where} redirected the request to {target}; redirects are not followed "
                                  "(the API key must not go to another host): set base_url to the final address")
        detail = error.response.text[:_DETAIL_CHARS] if error.response.is_closed else ""
        return LLMUnavailable(f"{where} refused the request: HTTP {status} {detail}".rstrip())

    def _connected(self) -> _Connection:
        """The openai client of the running event loop (an async client belongs to one loop)."""
        loop = asyncio.get_running_loop()
        if self._connection is None or self._connection.loop is not loop:
            settings = self.settings
            http = httpx2.AsyncClient(
                timeout=httpx2.Timeout(settings.timeout), follow_redirects=False,
                transport=_CappedTransport(httpx2.AsyncHTTPTransport(), settings.max_response_bytes),
                # The size cap counts bytes on the wire: ask for them uncompressed (no zip bombs).
                headers={"Accept-Encoding": "identity"})
            # The client insists on a key; keyless servers (vLLM without --api-key) ignore this one.
            client = openai.AsyncOpenAI(base_url=settings.api_root, api_key=settings.key() or NO_KEY,
                                        max_retries=0, timeout=settings.timeout, http_client=http)
            self._connection = _Connection(loop, client, asyncio.Semaphore(settings.concurrency))
        return self._connection


def _read(read: Callable[[str], T], text: str) -> T:
    try:
        return read(text)
    except UnreadableReply as problem:
        raise _Retryable(f"unreadable answer: {problem}", unreadable=True) from None


def _too_large(cap: int) -> _Retryable:
    return _Retryable(f"the response is larger than the {cap}-byte cap", unreadable=True)


def _connection_problem(error: openai.APIConnectionError, cap: int) -> _Retryable:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ResponseTooLarge):
            return _too_large(cap)
        cause = cause.__cause__ or cause.__context__
    reason = error.__cause__ or error
    return _Retryable(f"cannot reach the server ({type(reason).__name__}: {reason})")


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, stream: httpx2.AsyncByteStream, cap: int):
        self._stream, self._cap = stream, cap

    async def __aiter__(self):
        received = 0
        async for chunk in self._stream:
            received += len(chunk)
            if received > self._cap:
                raise ResponseTooLarge(f"more than {self._cap} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


class _CappedTransport(httpx2.AsyncBaseTransport):
    """Stops reading a response body once it passes `cap` bytes."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, cap: int):
        self._inner, self._cap = inner, cap

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._cap:
            await response.aclose()
            raise ResponseTooLarge(f"declared {declared} bytes")
        response.stream = _CappedStream(response.stream, self._cap)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
