"""What each round shows the model: the frames of a video (uniform, then focused on the clue) or an
image with crops of the predicted boxes.

Two choices here exist for cost (SPEC: the paper's stated limitation is that nothing is reused
across rounds):

- `VideoSource` keeps every decoded frame by index, so no frame is decoded twice for a video.
- Focused rounds are laid out in temporal pairs. Qwen vision towers encode frames two at a time
  (temporal patch 2) and a pair's features depend only on its two frames and their size, so a pair
  that reappears unchanged can reuse its vision features (`backends.hf`). `focused_pair_indices`
  therefore keeps previous pairs whole, outside the clue, and lets new pairs start on even
  positions.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from videofocus.errors import MediaError
from videofocus.media.image import crop_box, load_image
from videofocus.media.sampling import clue_mask, focused_indices, fps_indices, uniform_indices
from videofocus.media.video import Clip, VideoInfo, probe, read_frames

# Frames per temporal patch of the Qwen2-VL / Qwen2.5-VL / Qwen3-VL vision towers.
TEMPORAL_PATCH = 2

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

    def __init__(self, info: VideoInfo):
        self.info = info
        self._frames: dict[int, np.ndarray] = {}

    @classmethod
    def open(cls, path: str | os.PathLike) -> VideoSource:
        return cls(probe(path))

    def clip(self, indices: Sequence[int] | np.ndarray) -> DecodedClip:
        """The frames at `indices` (in the given order, repeats allowed) with their true timestamps."""
        indices = np.asarray(indices, dtype=np.int64)
        started = time.perf_counter()
        missing = np.array(sorted({int(index) for index in indices} - self._frames.keys()), dtype=np.int64)
        if missing.size:
            decoded = read_frames(self.info, missing)
            self._frames.update((int(index), frame) for index, frame in zip(decoded.indices, decoded.frames))
            unreadable = [int(index) for index in missing if int(index) not in self._frames]
            if unreadable:
                raise MediaError(f"{self.info.path}: frames {unreadable[:5]} could not be decoded")
        frames = np.stack([self._frames[int(index)] for index in indices])
        clip = Clip(frames=frames, timestamps=self.info.frame_times[indices], indices=indices, info=self.info)
        return DecodedClip(clip, decoded_frames=int(missing.size), seconds=time.perf_counter() - started)


def first_round_indices(info: VideoInfo, num_frames: int | None, fps: float, min_frames: int,
                        max_frames: int) -> np.ndarray:
    """Round 1: `num_frames` uniform frames, or `fps` sampling within [min_frames, max_frames]."""
    if num_frames is not None:
        return uniform_indices(info, num_frames)
    return fps_indices(info, fps=fps, min_frames=min_frames, max_frames=max_frames)


def clip_intervals(intervals: Sequence[Interval], duration: float) -> list[Interval]:
    """The parts of `intervals` that lie inside [0, duration] and have a length."""
    clipped = [(max(0.0, start), min(duration, end)) for start, end in intervals]
    return [(start, end) for start, end in clipped if end > start]


def focused_pair_indices(info: VideoInfo, budget: int, intervals: Sequence[Interval], key_ratio: float,
                         previous: np.ndarray) -> np.ndarray:
    """Frames for a round focused on `intervals`, as consecutive temporal pairs.

    The budget is counted in pairs (ceil(budget / 2)): `media.sampling.focused_indices` places one
    anchor frame per pair, `key_ratio` of them densely inside the intervals, the rest spread outside
    and reusing the first frames of `previous`'s pairs that lie wholly outside the intervals. A
    reused anchor brings its old partner, so the pair (and its cached vision features) reappears
    unchanged. A run of new anchors inside the intervals becomes twice as many frames evenly spread
    over the run's span; a new anchor outside gets a partner half-way to its nearest neighbour.
    Raises MediaError when the intervals lie outside the video."""
    outside = [pair for pair in _whole_pairs(previous) if not _overlaps(info, pair, intervals)]
    keep = np.array([first for first, _ in outside], dtype=np.int64)
    old_partner = dict(outside)
    anchors = _clear_kept_spans(focused_indices(info, math.ceil(budget / TEMPORAL_PATCH), list(intervals),
                                                key_ratio=key_ratio, keep=keep), old_partner, info.num_frames)
    in_clue = clue_mask(info, list(intervals))
    frames: list[int] = []
    run: list[int] = []  # positions of consecutive new anchors inside the clue
    for position, anchor in enumerate(anchors):
        next_anchor = anchors[position + 1] if position + 1 < len(anchors) else info.num_frames
        partner = old_partner.get(anchor)
        if partner is None and in_clue[anchor]:
            run.append(position)
            if position + 1 == len(anchors) or not in_clue[next_anchor] or next_anchor in old_partner:
                frames += _dense_run(info, anchors, run, last_taken=frames[-1] if frames else -1)
                run = []
            continue
        if partner is None or partner >= next_anchor:
            partner = _new_partner(anchors, position, last_taken=frames[-1] if frames else -1,
                                   num_frames=info.num_frames)
        frames += sorted((anchor, partner))
    return np.array(frames, dtype=np.int64)


def _clear_kept_spans(anchors: np.ndarray, old_partner: dict[int, int], num_frames: int) -> list[int]:
    """`anchors` with every new anchor that fell between a kept anchor and its old partner moved just
    after (else just before) that pair, or dropped when both places are taken; sorted."""
    chosen = {int(anchor) for anchor in anchors}
    spans = [(first, old_partner[first]) for first in sorted(chosen) if first in old_partner]
    for first, second in spans:
        for intruder in [anchor for anchor in sorted(chosen) if first < anchor <= second]:
            chosen.discard(intruder)
            free = [place for place in (second + 1, first - 1) if 0 <= place < num_frames and place not in chosen
                    and not any(a <= place <= b for a, b in spans)]
            if free:
                chosen.add(free[0])
    return sorted(chosen)


def _dense_run(info: VideoInfo, anchors: list[int], run: list[int], *, last_taken: int) -> list[int]:
    """Two frames per anchor of `run`, evenly spaced in time from its first to its last anchor; fewer
    (an even number, distinct) when the span holds fewer frames than that."""
    first, last = anchors[run[0]], anchors[run[-1]]
    available = last - first + 1
    if len(run) == 1 or available < TEMPORAL_PATCH:
        return sorted((first, _new_partner(anchors, run[0], last_taken=last_taken, num_frames=info.num_frames)))
    count = min(TEMPORAL_PATCH * len(run), available - available % TEMPORAL_PATCH)
    times = info.frame_times[first:last + 1]
    targets = np.linspace(times[0], times[-1], count)
    nearest = np.clip(np.searchsorted(times, targets), 1, len(times) - 1)
    closer_left = targets - times[nearest - 1] <= times[nearest] - targets
    return [first + int(index) for index in np.where(closer_left, nearest - 1, nearest)]


def _whole_pairs(indices: np.ndarray) -> list[tuple[int, int]]:
    """The temporal pairs a clip of `indices` is encoded as; an odd last frame pairs with itself,
    as the processors pad it."""
    indices = [int(index) for index in indices]
    return [(indices[start], indices[min(start + 1, len(indices) - 1)])
            for start in range(0, len(indices), TEMPORAL_PATCH)]


def _overlaps(info: VideoInfo, pair: tuple[int, int], intervals: Sequence[Interval]) -> bool:
    first, last = info.frame_times[pair[0]], info.frame_times[pair[1]]
    return any(first <= end and start <= last for start, end in intervals)


def _new_partner(anchors: list[int], position: int, *, last_taken: int, num_frames: int) -> int:
    """A second frame for a new pair: half-way towards the nearest neighbouring anchor, after the
    anchor when there is room before the next one, else before it; the anchor itself (the
    processors' own padding) when the anchors are adjacent."""
    anchor = anchors[position]
    gaps = [abs(anchors[neighbour] - anchor) for neighbour in (position - 1, position + 1)
            if 0 <= neighbour < len(anchors)]
    step = max(1, min(gaps, default=num_frames) // TEMPORAL_PATCH)
    next_anchor = anchors[position + 1] if position + 1 < len(anchors) else num_frames
    if anchor + step < next_anchor:
        return anchor + step
    if anchor - step > last_taken:
        return anchor - step
    return anchor


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
