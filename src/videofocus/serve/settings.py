"""What an operator sets when serving a model: its name, the perception loop's options, where media
may come from, and the limits that keep a GPU server responsive."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from videofocus.errors import ConfigError
from videofocus.perception import PerceptionOptions


@dataclass(frozen=True)
class ServeSettings:
    """model_name: the id clients put in `model` (and `GET /v1/models` lists).
    options: the perception loop's defaults; a request may ask for fewer or more rounds (up to
        `max_rounds`), another task, and answer options.
    media_root: the folder local paths and file:// URLs must lie in (None: no local files, only
        data URLs and, with `allow_remote_media`, http(s) URLs).
    api_key: when set, /v1 routes need `Authorization: Bearer <api_key>`.
    max_batch: requests run together through the loop, one backend call per round.
    batch_window: seconds the worker waits, after a request arrives, for more to join its batch.
    max_queue: requests waiting for a batch; more get 429 with Retry-After.
    request_timeout: seconds from arrival to the final answer; later ones get 504.
    max_body_bytes: largest request body (data URLs included); larger ones get 413. Remote media is
        held to the same size.
    retry_after: seconds clients are told to wait (Retry-After) when the queue is full or the
        server is shutting down.
    """

    model_name: str
    options: PerceptionOptions = field(default_factory=PerceptionOptions)
    media_root: Path | None = None
    allow_remote_media: bool = False
    api_key: str | None = None
    max_batch: int = 8
    batch_window: float = 0.01
    max_queue: int = 64
    request_timeout: float = 600.0
    max_body_bytes: int = 64 * 1024 * 1024
    max_rounds: int = 8
    retry_after: int = 5

    def __post_init__(self) -> None:
        checks = [
            (bool(self.model_name), "model_name must not be empty"),
            (self.max_batch >= 1, "max_batch must be at least 1"),
            (self.batch_window >= 0, "batch_window must not be negative"),
            (self.max_queue >= 1, "max_queue must be at least 1"),
            (self.request_timeout > 0, "request_timeout must be positive"),
            (self.max_body_bytes >= 1024, "max_body_bytes must be at least 1024"),
            (self.max_rounds >= self.options.rounds, "max_rounds must be at least options.rounds"),
            (self.retry_after >= 1, "retry_after must be at least 1"),
            (self.media_root is None or Path(self.media_root).is_dir(), f"media_root {self.media_root} is not a folder"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"serve settings: {message}")
