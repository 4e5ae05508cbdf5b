"""What each round shows the model: the frames of a video (uniform, then focused on the clue) or an
image with crops of the predicted boxes.

Two choices here exist for cost (SPEC: the paper's stated limitation is that nothing is reused
across rounds):

- `VideoSource` keeps every decoded frame by index, so no frame is decoded twice for a video.
- Focused rounds are laid out in temporal pairs (`media.pairs.focused_pair_indices`), so that a
  pair shown again unchanged can reuse its vision features (`backends.hf`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from videofocus.errors import MediaError
from videofocus.media.image import crop_box, load_image
from videofocus.media.pairs import focused_pair_indices
from videofocus.media.sampling import fps_indices, nearest_frames, released_key_frames, uniform_indices
from videofocus.media.video import Clip, VideoInfo, probe, read_frames, trim

if TYPE_CHECKING:
    from videofocus.schema import Sample

Interval = tuple[float, float]


@dataclass(frozen=True)
class DecodedClip:
    """A clip assembled for a round, with how many of its frames had to be decoded for it."""

    clip: Clip
    decoded_frames: int
    seconds: float


class VideoSource:
    """One video opened for perception. Frames are decoded on first use and kept by frame index for
    the life of the source, so later rounds decode only frames no earlier round needed."""

    def __init__(self, info: VideoInfo, size: tuple[int, int] | None = None):
        self.info, self.size = info, size
        self._frames: dict[int, np.ndarray] = {}

    @classmethod
    def open(cls, path: str | os.PathLike, segment: tuple[float, float] | None = None, *,
             decode_size: Callable[[int, int], tuple[int, int] | None] | None = None) -> VideoSource:
        """The video at `path`, or only its `segment` (start, end in seconds; `media.video.trim`).
        `decode_size(height, width)`: the (height, width) to decode frames at (resized while
        converting, so a 4K frame never exists at full size), or None for the video's own size."""
        info = probe(path)
        info = trim(info, *segment) if segment is not None else info
        return cls(info, decode_size(info.height, info.width) if decode_size is not None else None)

    def clip(self, indices: Sequence[int] | np.ndarray) -> DecodedClip:
        """The frames at `indices` (in the given order, repeats allowed) with their true timestamps."""
        indices = np.asarray(indices, dtype=np.int64)
        started = time.perf_counter()
        missing = np.array(sorted({int(index) for index in indices} - self._frames.keys()), dtype=np.int64)
        if missing.size:
            decoded = read_frames(self.info, missing, size=self.size)
            self._frames.update((int(index), frame) for index, frame in zip(decoded.indices, decoded.frames))
            unreadable = [int(index) for index in missing if int(index) not in self._frames]
            if unreadable:
                raise MediaError(f"{self.info.path}: frames {unreadable[:5]} could not be decoded")
        frames = np.stack([self._frames[int(index)] for index in indices])
        clip = Clip(frames=frames, timestamps=self.info.frame_times[indices], indices=indices, info=self.info)
        return DecodedClip(clip, decoded_frames=int(missing.size), seconds=time.perf_counter() - started)


def track_times(sample: Sample) -> list[float]:
    """The times of a tracking sample's track entries (its answer is one box per entry); [] for any other."""
    return [point.t for point in sample.clue.track] if sample.clue is not None and sample.clue.track else []


def first_round_indices(info: VideoInfo, num_frames: int | None, fps: float, min_frames: int,
                        max_frames: int, *, track_times: Sequence[float] = ()) -> np.ndarray:
    """Round 1: the frames nearest `track_times` where a tracking sample gives them (its answer is one box
    per track entry, so it is shown exactly those frames, as training shows them), else `num_frames`
    uniform frames, or `fps` sampling within [min_frames, max_frames]."""
    if track_times:
        return nearest_frames(info.frame_times, track_times)
    if num_frames is not None:
        return uniform_indices(info, num_frames)
    return fps_indices(info, fps=fps, min_frames=min_frames, max_frames=max_frames)


def clip_intervals(intervals: Sequence[Interval], duration: float) -> list[Interval]:
    """The parts of `intervals` that lie inside [0, duration] and have a length."""
    clipped = [(max(0.0, start), min(duration, end)) for start, end in intervals]
    return [(start, end) for start, end in clipped if end > start]


@dataclass(frozen=True)
class Refocus:
    """The frames of a round after the first: `indices` focused on `focus` (the clue cut to the
    video), or round 1's frames again when the clue cannot be used, `fallback` saying why."""

    indices: np.ndarray
    focus: tuple[Interval, ...] | None = None
    fallback: str | None = None


def refocus(info: VideoInfo, first_round: np.ndarray, previous: np.ndarray, intervals: Sequence[Interval], *,
            mode: str = "key_ratio", key_ratio: float = 0.5) -> Refocus:
    """The frames of the next round for a clue, with round 1's budget. mode "key_ratio": a
    `key_ratio` share inside the clue in reusable pairs (`media.pairs.focused_pair_indices`, reusing
    `previous` frames); "released": the released R1.5 rule (`media.sampling.released_key_frames`).
    One definition for the loop and for `videofocus frames --focus`."""
    inside = clip_intervals(intervals, info.duration)
    if not inside:
        return Refocus(first_round, fallback=lost_intervals(intervals, info.duration))
    try:
        if mode == "released":
            indices = released_key_frames(info, len(first_round), inside)
        else:
            indices = focused_pair_indices(info, len(first_round), inside, key_ratio, previous=previous)
    except MediaError as error:
        return Refocus(first_round, fallback=f"interval could not be sampled ({error})")
    return Refocus(indices, focus=tuple(inside))


def lost_intervals(intervals: Sequence[Interval], duration: float) -> str:
    """Why cutting `intervals` to the video left nothing."""
    flat = [0.0 <= start == end <= duration for start, end in intervals]
    return lost_part("interval", "length", flat, f"the video (0-{duration:.2f} s)")


def lost_part(kind: str, size: str, flat: list[bool], where: str) -> str:
    """`flat[i]`: whether part i of the clue touches the media but has no `size`; the others lie
    outside `where`."""
    if all(flat):
        return f"{kind} has zero {size}"
    if any(flat):
        return f"{kind} has zero {size} or lies outside {where}"
    return f"{kind} lies outside {where}"


@dataclass(frozen=True)
class ImageView:
    """The images a round shows: the full image first, then the crops (boxes in original pixels)."""

    images: list[Image.Image]
    crops: list[tuple[float, float, float, float]]


class ImageSource:
    """One image opened for perception (loaded once, EXIF orientation applied)."""

    def __init__(self, image: Image.Image, path: str = "<memory>"):
        self.image, self.path = image, path

    @classmethod
    def open(cls, path: str | os.PathLike) -> ImageSource:
        return cls(load_image(path), str(path))

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def view(self, boxes: Sequence[Sequence[float]] = (), *, margin: float = 0.1) -> ImageView:
        """The full image plus a crop of each box (boxes clipped to the image beforehand)."""
        images, crops = [self.image], []
        for box in boxes:
            crop, crop_in_original = crop_box(self.image, list(box), margin=margin)
            images.append(crop)
            crops.append(tuple(float(value) for value in crop_in_original))
        return ImageView(images, crops)

    def clip_boxes(self, boxes: Sequence[Sequence[float]]) -> list[list[float]]:
        """The boxes cut to the image; boxes left without area are dropped."""
        width, height = self.size
        clipped = []
        for x0, y0, x1, y1 in boxes:
            box = [min(max(x0, 0.0), width), min(max(y0, 0.0), height),
                   min(max(x1, 0.0), width), min(max(y1, 0.0), height)]
            if box[2] > box[0] and box[3] > box[1]:
                clipped.append(box)
        return clipped
