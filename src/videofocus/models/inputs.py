"""Turn prompts with a sampled clip or images into model inputs, carrying the clip's TRUE times.

`encode_prompts` renders each `Prompt` with the checkpoint's chat template, resizes frames and images
itself (per-frame pixel limits, and optionally qwen-vl-utils' total pixel budget per clip, the way
qwen-vl-utils does before calling the processor with `do_resize=False`), and runs the processor once
for the batch, left padded for generation, with `mm_token_type_ids` (without it the model silently
falls back to 1-D positions).

How the time of each frame reaches the model
--------------------------------------------
Both processors see pre-decoded frames with `do_sample_frames=False` and a video metadata dict.

* Qwen3-VL writes `<t seconds>` before each temporal patch (a pair of frames), with
  t = (time of its first frame + time of its last frame) / 2 computed as `frames_indices[i] / fps`.
  We describe the clip on a virtual timeline of `TICKS_PER_SECOND` ticks per second
  (`fps=1000`, `frames_indices = round(timestamp * 1000)`), so the printed times are the clip's real
  timestamps (to the millisecond, printed to 0.1 s), whatever the video's frame rate, variable frame
  rate, or how unevenly the frames were sampled. Focused sampling is therefore exact.
* Qwen2.5-VL has ONE number per video, `second_per_grid_ts`: temporal patch k sits at mRoPE time
  position k * second_per_grid_ts * tokens_per_second, counted from the first patch. It cannot
  express uneven spacing (a focused sample) nor where the clip starts. The processor would derive it
  from the metadata as temporal_patch_size / (frames / duration * fps), i.e. the mean spacing over
  the whole VIDEO, which is wrong for any sample that does not cover the video evenly. We set it
  instead to the mean spacing of the patch times actually sampled:
  (time of last patch - time of first patch) / (patches - 1), patch time as Qwen3-VL defines it.
  This is exact for uniform samples, and for uneven ones keeps the first and last patch at their true
  distance (the span the model must ground answers in) while the dense middle is linearly
  misplaced; a least-squares slope was considered and rejected: it moves the last patch away from
  its true time to shave error in the middle. `models.time_positions.exact_time_positions` (the
  backends' `time_positions="exact"`) places every patch at its true time instead.

Frame count: the vision encoders merge frames in pairs (temporal patch 2). An odd count gets its last
frame repeated, with its timestamp repeated, before anything else, so the frames, the Qwen3-VL
timestamps and second_per_grid_ts all describe the same padded clip. The processors would pad the
frames the same way; doing it here keeps the times consistent by construction. A total pixel budget
(`video_total_pixels`) is shared by the padded count of frames, as in qwen-vl-utils, whose frame
counts are always even.

Qwen3-VL formatting fix: the checkpoints' chat template writes a video as
`<|vision_start|><|video_pad|><|vision_end|>` and the original Qwen3-VL processor replaced that
whole triple with the per-frame `<t seconds><|vision_start|>...<|vision_end|>` blocks. The
transformers 5.23 processor replaces only `<|video_pad|>`, which leaves an extra
`<|vision_start|>`/`<|vision_end|>` pair around the frames: a prompt layout the model never saw in
training. We hand it the bare `<|video_pad|>` so the result is the original layout.

mRoPE text positions after a video (SPEC "To check", checked against transformers 5.23 source and
asserted in tests/test_models_inputs.py): `Qwen2_5_VLModel.get_rope_index` starts the text after a
video at (first video position) + max(grid_h, grid_w) / spatial_merge, NOT at the largest vision
position + 1 as the original Qwen2.5-VL code (transformers PR #35569, and vLLM) did. When the time
positions (patch index * second_per_grid_ts * tokens_per_second) outrun the spatial ones - any video
longer than a few seconds at common sizes - the text after the video reuses positions that the late
frames occupy, and the first generated token then jumps to max + 1 (rope_deltas is taken from the
overall maximum). Harmless for models trained from scratch with this code; for pretrained Qwen2.5-VL
checkpoints it is a train/inference mismatch and makes HF and vLLM disagree. Qwen3-VL is not
affected: its frames are separate t=1 grids, for which both rules agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as tvF
from transformers import BatchFeature, Qwen2_5_VLProcessor, Qwen3VLProcessor
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

from videofocus.errors import ConfigError, MediaError
from videofocus.media.budget import VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS, PixelBudget, clip_frame_size
from videofocus.media.image import IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS

if TYPE_CHECKING:
    from videofocus.media.video import Clip

TICKS_PER_SECOND = 1000  # resolution of the virtual timeline the video metadata describes

QwenProcessor = Qwen2_5_VLProcessor | Qwen3VLProcessor


@dataclass
class Prompt:
    """One request: a user text with an optional clip and images (shown in that order, before the
    text unless `media_first` is False: the released VideoChat-R1 puts its text first), an optional
    system message, and text the assistant's answer is forced to start with."""

    text: str
    system: str | None = None
    video: Clip | None = None
    images: list[Image.Image] = field(default_factory=list)
    assistant_prefix: str = ""
    media_first: bool = True


@dataclass(frozen=True)
class PixelLimits:
    """Bounds on the pixels of one resized frame or image. Video only: `total_pixels`, a budget for
    all the frames of a clip together that lowers the per-frame maximum of long clips
    (`media.budget.frame_size`); None: no such budget."""

    min_pixels: int
    max_pixels: int
    total_pixels: int | None = None

    def __post_init__(self) -> None:
        if self.total_pixels is not None and self.total_pixels < 1:
            raise ConfigError(f"video_total_pixels must be at least 1 (or None: no total budget), "
                              f"got {self.total_pixels}")


def encode_prompts(processor: QwenProcessor, prompts: list[Prompt], *,
                   video_min_pixels: int = VIDEO_MIN_PIXELS, video_max_pixels: int = VIDEO_MAX_PIXELS,
                   video_total_pixels: int | None = None, image_min_pixels: int = IMAGE_MIN_PIXELS,
                   image_max_pixels: int = IMAGE_MAX_PIXELS) -> BatchFeature:
    """Encode a batch of prompts for `model.generate(**batch)` or `model(**batch)`.

    Returns input_ids and attention_mask (left padded), mm_token_type_ids, and where present
    pixel_values / image_grid_thw, pixel_values_videos / video_grid_thw, and (Qwen2.5-VL)
    second_per_grid_ts. Pixel limits apply to each frame and each image separately;
    `video_total_pixels`, when set, also bounds all the frames of each clip together, qwen-vl-utils'
    rule (`media.budget.frame_size`, the frame count taken after the odd-count padding).
    See the module docstring for how the clips' true timestamps are encoded.
    """
    if not prompts:
        raise ConfigError("encode_prompts needs at least one prompt")
    _check_processor(processor)
    video_limits = PixelLimits(video_min_pixels, video_max_pixels, video_total_pixels)
    image_limits = PixelLimits(image_min_pixels, image_max_pixels)
    patch = processor.video_processor.temporal_patch_size
    clips = [_even_clip(prompt.video, patch) for prompt in prompts if prompt.video is not None]
    images = [_resize_image(processor, image, image_limits) for prompt in prompts for image in prompt.images]
    call = dict(text=[render_prompt(processor, prompt) for prompt in prompts], padding=True,
                padding_side="left", return_tensors="pt", do_resize=False)
    if images:
        call["images"] = images
    if clips:
        call.update(videos=[_resize_frames(processor, frames, video_limits) for frames, _ in clips],
                    video_metadata=[_video_metadata(times) for _, times in clips], do_sample_frames=False)
        if isinstance(processor, Qwen3VLProcessor):
            # The frames come sized (do_resize=False), so transformers' per-frame cap has nothing to do;
            # saying so explicitly also keeps its every-load notice about the cap's default away.
            call["cap_pixels_per_frame"] = False
    batch = processor(**call)
    if clips and isinstance(processor, Qwen2_5_VLProcessor):
        batch["second_per_grid_ts"] = torch.tensor([second_per_grid(times, patch) for _, times in clips],
                                                   dtype=torch.float32)
    return batch


def render_prompt(processor: QwenProcessor, prompt: Prompt) -> str:
    """The prompt as text through the checkpoint's chat template, before vision expansion."""
    media = [{"type": "video"}] if prompt.video is not None else []
    media += [{"type": "image"} for _ in prompt.images]
    text = [{"type": "text", "text": prompt.text}]
    content = media + text if prompt.media_first else text + media
    messages = [{"role": "system", "content": prompt.system}] if prompt.system is not None else []
    messages.append({"role": "user", "content": content})
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    if isinstance(processor, Qwen3VLProcessor):  # see "Qwen3-VL formatting fix" above
        wrapped = processor.vision_start_token + processor.video_token + processor.vision_end_token
        text = text.replace(wrapped, processor.video_token)
    return text + prompt.assistant_prefix


def patch_times(timestamps: np.ndarray, temporal_patch_size: int = 2) -> np.ndarray:
    """The time of each temporal patch: the mean of its first and last frame times (Qwen3-VL's rule).
    `timestamps` must already have a multiple of `temporal_patch_size` entries."""
    grouped = np.asarray(timestamps, dtype=np.float64).reshape(-1, temporal_patch_size)
    return (grouped[:, 0] + grouped[:, -1]) / 2


def video_patch_times(processor: QwenProcessor, prompts: list[Prompt]) -> list[np.ndarray]:
    """The patch times of each prompt's clip as `encode_prompts` encodes it (odd counts padded), in
    batch order: what `models.time_positions.exact_time_positions` places the patches at."""
    patch = processor.video_processor.temporal_patch_size
    return [patch_times(_even_clip(prompt.video, patch)[1], patch) for prompt in prompts if prompt.video is not None]


def second_per_grid(timestamps: np.ndarray, temporal_patch_size: int = 2) -> float:
    """Qwen2.5-VL's single seconds-per-temporal-patch for a clip: the mean spacing of its patch times
    (module docstring). A one-patch clip has no spacing; its frame span is returned."""
    times = patch_times(timestamps, temporal_patch_size)
    if len(times) == 1:
        return float(timestamps[-1] - timestamps[0])
    return float((times[-1] - times[0]) / (len(times) - 1))


def vision_token_ids(processor: QwenProcessor) -> list[int]:
    """Ids of the vision placeholder tokens (`<|image_pad|>`, `<|video_pad|>`).

    Sampling must never emit them: a later forward with the vision inputs counts them as vision
    slots and fails ("video features and video tokens do not match"). Pass
    `bad_words_ids=[[i] for i in vision_token_ids(processor)]` (or `suppress_tokens=`) to generate.
    """
    return [processor.image_token_id, processor.video_token_id]


def resized_size(processor: QwenProcessor, height: int, width: int, limits: PixelLimits, *,
                 video: bool = False) -> tuple[int, int]:
    """(height, width) a frame or image is resized to before the model sees it: aspect ratio kept,
    both sides multiples of patch * merge, area within `limits`. Model-space boxes are in these pixels."""
    vision = processor.video_processor if video else processor.image_processor
    try:
        return smart_resize(height, width, factor=_patch_factor(vision), min_pixels=limits.min_pixels,
                            max_pixels=limits.max_pixels)
    except ValueError as exc:  # aspect ratio beyond 200
        raise MediaError(f"cannot resize a {width}x{height} {'frame' if video else 'image'}: {exc}") from exc


def video_decode_size(processor: QwenProcessor, height: int, width: int,
                      limits: PixelLimits) -> tuple[int, int] | None:
    """(height, width) to decode a `height` x `width` video's frames at, so that no frame is held
    larger than `encode_prompts` will resize it to: the per-frame resized size (a clip's total budget
    only lowers it further). None when that is no smaller than the video: decode as it is."""
    target = resized_size(processor, height, width, PixelLimits(limits.min_pixels, limits.max_pixels), video=True)
    return target if target[0] * target[1] < height * width else None


def _clip_frame_size(processor: QwenProcessor, num_frames: int, height: int, width: int,
                     limits: PixelLimits) -> tuple[int, int]:
    """(height, width) each of a clip's `num_frames` frames of `height` x `width` is resized to:
    `resized_size`'s per-frame rule, or with `limits.total_pixels` qwen-vl-utils' budget rule."""
    if limits.total_pixels is None:
        return resized_size(processor, height, width, limits, video=True)
    budget = PixelBudget(limits.min_pixels, limits.max_pixels, limits.total_pixels,
                         _patch_factor(processor.video_processor))
    return clip_frame_size(height, width, num_frames, budget)


def _patch_factor(vision) -> int:
    """Resized sides are multiples of this: patch size x spatial merge (28 Qwen2.5-VL, 32 Qwen3-VL)."""
    return vision.patch_size * vision.merge_size


def _check_processor(processor: object) -> None:
    if not isinstance(processor, (Qwen2_5_VLProcessor, Qwen3VLProcessor)):
        raise ConfigError(f"unsupported processor {type(processor).__name__}: "
                          "videofocus encodes inputs for Qwen2.5-VL and Qwen3-VL")


def _even_clip(clip: Clip, temporal_patch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames and timestamps, checked, with the last frame repeated up to a multiple of the patch."""
    frames, times = np.asarray(clip.frames), np.asarray(clip.timestamps, dtype=np.float64)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise MediaError(f"clip frames must be a non-empty (T, H, W, 3) uint8 array, got {frames.dtype} "
                         f"{frames.shape}")
    if times.shape != (len(frames),) or not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
        raise MediaError(f"clip timestamps must be {len(frames)} finite times in increasing order")
    if pad := -len(frames) % temporal_patch_size:
        frames = np.concatenate([frames, np.repeat(frames[-1:], pad, axis=0)])
        times = np.concatenate([times, np.repeat(times[-1:], pad)])
    return frames, times


def _video_metadata(timestamps: np.ndarray) -> dict:
    ticks = np.round(timestamps * TICKS_PER_SECOND).astype(int).tolist()
    return {"fps": float(TICKS_PER_SECOND), "frames_indices": ticks, "total_num_frames": ticks[-1] + 1}


def _resize_frames(processor: QwenProcessor, frames: np.ndarray, limits: PixelLimits) -> torch.Tensor:
    height, width = _clip_frame_size(processor, *frames.shape[:3], limits)
    video = torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()  # TCHW uint8
    if (height, width) == tuple(video.shape[-2:]):
        return video
    return tvF.resize(video, [height, width], interpolation=tvF.InterpolationMode.BICUBIC, antialias=True)


def _resize_image(processor: QwenProcessor, image: Image.Image, limits: PixelLimits) -> Image.Image:
    height, width = resized_size(processor, image.height, image.width, limits)
    image = image.convert("RGB")
    return image if image.size == (width, height) else image.resize((width, height), Image.Resampling.BICUBIC)
