"""Qwen2.5-VL time positions: exact (each patch at its true time) next to the mean spacing, and the
installed transformers' handling of a fractional second_per_grid_ts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from models_helpers import make_clip

from videofocus.backends.hf import HFBackend
from videofocus.errors import ConfigError
from videofocus.models import load_model
from videofocus.models.inputs import Prompt, encode_prompts, patch_times, video_patch_times
from videofocus.models.time_positions import VIDEO_TOKEN_TYPE, exact_time_positions

# A focused clip: two pairs early, two pairs late (patch times 0.25, 1.25, 6.125, 6.625 s).
UNEVEN = [0.0, 0.5, 1.0, 1.5, 6.0, 6.25, 6.5, 6.75]
UNIFORM = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]


@pytest.fixture(scope="module")
def tiny(tiny_qwen25_vl_path):
    return load_model(tiny_qwen25_vl_path, dtype="float32", device="cpu")


def video_time_rows(model, batch) -> list[np.ndarray]:
    """Per batch row, the temporal position of each temporal patch of its video (relative to the first)."""
    position_ids, _ = model.model.get_rope_index(
        batch["input_ids"], batch["mm_token_type_ids"], video_grid_thw=batch["video_grid_thw"],
        second_per_grid_ts=batch.get("second_per_grid_ts"), attention_mask=batch["attention_mask"])
    rows = []
    for row, (grid_t, grid_h, grid_w) in enumerate(batch["video_grid_thw"].tolist()):
        is_video = (batch["mm_token_type_ids"][row] == VIDEO_TOKEN_TYPE) & batch["attention_mask"][row].bool()
        temporal = position_ids[0, row, is_video].reshape(grid_t, -1)[:, 0]
        rows.append((temporal - temporal[0]).numpy())
    return rows


def test_exact_positions_are_true_time_times_tokens_per_second(tiny):
    model, processor = tiny
    tps = model.config.vision_config.tokens_per_second
    prompts = [Prompt(text="When?", video=make_clip(UNEVEN)), Prompt(text="When is it?", video=make_clip(UNIFORM))]
    batch = encode_prompts(processor, prompts)
    mean_spacing = video_time_rows(model, batch)
    with exact_time_positions(model, video_patch_times(processor, prompts)):
        exact = video_time_rows(model, batch)
    true_times = patch_times(np.array(UNEVEN))
    np.testing.assert_array_equal(exact[0], np.floor((true_times - true_times[0]) * tps))  # [0, 2, 11, 12]
    assert not np.array_equal(mean_spacing[0], exact[0])  # mean spacing puts them at [0, 4, 8, 12]
    np.testing.assert_array_equal(exact[1], mean_spacing[1])  # even frames: the model's own positions
    assert model.model.get_rope_index.__func__ is type(model.model).get_rope_index  # unwrapped after the block


def test_exact_positions_drive_generation_and_its_rope_deltas(tiny):
    model, processor = tiny
    prompt = Prompt(text="When?", video=make_clip(UNEVEN))
    batch = encode_prompts(processor, [prompt])
    with exact_time_positions(model, video_patch_times(processor, [prompt])):
        _, deltas = model.model.get_rope_index(batch["input_ids"], batch["mm_token_type_ids"],
                                               video_grid_thw=batch["video_grid_thw"],
                                               second_per_grid_ts=batch["second_per_grid_ts"],
                                               attention_mask=batch["attention_mask"])
    exact = HFBackend(model, processor, max_new_tokens=3, time_positions="exact", cache_vision_features=False)
    exact.generate([prompt])
    assert model.model.rope_deltas.tolist() == deltas.tolist()  # prefill used the exact positions
    with pytest.raises(ConfigError, match="time_positions"):
        HFBackend(model, processor, time_positions="true")


def test_fractional_second_per_grid_is_not_truncated(tiny):
    """8 fps: 0.25 s a patch. The installed transformers keeps the fraction (positions 0, 0.5, 1.0 …
    floored), and encode_prompts hands it over as a float."""
    model, processor = tiny
    tps = model.config.vision_config.tokens_per_second
    times = [k / 8 for k in range(16)]
    batch = encode_prompts(processor, [Prompt(text="x", video=make_clip(times))])
    assert batch["second_per_grid_ts"].is_floating_point()
    np.testing.assert_allclose(batch["second_per_grid_ts"].numpy(), [0.25])
    (positions,) = video_time_rows(model, batch)
    np.testing.assert_array_equal(positions, np.floor(np.arange(8) * 0.25 * tps))
    assert positions[-1] > 0  # an integer cast of 0.25 s would put every patch at 0
    truncated = dict(batch, second_per_grid_ts=batch["second_per_grid_ts"].to(torch.int64))
    assert not video_time_rows(model, truncated)[0].any()  # what the guard prevents
