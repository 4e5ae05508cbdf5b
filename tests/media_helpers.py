"""Test media made with PyAV: tiny videos whose frames show their own index as bars, written at
chosen presentation times, plus files that are not (good) videos."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videofocus.media.video import VideoInfo

HEIGHT, WIDTH = 48, 64
BARS = 8  # frame index in binary, one vertical bar per bit: up to 255 frames
MILLISECOND = Fraction(1, 1000)

_FAST_OPTIONS = {
    "libx264": {"preset": "veryfast"},          # keeps B-frames: decode order != display order
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
}


def index_frame(index: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """An RGB frame whose vertical bars spell `index` in binary (bar 0 on the left = bit 0)."""
    bits = (index >> np.arange(BARS)) & 1
    row = np.repeat(bits * 255, width // BARS).astype(np.uint8)
    return np.repeat(np.repeat(row[None, :, None], height, axis=0), 3, axis=2)


def frame_index(frame: np.ndarray) -> int:
    """Read back the index `index_frame` drew (robust to lossy coding)."""
    columns = frame.mean(axis=(0, 2))
    bars = columns.reshape(BARS, -1).mean(axis=1) > 127
    return int(sum(1 << bit for bit, on in enumerate(bars) if on))


def write_timed_video(path: Path, times, *, codec: str = "libx264", rotation: int = 0,
                      gop: int | None = None, frames: np.ndarray | None = None,
                      tags: dict[str, str] | None = None) -> Path:
    """Write frames (default: `index_frame(i)`) shown at `times` seconds (millisecond PTS).

    `rotation` is the clockwise display rotation stored in the display matrix."""
    times = list(times)
    frames = np.stack([index_frame(i) for i in range(len(times))]) if frames is None else frames
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = MILLISECOND
        fixed_gop = {"g": str(gop), "sc_threshold": "0"} if gop else {}  # no extra keyframes at cuts
        stream.options = {**_FAST_OPTIONS.get(codec, {}), **fixed_gop}
        stream.metadata.update(tags or {})
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV counts counter-clockwise
        for time, pixels in zip(times, frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = round(time * 1000), MILLISECOND
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_cfr_video(path: Path, num_frames: int, fps: float, **kwargs) -> Path:
    """A constant-frame-rate video of `num_frames` index frames."""
    return write_timed_video(path, [i / fps for i in range(num_frames)], **kwargs)


def write_audio_only(path: Path, *, with_empty_video_stream: bool = False) -> Path:
    """One second of silence in AAC. With `with_empty_video_stream` a video stream is declared
    too but gets no frame (use a container that keeps empty streams, e.g. .mkv)."""
    with av.open(str(path), mode="w") as container:
        if with_empty_video_stream:
            video = container.add_stream("libx264", rate=25)
            video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def info_from_times(times, duration: float | None = None, path: str = "synthetic.mp4") -> VideoInfo:
    """A VideoInfo for sampling tests, without a file: frames at `times` (seconds from 0)."""
    times = np.asarray(times, dtype=np.float64)
    step = float(np.median(np.diff(times))) if times.size > 1 else 1.0
    duration = float(times[-1] + step) if duration is None else duration
    pts = np.round(times * 1000).astype(np.int64)
    return VideoInfo(path=path, duration=duration, fps=times.size / duration, num_frames=times.size,
                     width=WIDTH, height=HEIGHT, rotation=0, start_time=0.0, frame_times=times,
                     pts=pts, time_base=MILLISECOND, keyframe_indices=np.array([0]))
