"""Reuse across rounds is exact: a frame pair's vision features do not depend on the other frames,
and generation with cached features gives the same tokens as without (greedy, tiny models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from perception_helpers import one_torch_thread, write_image, write_noise_video  # noqa: F401 (fixture)

from videofocus.backends.hf import HFBackend
from videofocus.models import load_model
from videofocus.models.inputs import Prompt, encode_prompts
from videofocus.media.pairs import focused_pair_indices
from videofocus.perception.views import ImageSource, VideoSource


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def noise_video(tmp_path_factory):
    """4 s at 4 fps, 168x112 frames: several attention windows per frame for Qwen2.5-VL."""
    return write_noise_video(tmp_path_factory.mktemp("video") / "noise.mp4")


@pytest.fixture(scope="module", params=["qwen2_5_vl", "qwen3_vl"])
def tiny(request, tiny_qwen25_vl_path, tiny_qwen3_vl_path):
    path = tiny_qwen25_vl_path if request.param == "qwen2_5_vl" else tiny_qwen3_vl_path
    return load_model(path, device="cpu")


# Small pixel limits keep the tiny models fast: 168x112 frames stay at their size (24 tokens a pair).
SMALL = dict(video_min_pixels=16 * 28 * 28, video_max_pixels=24 * 28 * 28, image_min_pixels=4 * 28 * 28,
             image_max_pixels=24 * 28 * 28)


def backend(tiny, **options) -> HFBackend:
    model, processor = tiny
    return HFBackend(model, processor, max_new_tokens=8, **SMALL, **options)


def round_prompts(noise_video) -> list[Prompt]:
    """Round 1 (uniform) and round 2 (focused on 2.0-3.0 s) of one video."""
    source = VideoSource.open(noise_video)
    first = np.arange(0, 16, 2)
    second = focused_pair_indices(source.info, len(first), [(2.0, 3.0)], 0.5, first)
    return [Prompt(text="When does it happen?", video=source.clip(indices).clip) for indices in (first, second)]


def test_a_pairs_features_do_not_depend_on_the_other_frames(tiny, noise_video):
    model, processor = tiny
    prompt = round_prompts(noise_video)[0]
    inputs = encode_prompts(processor, [prompt], video_min_pixels=SMALL["video_min_pixels"],
                            video_max_pixels=SMALL["video_max_pixels"])
    pixels, grid = inputs["pixel_values_videos"], inputs["video_grid_thw"]
    t, h, w = grid[0].tolist()
    assert t >= 3 and h * w // 4 > 4  # several pairs, several merged tokens (and windows) per pair
    with torch.inference_mode():
        whole = model.model.get_video_features(pixels, grid, return_dict=True)
        alone = [model.model.get_video_features(pixels[j * h * w:(j + 1) * h * w], torch.tensor([[1, h, w]]),
                                                return_dict=True) for j in range(t)]
    torch.testing.assert_close(torch.cat([out.pooler_output[0] for out in alone]), whole.pooler_output[0],
                               rtol=0, atol=1e-6)
    for layer, features in enumerate(getattr(whole, "deepstack_features", None) or []):
        torch.testing.assert_close(torch.cat([out.deepstack_features[layer][0] for out in alone]), features[0],
                                   rtol=0, atol=1e-6)


def test_generation_with_the_cache_equals_generation_without(tiny, noise_video):
    prompts = round_prompts(noise_video)
    cached, plain = backend(tiny), backend(tiny, cache_vision_features=False)
    with_cache = [cached.generate([prompt])[0] for prompt in prompts]
    without = [plain.generate([prompt])[0] for prompt in prompts]
    assert [g.text for g in with_cache] == [g.text for g in without]
    assert with_cache[0].cached_visual_tokens == 0
    shared_pairs = len(set(zip(*[iter(prompts[0].video.indices)] * 2)) &
                       set(zip(*[iter(prompts[1].video.indices)] * 2)))
    assert shared_pairs >= 1
    tokens_per_pair = with_cache[1].visual_tokens // (len(prompts[1].video.indices) // 2)
    assert with_cache[1].cached_visual_tokens == shared_pairs * tokens_per_pair
    assert without[1].cached_visual_tokens == 0 and with_cache[1].visual_tokens == without[1].visual_tokens


def test_batched_generation_matches_one_by_one(tiny, noise_video):
    prompts = round_prompts(noise_video)
    one_by_one = [backend(tiny).generate([prompt])[0].text for prompt in prompts]
    assert [g.text for g in backend(tiny, batch_size=2).generate(prompts)] == one_by_one


def test_image_features_are_reused_for_the_full_image_of_a_crop_round(tiny, tmp_path):
    source = ImageSource.open(write_image(tmp_path / "photo.png", width=160, height=120))
    rounds = [Prompt(text="Where is it?", images=source.view().images),
              Prompt(text="Where is it?", images=source.view([[40, 30, 100, 80]]).images)]
    cached, plain = backend(tiny), backend(tiny, cache_vision_features=False)
    with_cache = [cached.generate([prompt])[0] for prompt in rounds]
    assert [g.text for g in with_cache] == [plain.generate([prompt])[0].text for prompt in rounds]
    assert with_cache[1].cached_visual_tokens == with_cache[0].visual_tokens > 0
    patch = tiny[0].config.vision_config.patch_size * 2
    width, height = with_cache[0].image_sizes[0]
    assert width % patch == 0 and height % patch == 0 and abs(width / height - 160 / 120) < 0.2


def test_vision_placeholder_tokens_are_never_generated(tiny_qwen25_vl_path, noise_video):
    model, processor = load_model(tiny_qwen25_vl_path, device="cpu")
    video_id = processor.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    with torch.no_grad():  # make <|video_pad|> the model's favourite token everywhere
        model.lm_head.weight[video_id] = model.lm_head.weight.abs().max() * 50
    generation = HFBackend(model, processor, max_new_tokens=8, **SMALL).generate(round_prompts(noise_video)[:1])[0]
    assert generation.completion_tokens == 8
    ids = processor.tokenizer(generation.text, add_special_tokens=False)["input_ids"]
    assert video_id not in ids


def test_the_feature_cache_stays_within_its_byte_budget(tiny, noise_video):
    prompts = round_prompts(noise_video)
    small = backend(tiny, feature_cache_bytes=1)
    small.generate([prompts[0]])
    assert len(small.features._store) == 1  # the newest unit only
    assert small.generate([prompts[1]])[0].text == backend(tiny).generate([prompts[1]])[0].text


def test_drafting_from_the_previous_output_changes_nothing_but_the_passes(tiny, noise_video):
    prompts = round_prompts(noise_video)
    reference = [backend(tiny, use_drafts=False).generate([prompt])[0] for prompt in prompts]
    drafted = backend(tiny)
    exact = drafted.generate([prompts[0]], drafts=[reference[0].text])[0]
    assert exact.text == reference[0].text
    # a random model's text has broken UTF-8, so it re-tokenises only in part: some tokens are drafted
    assert 0 < exact.accepted_draft_tokens < exact.completion_tokens
    other = drafted.generate([prompts[1]], drafts=[reference[0].text])[0]  # round 2 drafted from round 1
    assert other.text == reference[1].text
    wrong = drafted.generate([prompts[1]], drafts=["completely unrelated words"])[0]
    assert wrong.text == reference[1].text
    plain = backend(tiny).generate(prompts, drafts=None)
    assert [g.text for g in plain] == [g.text for g in reference] and plain[0].accepted_draft_tokens == 0
    drafts = [reference[0].text] * 2
    batched = backend(tiny).generate(prompts, drafts=drafts)  # several prompts: batched, drafts unused
    assert [g.text for g in batched] == [g.text for g in reference]
    assert [g.accepted_draft_tokens for g in batched] == [0, 0]
    forced = backend(tiny, use_drafts=True).generate(prompts, drafts=drafts)
    assert [g.text for g in forced] == [g.text for g in reference] and forced[0].accepted_draft_tokens > 0
