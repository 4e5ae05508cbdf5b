"""Half-precision weights outside DeepSpeed: the trained parameters are kept in float32, so AdamW steps far
below bf16's resolution still move them, the frozen ones stay in bf16, and the final model is saved in
bf16. Half-precision weights without autocast are refused before training."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from train_helpers import (digit_reward, grpo_config, load_weights, one_torch_thread,  # noqa: F401 (fixture)
                           sft_config, write_video_samples)
from videofocus.errors import ConfigError
from videofocus.models import load_model
from videofocus.train.grpo import train_grpo
from videofocus.train.sft import train_sft

QUERY = "model.language_model.layers.0.self_attn.q_proj.weight"     # names in memory (and in checkpoints)
PROJECTOR = "model.visual.merger.mlp.0.weight"                     # frozen in both runs below
BF16 = dict(dtype="bfloat16", mixed_precision="bf16", learning_rate=1e-6, max_steps=1)


@pytest.fixture
def fresh_accelerator_state():
    """One process keeps one mixed-precision setting unless accelerate's state is reset."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state()
    yield
    AcceleratorState._reset_state()


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return write_video_samples(tmp_path_factory.mktemp("precision"), 4)


def _train(recipe: str, model, out, videos, **overrides):
    if recipe == "sft":
        return train_sft(sft_config(model, out, [videos], **BF16, **overrides))
    return train_grpo(grpo_config(model, out, [videos], **BF16, **overrides), reward_fn=digit_reward)


def _start_weights(model_path) -> dict[str, torch.Tensor]:
    model, _ = load_model(model_path, dtype="bfloat16", device="cpu")
    return model.state_dict()


# SFT also trains the vision tower: float32 features then meet the frozen bf16 projector.
@pytest.mark.parametrize(("recipe", "overrides"), [("sft", {"freeze_vision_tower": False}), ("grpo", {})])
def test_bf16_weights_take_updates_far_below_their_resolution(recipe, overrides, tiny_qwen25_vl_path, videos,
                                                              tmp_path, fresh_accelerator_state):
    out = _train(recipe, tiny_qwen25_vl_path, tmp_path / recipe, videos, **overrides)
    start = _start_weights(tiny_qwen25_vl_path)
    checkpoint = load_file(out / "checkpoints" / "step-00000001" / "model.safetensors")

    assert checkpoint[QUERY].dtype == torch.float32
    # An update of ~1e-6 is ~100x below the resolution of a bf16 weight of 0.02: in bf16 nearly none would move.
    moved = (checkpoint[QUERY] != start[QUERY].float()).float().mean().item()
    assert moved > 0.5
    assert checkpoint[PROJECTOR].dtype == torch.bfloat16 and torch.equal(checkpoint[PROJECTOR], start[PROJECTOR])

    saved = load_weights(out)
    assert {tensor.dtype for tensor in saved.values() if tensor.is_floating_point()} == {torch.bfloat16}
    assert torch.equal(saved["model.layers.0.self_attn.q_proj.weight"], checkpoint[QUERY].to(torch.bfloat16))
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"


def test_lora_adapters_on_bf16_weights_are_float32(tiny_qwen25_vl_path, videos, tmp_path, fresh_accelerator_state):
    out = train_sft(sft_config(tiny_qwen25_vl_path, tmp_path / "lora", [videos], **BF16, use_lora=True, lora_r=4))
    checkpoint = load_file(out / "checkpoints" / "step-00000001" / "model.safetensors")
    adapters = {name: tensor for name, tensor in checkpoint.items() if ".lora_" in name}
    assert adapters and {tensor.dtype for tensor in adapters.values()} == {torch.float32}
    assert {tensor.dtype for name, tensor in checkpoint.items() if "base_layer" in name} == {torch.bfloat16}


def test_a_bf16_checkpoint_loaded_as_is_without_autocast_is_refused(tiny_qwen25_vl_path, videos, tmp_path):
    model, processor = load_model(tiny_qwen25_vl_path, dtype="bfloat16", device="cpu")
    model.save_pretrained(tmp_path / "bf16")
    processor.save_pretrained(tmp_path / "bf16")
    with pytest.raises(ConfigError, match="'dtype': .*loaded in torch.bfloat16.*set mixed_precision=bf16"):
        train_sft(sft_config(tmp_path / "bf16", tmp_path / "out", [videos], dtype="auto", max_steps=1))
