"""The FastAPI application: an OpenAI-compatible chat completions API over the perception loop, and
the web page that watches its rounds.

`create_app(backend, settings)` takes any `Backend`: a loaded HF or vLLM model, or, in tests, a
`ScriptedBackend` that answers from a script.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from importlib import resources
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from videofocus.backends.base import Backend, Generation
from videofocus.errors import ConfigError, MediaError
from videofocus.models.inputs import Prompt
from videofocus.perception import PerceptionResult, RoundResult
from videofocus.schema import Sample
from videofocus.serve.engine import Decoding, Engine, Job
from videofocus.serve.errors import APIError, bad_request
from videofocus.serve.limits import BodySizeLimit
from videofocus.serve.media import fetch_media
from videofocus.perception.questions import question_sample, split_options
from videofocus.serve.protocol import ChatRequest, Question, read_question
from videofocus.serve.responses import CompletionWriter
from videofocus.serve.settings import ServeSettings
from videofocus.serve.thumbnails import frame_previews, image_preview

_STATIC = resources.files("videofocus.serve") / "static"
_VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"}
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}
_MEDIA_LISTED = 500


def create_app(backend: Backend, settings: ServeSettings, *, shutdown_grace: float = 30.0) -> FastAPI:
    """The server app for `backend`. Its worker starts with the app (lifespan) and, at shutdown,
    gets `shutdown_grace` seconds to finish queued and running requests before they fail with 503."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = Engine(backend, max_batch=settings.max_batch, max_queue=settings.max_queue,
                                  retry_after=settings.retry_after, batch_window=settings.batch_window)
        yield
        await run_in_threadpool(app.state.engine.close, shutdown_grace)

    app = FastAPI(title="videofocus", summary="Iterative perception behind an OpenAI-compatible API",
                  lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    _add_error_handlers(app)
    authorized = [Depends(_check_api_key)]

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        engine: Engine = request.app.state.engine
        body = {"status": "ok" if engine.accepting else "shutting_down", "model": settings.model_name,
                "queued": engine.queued, "running": engine.running}
        return JSONResponse(body, status_code=200 if engine.accepting else 503)

    @app.get("/v1/models", dependencies=authorized)
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": settings.model_name, "object": "model", "created": 0,
                                            "owned_by": "videofocus"}]}

    @app.get("/v1/media", dependencies=authorized)
    async def media() -> dict[str, Any]:
        """The videos and images under the media root, for the web page's picker."""
        return {"object": "list", "data": await run_in_threadpool(_listed_media, settings.media_root)}

    @app.post("/v1/chat/completions", dependencies=authorized)
    async def chat_completions(body: ChatRequest, request: Request):
        return await _answer(body, request.app.state.engine, settings)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(_STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=str(_STATIC)), name="static")
    return app


async def _check_api_key(request: Request) -> None:
    expected = request.app.state.settings.api_key
    if expected is None:
        return
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), expected.encode()):
        raise APIError(401, "missing or wrong API key (send Authorization: Bearer <key>)", code="invalid_api_key")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def api_error(_request: Request, error: APIError) -> JSONResponse:
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        if first["type"] == "json_invalid":
            return bad_request(f"the request body is not valid JSON: {first.get('ctx', {}).get('error', '')}".strip(),
                               code="invalid_json").response()
        location = [str(part) for part in first["loc"] if part != "body"]
        return bad_request(f"{'.'.join(location) or 'body'}: {first['msg']}", param=".".join(location) or None
                           ).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return APIError(error.status_code, str(error.detail), headers=dict(error.headers or {})).response()


async def _answer(body: ChatRequest, engine: Engine, settings: ServeSettings):
    if body.model != settings.model_name:
        raise APIError(404, f"the model '{body.model}' does not exist; this server serves '{settings.model_name}'",
                       code="model_not_found", param="model")
    question = read_question(body)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    job = await (_media_job(question, body, settings, completion_id) if question.media_type
                 else _text_job(question, body, settings))
    try:
        engine.submit(job)
    except APIError:
        job.discard()
        raise
    writer = CompletionWriter(completion_id, int(time.time()), settings.model_name, job.sample)
    thumbnails = body.videofocus.thumbnails and job.sample is not None
    if body.stream:
        return EventSourceResponse(_stream(job, writer, thumbnails, settings.request_timeout))
    try:
        return JSONResponse(await _completion(job, writer, thumbnails, settings.request_timeout))
    finally:
        _done_with(job)


async def _media_job(question: Question, body: ChatRequest, settings: ServeSettings, completion_id: str) -> Job:
    """A question about a video or image, for the loop; its media fetched into a scratch folder."""
    rounds = body.videofocus.rounds or settings.options.rounds
    if rounds > settings.max_rounds:
        raise bad_request(f"videofocus.rounds is {rounds}; this server runs at most {settings.max_rounds}",
                          param="videofocus.rounds")
    scratch = TemporaryDirectory(prefix="videofocus-serve-")
    try:
        sample = await run_in_threadpool(_question_sample, question, body, Path(scratch.name), settings,
                                         completion_id)
    except BaseException:
        scratch.cleanup()
        raise
    return Job(sample=sample, prompt=None, options=replace(settings.options, rounds=rounds),
               decoding=Decoding(body.token_limit, body.temperature),
               deadline=time.monotonic() + settings.request_timeout, loop=asyncio.get_running_loop(),
               scratch=scratch)


async def _text_job(question: Question, body: ChatRequest, settings: ServeSettings) -> Job:
    """A text-only request: the last user message (and the system message) in one model call."""
    return Job(sample=None, prompt=Prompt(text=question.text, system=question.system), options=None,
               decoding=Decoding(body.token_limit, body.temperature),
               deadline=time.monotonic() + settings.request_timeout, loop=asyncio.get_running_loop())


def _done_with(job: Job) -> None:
    """The request handler is done with `job`: a job still queued is skipped, its files go when
    the worker is done too."""
    job.abandoned = True
    job.release()


async def _completion(job: Job, writer: CompletionWriter, thumbnails: bool, timeout: float) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    async for event in _events(job, timeout):
        if isinstance(event, RoundResult):
            rounds.append(await _round_trace(event, writer.sample, thumbnails))
        else:
            return writer.completion(event, rounds)
    raise AssertionError("the event stream ended without a result")


def _question_sample(question: Question, body: ChatRequest, scratch: Path, settings: ServeSettings,
                     sample_id: str) -> Sample:
    path = fetch_media(question.media_url, scratch, settings, question.media_param)
    text, options = (question.text, body.videofocus.options) if body.videofocus.options \
        else split_options(question.text)
    try:
        return question_sample(path, question.media_type, text, options=options, task=body.videofocus.task,
                               sample_id=sample_id)
    except MediaError as error:
        raise bad_request(f"the {question.media_type} cannot be read: {_without_path(error, path)}",
                          param=question.media_param, code="media_unreadable") from None
    except ConfigError as error:
        raise bad_request(str(error), param="videofocus") from None


def _without_path(error: Exception, path: Path) -> str:
    """The error message without the server's own path of the file."""
    return str(error).replace(str(path), "the file")


async def _events(job: Job, timeout: float) -> AsyncIterator[RoundResult | PerceptionResult | Generation]:
    """The job's rounds as they finish, then its result; raises its APIError, or 504 past the deadline."""
    last_round = 0
    while True:
        try:
            event = await asyncio.wait_for(job.events.get(), max(job.deadline - time.monotonic(), 0.0))
        except asyncio.TimeoutError:
            job.abandoned = True
            raise APIError(504, f"the request did not finish within the server's {timeout:g} s limit",
                           type="timeout", code="timeout") from None
        if isinstance(event, APIError):
            raise event
        if isinstance(event, (PerceptionResult, Generation)):
            yield event
            return
        if event.round > last_round:  # a batch retried after a media error repeats earlier rounds
            last_round = event.round
            yield event


async def _round_trace(round_: RoundResult, sample: Sample, thumbnails: bool) -> dict[str, Any]:
    trace = round_.to_dict()
    if thumbnails:
        trace["frames"] = await run_in_threadpool(frame_previews, sample, round_.view)
    return trace


async def _stream(job: Job, writer: CompletionWriter, thumbnails: bool, timeout: float) -> AsyncIterator[bytes]:
    """Server-sent events: the opening chunk, one chunk per finished round, the final answer, [DONE]."""
    try:
        first = writer.first_chunk()
        if thumbnails:
            first["videofocus"]["preview"] = await run_in_threadpool(image_preview, writer.sample)
        yield _sse(first)
        async for event in _events(job, timeout):
            if isinstance(event, RoundResult):
                yield _sse(writer.round_chunk(await _round_trace(event, writer.sample, thumbnails)))
            else:
                yield _sse(writer.final_chunk(event))
    except APIError as error:
        yield _sse(error.body())
    finally:
        _done_with(job)
    yield format_sse_event(data_str="[DONE]")


def _sse(payload: dict[str, Any]) -> bytes:
    return format_sse_event(data_str=json.dumps(payload, ensure_ascii=False))


def _listed_media(root: Path | None) -> list[dict[str, str]]:
    if root is None:
        return []
    listed = []
    for path in Path(root).rglob("*"):  # the first _MEDIA_LISTED found, not all of a large root
        suffix = path.suffix.lower()
        kind = "video" if suffix in _VIDEO_SUFFIXES else "image" if suffix in _IMAGE_SUFFIXES else None
        if kind and path.is_file():
            listed.append({"path": path.relative_to(root).as_posix(), "type": kind})
            if len(listed) >= _MEDIA_LISTED:
                break
    return sorted(listed, key=lambda item: item["path"])
