"""Clips built by hand for the models tests: numpy frames with chosen timestamps."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from videofocus.media.video import Clip, VideoInfo

_FPS = 25


def make_clip(timestamps: list[float], *, height: int = 56, width: int = 56, seed: int = 0) -> Clip:
    """A Clip of random RGB frames at exactly `timestamps` (s), as if decoded from a 25 fps video."""
    times = np.asarray(timestamps, dtype=np.float64)
    frames = np.random.default_rng(seed).integers(0, 256, (len(times), height, width, 3), dtype=np.uint8)
    num_frames = int(round((times[-1] + 1.0) * _FPS))
    pts = np.arange(num_frames, dtype=np.int64)
    info = VideoInfo(path="hand_made.mp4", duration=num_frames / _FPS, fps=float(_FPS), num_frames=num_frames,
                     width=width, height=height, rotation=0, start_time=0.0, frame_times=pts / _FPS, pts=pts,
                     time_base=Fraction(1, _FPS), keyframe_indices=np.array([0]))
    return Clip(frames=frames, timestamps=times, indices=np.round(times * _FPS).astype(np.int64), info=info)
