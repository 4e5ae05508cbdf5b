"""encode_prompts: true clip times reach Qwen2.5-VL and Qwen3-VL, batching, generation, suppression."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from media_helpers import frame_index, write_timed_video
from models_helpers import make_clip
from PIL import Image

from videofocus.errors import ConfigError, MediaError
from videofocus.media.budget import PixelBudget, frame_size
from videofocus.media.video import probe
from videofocus.models import load_model
from videofocus.models.inputs import (
    PixelLimits,
    Prompt,
    encode_prompts,
    patch_times,
    resized_size,
    second_per_grid,
    vision_token_ids,
)
from videofocus.media.pairs import focused_pair_indices
from videofocus.perception.views import VideoSource, first_round_indices

LIMITS = dict(video_min_pixels=28 * 28, video_max_pixels=64 * 64, image_min_pixels=28 * 28,
              image_max_pixels=64 * 64)
UNIFORM = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
FOCUSED = [0.0, 4.0, 8.0, 8.5, 9.0, 9.5, 12.0, 16.0]  # dense inside a clue at 8-10 s
# Not on any frame grid and not starting at 0, as variable-frame-rate video or a late clip gives.
IRREGULAR = [3.37, 3.41, 5.02, 5.9, 7.777, 8.123]
ODD = [1.0, 2.0, 3.0]
ARCHS = ["tiny_qwen25_vl_path", "tiny_qwen3_vl_path"]
PATCH_FACTOR = {"tiny_qwen25_vl_path": 28, "tiny_qwen3_vl_path": 32}


@pytest.fixture(scope="module")
def qwen25(tiny_qwen25_vl_path):
    return load_model(tiny_qwen25_vl_path)


@pytest.fixture(scope="module")
def qwen3(tiny_qwen3_vl_path):
    return load_model(tiny_qwen3_vl_path)


def _printed_times(processor, input_ids: torch.Tensor) -> list[str]:
    return re.findall(r"<(\d+\.\d) seconds>", processor.decode(input_ids))


def _pair_means(timestamps: list[float]) -> list[float]:
    """Time of each frame pair, an odd last frame paired with itself (computed independently here)."""
    padded = timestamps + timestamps[-1:] * (len(timestamps) % 2)
    return [(padded[i] + padded[i + 1]) / 2 for i in range(0, len(padded), 2)]


def _expected_times(timestamps: list[float]) -> list[str]:
    return [f"{time:.1f}" for time in _pair_means(timestamps)]


@pytest.mark.parametrize("timestamps", [UNIFORM, FOCUSED, IRREGULAR, ODD])
def test_qwen3_vl_prints_the_clips_true_times(qwen3, timestamps):
    _, processor = qwen3
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(timestamps))], **LIMITS)
    assert _printed_times(processor, batch.input_ids[0]) == _expected_times(timestamps)
    assert batch.video_grid_thw[0, 0] == len(_expected_times(timestamps))


def test_qwen3_vl_focused_sample_reads_as_expected(qwen3):
    _, processor = qwen3
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(FOCUSED))], **LIMITS)
    # Patch times are the means of frame pairs: (0+4)/2, (8+8.5)/2, (9+9.5)/2, (12+16)/2.
    assert _printed_times(processor, batch.input_ids[0]) == ["2.0", "8.2", "9.2", "14.0"]


def test_qwen3_vl_prompt_has_the_original_frame_layout(qwen3):
    _, processor = qwen3
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(UNIFORM))], **LIMITS)
    text = processor.decode(batch.input_ids[0])
    # One <|vision_start|> per frame pair right after its time, no extra pair around the whole video.
    assert "<|im_start|>user\n<0.2 seconds><|vision_start|><|video_pad|>" in text
    assert text.count("<|vision_start|>") == text.count(" seconds>") == 4
    assert "<|vision_end|>When?<|im_end|>" in text and "<|vision_end|><|vision_end|>" not in text


@pytest.mark.parametrize("timestamps", [UNIFORM, FOCUSED, IRREGULAR, ODD])
def test_qwen25_vl_second_per_grid_is_the_mean_spacing_of_sampled_patches(qwen25, timestamps):
    _, processor = qwen25
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(timestamps))], **LIMITS)
    times = _pair_means(timestamps)
    assert batch.second_per_grid_ts.tolist() == pytest.approx([(times[-1] - times[0]) / (len(times) - 1)], abs=1e-6)


@pytest.fixture(scope="module")
def focused_round_of_a_vfr_file(tmp_path_factory):
    """Round 2 of the perception loop on a real variable-frame-rate file whose first frame is at
    1.7 s: the clip it decodes, and the true time of each of its frames (seconds from the first
    frame), known from which written frame its pixels show rather than from probing."""
    steps = np.random.default_rng(3).uniform(0.03, 0.4, size=59)
    written_ms = np.round(1000 * (1.7 + np.concatenate([[0.0], np.cumsum(steps)]))).astype(int)
    path = write_timed_video(tmp_path_factory.mktemp("vfr") / "vfr.mp4", written_ms / 1000)
    info = probe(path)
    uniform = first_round_indices(info, 8, fps=2.0, min_frames=4, max_frames=768)
    focused = focused_pair_indices(info, len(uniform), [(4.0, 6.5)], key_ratio=0.5, previous=uniform)
    clip = VideoSource(info).clip(focused).clip
    shown = [frame_index(frame) for frame in clip.frames]
    return clip, [(written_ms[index] - written_ms[0]) / 1000 for index in shown]


def test_a_focused_vfr_round_is_decoded_at_its_true_times(focused_round_of_a_vfr_file):
    clip, true_times = focused_round_of_a_vfr_file
    assert clip.timestamps.tolist() == true_times
    spacings = np.diff(_pair_means(true_times))
    assert spacings.max() > 2 * spacings.min()  # dense inside the clue: no single spacing fits


def test_qwen3_vl_prints_a_focused_vfr_rounds_true_times(qwen3, focused_round_of_a_vfr_file):
    _, processor = qwen3
    clip, true_times = focused_round_of_a_vfr_file
    batch = encode_prompts(processor, [Prompt("When?", video=clip)], **LIMITS)
    assert _printed_times(processor, batch.input_ids[0]) == _expected_times(true_times)


def test_qwen25_vl_spaces_a_focused_vfr_round_by_its_true_mean_pair_spacing(qwen25, focused_round_of_a_vfr_file):
    _, processor = qwen25
    clip, true_times = focused_round_of_a_vfr_file
    batch = encode_prompts(processor, [Prompt("When?", video=clip)], **LIMITS)
    times = _pair_means(true_times)
    assert batch.second_per_grid_ts.tolist() == pytest.approx([(times[-1] - times[0]) / (len(times) - 1)], abs=1e-6)


def test_qwen25_vl_uniform_clip_time_positions_are_exact(qwen25):
    model, processor = qwen25
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(UNIFORM))], **LIMITS)
    assert batch.second_per_grid_ts.tolist() == pytest.approx([1.0])  # 2 frames x 0.5 s
    offsets = _video_time_offsets(model, batch)
    tokens_per_second = model.config.vision_config.tokens_per_second
    true = (patch_times(np.array(UNIFORM)) - patch_times(np.array(UNIFORM))[0]) * tokens_per_second
    assert offsets == true.tolist()


def test_qwen25_vl_focused_clip_keeps_first_and_last_patch_at_their_true_distance(qwen25):
    model, processor = qwen25
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(FOCUSED))], **LIMITS)
    offsets = _video_time_offsets(model, batch)
    tokens_per_second = model.config.vision_config.tokens_per_second
    assert offsets[-1] == (14.0 - 2.0) * tokens_per_second  # last patch 14.0 s, first 2.0 s
    assert offsets == [0, 8, 16, 24]  # one spacing for all: the dense middle is linearly placed


def _video_time_offsets(model, batch) -> list[int]:
    """mRoPE time position of each temporal patch of the (single) video, from its first patch."""
    positions, _ = model.model.get_rope_index(
        batch.input_ids, batch.mm_token_type_ids, video_grid_thw=batch.video_grid_thw,
        second_per_grid_ts=batch.second_per_grid_ts, attention_mask=batch.attention_mask)
    video = batch.input_ids[0] == model.config.video_token_id
    time_positions = positions[0, 0, video]
    return sorted({int(p) - int(time_positions[0]) for p in time_positions})


def test_text_after_a_qwen25_vl_video_starts_after_its_spatial_extent_not_its_time(qwen25):
    """SPEC "To check": transformers 5.23 continues the text at video start + max(h, w) / merge,
    where the original Qwen2.5-VL rule continues at the largest vision position + 1."""
    model, processor = qwen25
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(UNIFORM))], **LIMITS)
    positions, deltas = model.model.get_rope_index(
        batch.input_ids, batch.mm_token_type_ids, video_grid_thw=batch.video_grid_thw,
        second_per_grid_ts=batch.second_per_grid_ts, attention_mask=batch.attention_mask)
    video = torch.nonzero(batch.input_ids[0] == model.config.video_token_id).flatten()
    first, after = positions[:, 0, video[0]], positions[:, 0, video[-1] + 1]
    video_max = int(positions[:, 0, video].max())
    merged_side = max(batch.video_grid_thw[0, 1:].tolist()) // 2
    assert after.tolist() == [int(first[0]) + merged_side] * 3
    assert video_max == int(first[0]) + 6  # 4 patches, 1 s apart, 2 positions a second
    assert int(after[0]) < video_max + 1  # the original rule would give video_max + 1
    # The first generated token is placed after the overall maximum, not after the last prompt token.
    last_prompt = int(positions[0, 0, -1])
    assert int(deltas[0]) + batch.input_ids.shape[1] == max(video_max, last_prompt) + 1


def test_odd_frame_count_repeats_the_last_frame_and_its_time(qwen25, qwen3):
    for model, processor in (qwen25, qwen3):
        batch = encode_prompts(processor, [Prompt("When?", video=make_clip(ODD))], **LIMITS)
        assert batch.video_grid_thw[0, 0] == 2
    _, processor = qwen3
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(ODD))], **LIMITS)
    assert _printed_times(processor, batch.input_ids[0]) == ["1.5", "3.0"]


@pytest.mark.parametrize("fixture", ARCHS)
def test_batch_is_left_padded_with_modality_types(fixture, request):
    _, processor = load_model(request.getfixturevalue(fixture))
    prompts = [Prompt("When does it move?", video=make_clip(FOCUSED)),
               Prompt("Where?", video=make_clip(ODD, seed=1), system="Be brief."),
               Prompt("What colour?", images=[Image.new("RGB", (90, 60), "red")], assistant_prefix="<think>")]
    batch = encode_prompts(processor, prompts, **LIMITS)
    mask = batch.attention_mask
    assert mask[:, -1].all() and not mask[:, 0].all()  # padding on the left only
    assert all((row.diff() >= 0).all() for row in mask)
    pad = processor.tokenizer.pad_token_id
    assert ((batch.input_ids == pad) | mask.bool()).all()
    types = batch.mm_token_type_ids
    assert torch.equal(types == 2, batch.input_ids == processor.video_token_id)
    assert torch.equal(types == 1, batch.input_ids == processor.image_token_id)
    assert batch.video_grid_thw.shape == (2, 3) and batch.image_grid_thw.shape == (1, 3)
    texts = processor.batch_decode(batch.input_ids, skip_special_tokens=False)
    assert "Be brief." in texts[1] and texts[2].endswith("<|im_start|>assistant\n<think>")


@pytest.mark.parametrize("fixture", ARCHS)
def test_frames_and_images_are_resized_within_the_pixel_limits(fixture, request):
    _, processor = load_model(request.getfixturevalue(fixture))
    image = Image.new("RGB", (600, 200), "blue")
    prompts = [Prompt("Where?", video=make_clip(UNIFORM[:4], height=120, width=200)), Prompt("Box?", images=[image])]
    batch = encode_prompts(processor, prompts, video_min_pixels=1000, video_max_pixels=9000,
                           image_min_pixels=1000, image_max_pixels=60000)
    patch = processor.image_processor.patch_size
    for grid, (low, high) in ((batch.video_grid_thw[0], (1000, 9000)), (batch.image_grid_thw[0], (1000, 60000))):
        height, width = int(grid[1]) * patch, int(grid[2]) * patch
        assert low <= height * width <= high and height % (2 * patch) == 0 and width % (2 * patch) == 0
    image_h, image_w = (int(side) * patch for side in batch.image_grid_thw[0, 1:])
    assert (image_h, image_w) == resized_size(processor, 200, 600, PixelLimits(1000, 60000))
    assert abs(image_w / image_h - 3) < 0.3  # aspect ratio kept up to the patch rounding


def _frame_sizes(processor, batch) -> list[tuple[int, int]]:
    patch = processor.video_processor.patch_size
    return [(h * patch, w * patch) for _, h, w in batch.video_grid_thw.tolist()]


@pytest.mark.parametrize("fixture", ARCHS)
def test_a_total_pixel_budget_shrinks_the_frames_of_a_long_clip_only(fixture, request):
    _, processor = load_model(request.getfixturevalue(fixture))
    limits = dict(video_min_pixels=32 * 32, video_max_pixels=160 * 160)
    budget = PixelBudget(limits["video_min_pixels"], limits["video_max_pixels"], total_pixels=124_000,
                         factor=PATCH_FACTOR[fixture])
    # 15 frames are padded to 16, which share the total: 15 would give another size (checked below).
    long, short = (make_clip([i / 2 for i in range(count)], height=180, width=320) for count in (15, 3))
    batch = encode_prompts(processor, [Prompt("When?", video=long), Prompt("When?", video=short)],
                           video_total_pixels=budget.total_pixels, **limits)
    long_size, short_size = _frame_sizes(processor, batch)
    unbudgeted = _frame_sizes(processor, encode_prompts(processor, [Prompt("When?", video=short)], **limits))[0]
    assert long_size == frame_size(180, 320, 16, budget) != frame_size(180, 320, 15, budget)
    assert long_size != unbudgeted  # the total binds
    assert short_size == frame_size(180, 320, 4, budget) == unbudgeted  # it does not


@pytest.mark.parametrize("fixture", ARCHS)
def test_batched_generation_matches_one_by_one_and_logits_are_finite(fixture, request):
    model, processor = load_model(request.getfixturevalue(fixture))
    prompts = [Prompt("When?", video=make_clip(FOCUSED)), Prompt("Where is it?", video=make_clip(UNIFORM[:4], seed=1)),
               Prompt("What?", images=[Image.new("RGB", (100, 60), "red")])]
    batch = encode_prompts(processor, prompts, **LIMITS)
    logits = model(**batch).logits
    assert logits.shape == (3, batch.input_ids.shape[1], model.config.text_config.vocab_size)
    assert torch.isfinite(logits).all()
    generated = model.generate(**batch, max_new_tokens=4, do_sample=False)[:, batch.input_ids.shape[1]:]
    assert generated.shape == (3, 4)
    for row, prompt in enumerate(prompts):
        alone = encode_prompts(processor, [prompt], **LIMITS)
        expected = model.generate(**alone, max_new_tokens=4, do_sample=False)[0, alone.input_ids.shape[1]:]
        assert torch.equal(generated[row], expected)
        assert torch.allclose(model(**alone).logits[0, -1], logits[row, -1], atol=1e-4)


def test_qwen25_vl_without_mm_token_type_ids_silently_loses_3d_positions(qwen25):
    model, processor = qwen25
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(FOCUSED))], **LIMITS)
    with_types = model(**batch).logits
    without = model(**{key: value for key, value in batch.items() if key != "mm_token_type_ids"}).logits
    assert not torch.allclose(with_types, without, atol=1e-5)


class _PadLovingHead(torch.nn.Module):
    """The model's head plus a large bonus on some tokens: a policy that learnt to emit them."""

    def __init__(self, head: torch.nn.Module, token_ids: list[int]):
        super().__init__()
        self.head, self.token_ids = head, token_ids

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        logits = self.head(hidden)
        logits[..., self.token_ids] += 100.0
        return logits


@pytest.mark.parametrize("fixture", ARCHS)
def test_suppressing_vision_tokens_keeps_the_next_forward_valid(fixture, request):
    model, processor = load_model(request.getfixturevalue(fixture))
    banned = vision_token_ids(processor)
    assert sorted(banned) == sorted([processor.image_token_id, processor.video_token_id])
    model.lm_head = _PadLovingHead(model.lm_head, [processor.video_token_id])
    batch = encode_prompts(processor, [Prompt("When?", video=make_clip(UNIFORM[:4]))], **LIMITS)
    length = batch.input_ids.shape[1]
    free = model.generate(**batch, max_new_tokens=4, do_sample=False)
    suppressed = model.generate(**batch, max_new_tokens=4, do_sample=False, bad_words_ids=[[i] for i in banned])
    assert free[0, length:].tolist() == [processor.video_token_id] * 4
    assert not set(suppressed[0, length:].tolist()) & set(banned)
    assert suppressed.shape[1] == length + 4

    def forward_on(sequence):  # the training forward: prompt + completion with the same video
        types = torch.cat([batch.mm_token_type_ids, torch.zeros_like(sequence[:, length:])], dim=1)
        inputs = {**batch, "input_ids": sequence, "attention_mask": torch.ones_like(sequence),
                  "mm_token_type_ids": types}
        return model(**inputs).logits

    assert torch.isfinite(forward_on(suppressed)).all()
    with pytest.raises(ValueError, match="(?i)video features and video tokens do not match"):
        forward_on(free)


def test_time_helpers():
    assert patch_times(np.array([0.0, 1.0, 4.0, 6.0])).tolist() == [0.5, 5.0]
    assert second_per_grid(np.array([0.0, 1.0, 4.0, 6.0])) == 4.5
    assert second_per_grid(np.array([2.0, 2.5])) == 0.5  # one patch: its own span


def test_bad_inputs_are_refused_clearly(qwen25):
    _, processor = qwen25
    clip = make_clip(UNIFORM[:4])
    clip.timestamps = clip.timestamps[::-1].copy()
    with pytest.raises(MediaError, match="increasing order"):
        encode_prompts(processor, [Prompt("x", video=clip)], **LIMITS)
    clip = make_clip(UNIFORM[:4])
    clip.frames = clip.frames.astype(np.float32)
    with pytest.raises(MediaError, match="uint8"):
        encode_prompts(processor, [Prompt("x", video=clip)], **LIMITS)
    with pytest.raises(MediaError, match="1x400 image"):
        encode_prompts(processor, [Prompt("x", images=[Image.new("RGB", (1, 400))])], **LIMITS)
    with pytest.raises(ConfigError, match="at least one prompt"):
        encode_prompts(processor, [], **LIMITS)
    with pytest.raises(ConfigError, match="video_total_pixels must be at least 1"):
        encode_prompts(processor, [Prompt("x", video=make_clip(UNIFORM[:4]))], video_total_pixels=0, **LIMITS)
    with pytest.raises(ConfigError, match="unsupported processor"):
        encode_prompts(processor.tokenizer, [Prompt("x")])
