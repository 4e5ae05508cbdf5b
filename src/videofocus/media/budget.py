"""How large each video frame may be, and how many frames fit, under a total pixel budget.

This is qwen-vl-utils' rule (`fetch_video`): a frame gets at most `total_pixels / num_frames *
FRAME_FACTOR` pixels (two frames share one temporal patch), capped at `max_pixels` and never below
`1.05 * min_pixels`, then `smart_resize` rounds the size to multiples of the patch factor. The
installed qwen-vl-utils states the limits in tokens (VIDEO_MIN_TOKEN_NUM = 128, VIDEO_MAX_TOKEN_NUM
= 768, MODEL_SEQ_LEN = 128000 with total = 0.9 * MODEL_SEQ_LEN tokens); older releases named the
same numbers VIDEO_MIN_PIXELS, VIDEO_MAX_PIXELS and VIDEO_TOTAL_PIXELS, as here.

videofocus's pipeline applies the total only when asked: `models.inputs.encode_prompts(...,
video_total_pixels=)` (and so `videofocus eval --video-total-pixels`, `videofocus infer
--total-pixels`, the trainer's `video_total_pixels`) sizes each clip's frames by `frame_size`, the
frame count taken after an odd count is padded to whole pairs. By default it bounds each frame by the
per-frame limits only, as the papers' settings state them; `videofocus frames` prints the size
either way. The constants below are qwen-vl-utils' Qwen2.5-VL defaults (factor 28); the pipeline
passes the model's own factor and its own limits."""

from __future__ import annotations

from dataclasses import dataclass

from videofocus.media.image import smart_resize

IMAGE_FACTOR = 28  # patch 14 x spatial merge 2 (Qwen2.5-VL); Qwen3-VL: patch 16 -> 32
FRAME_FACTOR = 2   # frames per temporal patch
VIDEO_MIN_PIXELS = 128 * IMAGE_FACTOR * IMAGE_FACTOR
VIDEO_MAX_PIXELS = 768 * IMAGE_FACTOR * IMAGE_FACTOR
VIDEO_TOTAL_PIXELS = int(128000 * IMAGE_FACTOR * IMAGE_FACTOR * 0.9)


@dataclass(frozen=True)
class PixelBudget:
    """Per-frame bounds and the total for a whole clip, in model-input pixels."""

    min_pixels: int = VIDEO_MIN_PIXELS
    max_pixels: int = VIDEO_MAX_PIXELS
    total_pixels: int = VIDEO_TOTAL_PIXELS
    factor: int = IMAGE_FACTOR


def frame_size(height: int, width: int, num_frames: int, budget: PixelBudget = PixelBudget()) -> tuple[int, int]:
    """The (height, width) each of `num_frames` frames of a `height` x `width` video is resized to."""
    per_frame = budget.total_pixels / max(num_frames, 1) * FRAME_FACTOR
    max_pixels = max(min(budget.max_pixels, per_frame), int(budget.min_pixels * 1.05))
    return smart_resize(height, width, factor=budget.factor, min_pixels=budget.min_pixels,
                        max_pixels=max_pixels)


def clip_frame_size(height: int, width: int, num_frames: int, budget: PixelBudget) -> tuple[int, int]:
    """`frame_size` for a clip of `num_frames` frames as the pipeline encodes it: an odd count is
    padded to whole temporal pairs first (`models.inputs.encode_prompts`)."""
    return frame_size(height, width, num_frames + -num_frames % FRAME_FACTOR, budget)


def max_frames(height: int, width: int, budget: PixelBudget = PixelBudget()) -> int:
    """The most frames (a multiple of FRAME_FACTOR) whose budgeted frames fit in `total_pixels`.

    Up to some count every frame shrinks to keep the total; past it the frames stay at their
    smallest size and each pair adds a fixed cost, so the limit follows from the smallest size."""
    smallest_h, smallest_w = smart_resize(height, width, factor=budget.factor, min_pixels=budget.min_pixels,
                                          max_pixels=int(budget.min_pixels * 1.05))
    count = max(budget.total_pixels * FRAME_FACTOR // (smallest_h * smallest_w) // FRAME_FACTOR * FRAME_FACTOR,
                FRAME_FACTOR)
    while count > FRAME_FACTOR and _total(height, width, count, budget) > budget.total_pixels:
        count -= FRAME_FACTOR
    return count


def _total(height: int, width: int, count: int, budget: PixelBudget) -> int:
    frame_h, frame_w = frame_size(height, width, count, budget)
    return -(-count // FRAME_FACTOR) * frame_h * frame_w
