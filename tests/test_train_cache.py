"""cache_examples: later epochs reuse each sample's encoded input instead of decoding it again, and the
run trains exactly as without the cache (SFT with a trained vision tower; GRPO with the frozen tower's
features shared by a group)."""

from __future__ import annotations

import pytest
import torch

import videofocus.train.run as run_module
from train_helpers import digit_reward, grpo_config, load_weights, one_torch_thread, sft_config  # noqa: F401
from train_helpers import write_video_samples
from videofocus.train.grpo import train_grpo
from videofocus.train.sft import train_sft

SAMPLES = 4


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return write_video_samples(tmp_path_factory.mktemp("cache"), SAMPLES)


@pytest.fixture
def encodings(monkeypatch):
    """Counts the samples decoded and encoded."""
    calls = []
    original = run_module.make_example

    def counting(item, *args, **kwargs):
        calls.append(item.sample.id)
        return original(item, *args, **kwargs)

    monkeypatch.setattr(run_module, "make_example", counting)
    return calls


def _train(recipe: str, model, out, videos, **overrides):
    """Three epochs of two steps."""
    if recipe == "sft":
        return train_sft(sft_config(model, out, [videos], max_steps=6, freeze_vision_tower=False, **overrides))
    return train_grpo(grpo_config(model, out, [videos], max_steps=6, **overrides), reward_fn=digit_reward)


@pytest.mark.parametrize("recipe", ["sft", "grpo"])
def test_cached_examples_are_encoded_once_and_train_the_same_weights(recipe, tiny_qwen25_vl_path, videos, tmp_path,
                                                                      encodings):
    plain = _train(recipe, tiny_qwen25_vl_path, tmp_path / "plain", videos)
    encoded_without_cache = len(encodings)
    encodings.clear()
    cached = _train(recipe, tiny_qwen25_vl_path, tmp_path / "cached", videos, cache_examples=True)

    assert sorted(encodings) == sorted(set(encodings)) and len(encodings) == SAMPLES
    assert encoded_without_cache == 3 * SAMPLES
    first, second = load_weights(plain), load_weights(cached)
    assert all(torch.equal(first[name], second[name]) for name in first)
