"""Exact mRoPE time positions for Qwen2.5-VL clips whose frames are unevenly spaced.

Qwen2.5-VL places temporal patch k of a video at (video start) + int(k × second_per_grid_ts ×
tokens_per_second): one spacing per video (`models.inputs` sets it to the mean spacing of the patches
sampled). A focused ITP round is dense inside the clue and sparse elsewhere, so one spacing misplaces
its patches. `exact_time_positions` places each patch at its true time instead:

    (video start) + floor((t_k - t_0) × tokens_per_second)

with t_k the patch time (`models.inputs.patch_times`), counted from the first patch as the model's own
rule counts from it. For evenly spaced frames this is the model's own positions, so checkpoints see
nothing new there. It wraps the model's `get_rope_index` for the duration of a call (prefill builds
the positions and the `rope_deltas` decoding continues from), so generation needs no other change.

transformers (5.24, checked): `get_vision_position_ids` multiplies `arange(t)` by the float
`tokens_per_second × second_per_grid_ts` and truncates only the product, so a fractional
`second_per_grid_ts` (frames above 2 fps) keeps its spacing; `models.inputs` always passes it as a
float tensor (an integer tensor would truncate 0.25 s to 0: every patch at one time), and
tests/test_models_time_positions.py pins both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from videofocus.errors import ConfigError

VIDEO_TOKEN_TYPE = 2  # mm_token_type_ids: text 0, image 1, video 2


def exact_temporal_offsets(patch_times: np.ndarray, tokens_per_second: float) -> np.ndarray:
    """Each patch's temporal position relative to the first: floor((t_k - t_0) × tokens_per_second)."""
    times = np.asarray(patch_times, dtype=np.float64)
    # a hair above the product so that exact multiples (0.5 s × 2) are not floored one below
    return np.floor((times - times[0]) * tokens_per_second + 1e-6).astype(np.int64)


def place_patches_at_true_times(position_ids: torch.Tensor, mm_token_type_ids: torch.Tensor,
                                attention_mask: torch.Tensor | None, video_grid_thw: torch.Tensor,
                                times_per_video: Sequence[np.ndarray], tokens_per_second: float,
                                spatial_merge_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`position_ids` (3, batch, length) from `get_rope_index` with every video's temporal row set to
    its true patch times, and the `rope_deltas` (batch, 1) that follow from them. Videos are taken in
    the model's order: by batch row, then by position."""
    position_ids = position_ids.clone()
    videos = iter(zip(video_grid_thw.tolist(), times_per_video, strict=True))
    deltas = []
    for row in range(position_ids.shape[1]):
        keep = attention_mask[row].bool() if attention_mask is not None else torch.ones_like(mm_token_type_ids[row],
                                                                                            dtype=torch.bool)
        positions = position_ids[:, row, keep]
        for start, end in _video_runs(mm_token_type_ids[row][keep]):
            (grid_t, grid_h, grid_w), times = next(videos)
            if len(times) != grid_t:
                raise ConfigError(f"a video has {grid_t} temporal patches but {len(times)} patch times")
            per_patch = (grid_h // spatial_merge_size) * (grid_w // spatial_merge_size)
            offsets = torch.as_tensor(exact_temporal_offsets(times, tokens_per_second), dtype=positions.dtype)
            positions[0, start:end] = positions[0, start] + offsets.repeat_interleave(per_patch).to(positions.device)
        position_ids[:, row, keep] = positions
        deltas.append(int(positions.max()) + 1 - int(keep.sum()))
    return position_ids, torch.tensor(deltas, device=position_ids.device).unsqueeze(1)


def _video_runs(token_types: torch.Tensor) -> list[tuple[int, int]]:
    """[start, end) of each run of video tokens."""
    is_video = (token_types == VIDEO_TOKEN_TYPE).int()
    edges = torch.diff(is_video, prepend=is_video.new_zeros(1), append=is_video.new_zeros(1))
    starts, ends = torch.nonzero(edges == 1).flatten().tolist(), torch.nonzero(edges == -1).flatten().tolist()
    return list(zip(starts, ends))


@contextmanager
def exact_time_positions(model: Any, times_per_video: Sequence[np.ndarray]) -> Iterator[None]:
    """Within the block, the Qwen2.5-VL `model` (ForConditionalGeneration or its inner model) places
    the patches of the videos of the next call at `times_per_video` (one array of patch times per
    video, in batch order)."""
    inner = getattr(model, "model", model)
    if getattr(inner.config, "model_type", None) not in ("qwen2_5_vl", "qwen2_5_vl_text") \
            or not hasattr(inner, "get_rope_index"):
        raise ConfigError("exact time positions are for Qwen2.5-VL models (Qwen3-VL states the times as text)")
    vision = inner.config.vision_config
    original = inner.get_rope_index

    def get_rope_index(input_ids, mm_token_type_ids, image_grid_thw=None, video_grid_thw=None,
                       second_per_grid_ts=None, attention_mask=None, **kwargs):
        position_ids, deltas = original(input_ids, mm_token_type_ids, image_grid_thw=image_grid_thw,
                                        video_grid_thw=video_grid_thw, second_per_grid_ts=second_per_grid_ts,
                                        attention_mask=attention_mask, **kwargs)
        if video_grid_thw is None:
            return position_ids, deltas
        return place_patches_at_true_times(position_ids, mm_token_type_ids, attention_mask, video_grid_thw,
                                           times_per_video, vision.tokens_per_second, vision.spatial_merge_size)

    inner.get_rope_index = get_rope_index
    try:
        yield
    finally:
        del inner.get_rope_index  # the instance attribute; the class method shows through again
