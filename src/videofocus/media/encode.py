"""Writing videos (the synthetic world, tests, benchmarks) with PyAV's bundled FFmpeg."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videofocus.storage import atomic_writer


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, *, codec: str = "libx264",
                pix_fmt: str = "yuv420p", options: dict[str, str] | None = None) -> Path:
    """Encode `frames` (T, H, W, 3 uint8 RGB) at a constant `fps` into `path`, atomically.

    Width and height must be even for yuv420p; the container is chosen from the file suffix."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    path = Path(path)
    with atomic_writer(path, "wb") as handle:
        with av.open(handle, mode="w", format=_container_format(path)) as container:
            stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = pix_fmt
            stream.options = {"preset": "veryfast", **(options or {})} if codec == "libx264" else dict(options or {})
            for frame in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
    return path


def _container_format(path: Path) -> str:
    return {".mp4": "mp4", ".mkv": "matroska", ".webm": "webm", ".mov": "mov", ".avi": "avi"}.get(
        path.suffix.lower(), "mp4")
