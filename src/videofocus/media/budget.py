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

from videofocus.errors import ConfigError
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


@dataclass(frozen=True)
class ReleasedBudget:
    """The video budget a released VideoChat script gives each clip: qwen-vl-utils' `total_pixels`
    and `min_pixels` (per-frame cap `max_pixels`), sampled at `fps` up to `max_frames` frames."""

    total_pixels: int
    min_pixels: int
    max_frames: int
    source: str
    max_pixels: int = VIDEO_MAX_PIXELS
    fps: float = 2.0


_TOKEN = IMAGE_FACTOR * IMAGE_FACTOR
_R15_EVAL = "Videochat-R1.5/src_eval/{} @ 16f03aa (my_vision_process.py: at most 512 frames, min 128x28x28)"
# By recipe and benchmark, as the released scripts set them (docs/protocols.md).
RELEASED_BUDGETS: dict[str, ReleasedBudget] = {
    "r1": ReleasedBudget(3584 * _TOKEN, 16 * _TOKEN, 768, "VideoChat-R1 @ 73b2ea9: training (grpo_tasks_trainer.py) "
                         "and every src_eval script; qwen-vl-utils' 768-frame cap"),
    "r1.5-train": ReleasedBudget(8192 * _TOKEN, 128 * _TOKEN, 512, "Videochat-R1.5/src/open_r1/grpo_tasks.py @ "
                                 "c9194bf (my_vision_process.py: at most 512 frames, min 128x28x28)"),
    "r1.5-videomme": ReleasedBudget(128 * 108 * _TOKEN, 128 * _TOKEN, 512, _R15_EVAL.format("eval_videomme.py")),
    "r1.5-lvbench": ReleasedBudget(128 * 108 * _TOKEN, 128 * _TOKEN, 512, _R15_EVAL.format("eval_lvbench.py")),
    "r1.5-mlvu": ReleasedBudget(128 * 108 * _TOKEN, 128 * _TOKEN, 512, _R15_EVAL.format("eval_mlvu.py")),
    "r1.5-mvbench": ReleasedBudget(5120 * _TOKEN, 1280 * _TOKEN, 512, "Videochat-R1.5/src_eval/eval_mvbench.py @ "
                                   "67d2d75 (its TVQA frame folders: min 640x28x28)"),
    "r1.5-charades": ReleasedBudget(3584 * _TOKEN, 16 * _TOKEN, 768, "Videochat-R1.5/src_eval/evaluate_chara.py @ "
                                    "67d2d75 (qwen-vl-utils)"),
    "r1.5-nextgqa": ReleasedBudget(3584 * _TOKEN, 16 * _TOKEN, 768, "Videochat-R1.5/src_eval/evaluate_gqa.py @ "
                                   "67d2d75 (qwen-vl-utils)"),
}


def released_budget(name: str) -> ReleasedBudget:
    """The released budget called `name`; ConfigError naming the known ones otherwise."""
    try:
        return RELEASED_BUDGETS[name]
    except KeyError:
        raise ConfigError(f"unknown released budget {name!r}; choose one of {', '.join(RELEASED_BUDGETS)}") from None
