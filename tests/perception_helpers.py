"""Media, samples and scripted completions for the perception tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from videofocus.media.encode import write_video
from videofocus.media.video import VideoInfo
from videofocus.schema import Sample


def write_ramp_video(path: Path, *, seconds: float = 20.0, fps: int = 10, height: int = 48,
                     width: int = 64) -> Path:
    """A video whose frame i is flat grey of level 10 + i (mod 230): a frame's pixels say which it is."""
    count = int(seconds * fps)
    levels = (10 + np.arange(count) % 230).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (count, height, width, 3)).copy()
    return write_video(path, frames, fps)


def write_noise_video(path: Path, *, seconds: float = 4.0, fps: int = 4, height: int = 112, width: int = 168,
                      seed: int = 0) -> Path:
    """Random frames (every pair of frames differs), for the model tests."""
    count = int(seconds * fps)
    frames = np.random.default_rng(seed).integers(0, 256, (count, height, width, 3), dtype=np.uint8)
    return write_video(path, frames, fps)


def write_image(path: Path, *, width: int = 1000, height: int = 600, seed: int = 0) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def synthetic_info(num_frames: int = 200, fps: float = 10.0) -> VideoInfo:
    """A constant-frame-rate VideoInfo without a file, for sampling tests."""
    pts = np.arange(num_frames, dtype=np.int64)
    return VideoInfo(path="synthetic.mp4", duration=num_frames / fps, fps=fps, num_frames=num_frames, width=64,
                     height=48, rotation=0, start_time=0.0, frame_times=pts / fps, pts=pts,
                     time_base=Fraction(1, int(fps)), keyframe_indices=np.array([0]))


def video_sample(path: Path, *, sample_id: str = "v1", task: str = "grounded_qa",
                 options: list[str] | None = ("red", "green", "blue"), duration: float | None = None) -> Sample:
    return Sample(id=sample_id, task=task, media={"type": "video", "path": str(path), "duration": duration},
                  question="Which colour appears?", options=list(options) if options else None)


def image_sample(path: Path, *, sample_id: str = "i1", width: int = 1000, height: int = 600) -> Sample:
    return Sample(id=sample_id, task="spatial_grounding",
                  media={"type": "image", "path": str(path), "width": width, "height": height},
                  question="the red car")


def completion(*, interval: tuple[float, float] | None = None, box: list[float] | None = None,
               answer: str = "A", think: str = "I look at the frames.") -> str:
    """A well-formed think/clue/answer completion."""
    clue = ""
    if interval is not None:
        clue = f"<clue>[({interval[0]}, {interval[1]})]</clue>"
    elif box is not None:
        clue = "<clue>[" + ", ".join(str(value) for value in box) + "]</clue>"
    return f"<think>{think}</think>{clue}<answer>{answer}</answer>"


@pytest.fixture(autouse=False)
def one_torch_thread():
    """Tiny models run ~10x faster on one thread than on two when the 2 cores are shared (measured
    here: 0.23 s against 2.5 s per generate call)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
