"""Runs requests through the perception loop on one worker thread, batched round by round.

Requests wait in a bounded queue. The worker takes up to `max_batch` of them at a time (waiting up
to `batch_window` seconds after the first for more to arrive) and runs
those that share decoding settings and loop options through one `perceive_batch` call, so each
round is one backend call over all of them (on a GPU, one batched generate). Each finished round
and the final result are handed back to the request's event loop as they come, so a streaming
response sends rounds as they finish. A request whose client left or whose time ran out before its
batch started is dropped; one that runs out of time mid-batch is answered with an error at once,
its batch finishes for the others.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from queue import Empty, Queue
from tempfile import TemporaryDirectory

from videofocus.backends.base import Backend, Generation
from videofocus.errors import MediaError
from videofocus.models.inputs import Prompt
from videofocus.perception import PerceptionOptions, PerceptionResult, RoundResult, perceive_batch
from videofocus.schema import Sample
from videofocus.serve.errors import APIError, busy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decoding:
    """A request's decoding settings (None: the backend's own)."""

    max_tokens: int | None = None
    temperature: float | None = None


@dataclass(eq=False)
class Job:
    """One request's trip through the worker: a question about a video or image (`sample`, run
    through the loop with `options`) or a text-only `prompt` (one model call). `events` receives
    each RoundResult, then the PerceptionResult (or, for a prompt, its Generation), or an APIError.
    `scratch` holds the request's uploaded media; both the worker and the request handler `release`
    the job when done with it, and the last one deletes it."""

    sample: Sample | None
    prompt: Prompt | None
    options: PerceptionOptions | None
    decoding: Decoding
    deadline: float
    loop: asyncio.AbstractEventLoop
    scratch: TemporaryDirectory | None = None
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    abandoned: bool = False
    _holders: int = 2
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, event: RoundResult | PerceptionResult | Generation | APIError) -> None:
        """Hand `event` to the request (thread-safe; dropped once the loop is closed)."""
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:
            pass

    def discard(self) -> None:
        """For a job the worker never took: delete its files now."""
        if self.scratch is not None:
            self.scratch.cleanup()

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last and self.scratch is not None:
            self.scratch.cleanup()


_STOP = object()


class Engine:
    """The worker thread and its queue. `submit` from the event loop; `close` to shut down."""

    def __init__(self, backend: Backend, *, max_batch: int, max_queue: int, retry_after: int,
                 batch_window: float = 0.0):
        self.backend, self.max_batch, self.max_queue, self.retry_after = backend, max_batch, max_queue, retry_after
        self.batch_window = batch_window
        self._waiting: Queue = Queue()
        self._lock = threading.Lock()
        self._running: list[Job] = []
        self.accepting = True
        self._thread = threading.Thread(target=self._work, name="videofocus-serve-engine", daemon=True)
        self._thread.start()

    @property
    def queued(self) -> int:
        return self._waiting.qsize()

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, job: Job) -> None:
        """Queue `job`; a 429 APIError when the queue is full, 503 when shutting down."""
        with self._lock:
            if not self.accepting:
                raise busy("the server is shutting down", self.retry_after, status=503)
            if self._waiting.qsize() >= self.max_queue:
                raise busy(f"the queue is full ({self.max_queue} requests waiting); retry later", self.retry_after)
            self._waiting.put(job)

    def close(self, grace: float) -> None:
        """Stop taking requests, let queued and running ones finish for up to `grace` seconds, then
        fail the rest with 503. Closing again does nothing."""
        with self._lock:
            if not self.accepting:
                return
            self.accepting = False
            self._waiting.put(_STOP)
        self._thread.join(grace)
        closing = busy("the server shut down before this request finished", self.retry_after, status=503)
        for job in self._running:
            job.publish(closing)
        for job in self._drain():  # never reached the worker
            job.publish(closing)
            job.release()

    def _drain(self) -> list[Job]:
        jobs = []
        while True:
            try:
                item = self._waiting.get_nowait()
            except Empty:
                return jobs
            if item is not _STOP:
                jobs.append(item)

    def _work(self) -> None:
        stop = False
        while not stop:
            batch = [self._waiting.get()]
            window_ends = time.monotonic() + self.batch_window
            while len(batch) < self.max_batch and batch[-1] is not _STOP:
                try:
                    batch.append(self._waiting.get(timeout=max(window_ends - time.monotonic(), 0.0)))
                except Empty:
                    break
            stop = _STOP in batch
            self._run([job for job in batch if job is not _STOP])

    def _run(self, batch: list[Job]) -> None:
        now = time.monotonic()
        groups: dict[tuple, list[Job]] = defaultdict(list)
        for job in batch:
            if job.abandoned or job.deadline <= now:
                job.release()
            else:
                groups[(job.options, job.decoding)].append(job)
        for (options, decoding), jobs in groups.items():
            self._running = jobs
            try:
                self._run_group(jobs, options, self._backend_for(decoding))
            finally:
                self._running = []
                for job in jobs:
                    job.release()

    def _backend_for(self, decoding: Decoding) -> Backend:
        configure = getattr(self.backend, "with_decoding", None)
        if configure is None or decoding == Decoding():
            return self.backend
        return configure(max_new_tokens=decoding.max_tokens, temperature=decoding.temperature)

    def _run_group(self, jobs: list[Job], options: PerceptionOptions | None, backend: Backend) -> None:
        if options is None:
            self._run_prompts(jobs, backend)
            return
        try:
            results = perceive_batch([job.sample for job in jobs], backend, options,
                                     on_round=lambda index, round_: jobs[index].publish(round_))
        except MediaError as error:
            if len(jobs) > 1:  # find the request whose media failed; the others still get answers
                for job in jobs:
                    self._run_group([job], options, backend)
                return
            reason = str(error).replace(jobs[0].sample.media.path, "the file")  # no server paths in answers
            jobs[0].publish(APIError(400, f"the media cannot be read: {reason}", code="media_unreadable"))
            return
        except Exception:
            _fail_all(jobs, "perception failed for a batch of %d request(s)")
            return
        for job, result in zip(jobs, results):
            job.publish(result)

    def _run_prompts(self, jobs: list[Job], backend: Backend) -> None:
        """Text-only requests: one backend call for all of them."""
        try:
            generations = backend.generate([job.prompt for job in jobs])
        except Exception:
            _fail_all(jobs, "generation failed for a batch of %d text request(s)")
            return
        for job, generation in zip(jobs, generations):
            job.publish(generation)


def _fail_all(jobs: list[Job], log_message: str) -> None:
    """Log the exception being handled (with `log_message` % the batch size) and answer every job of
    the batch with a server error that names no internals."""
    log.exception(log_message, len(jobs))
    for job in jobs:
        job.publish(APIError(500, "the model failed on this request (see the server log)", type="server_error"))
